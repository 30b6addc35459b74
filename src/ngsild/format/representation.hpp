// The representation parameters of retrieve and query operations, as URI parameters or as
// members of a Query object (§5.2.23), read into RenderOptions. Notifications and temporal
// queries take the same parameters.
#pragma once

#include <string_view>

#include "common/params.hpp"
#include "common/status.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/jsonld/context.hpp"

namespace tsunagu::ngsild {

// format, options, pick, omit, attrs, datasetId, lang, join, joinLevel, containedBy.
// `geojson`: the response is GeoJSON (geometryProperty applies only then). The caller decides
// `with_context`. BadRequestData or InvalidRequest on a contradiction or an unknown value.
Result<RenderOptions> representation_options(const QueryParams& q, const jsonld::Context& ctx,
                                             bool geojson);

// Applies one projection or selection member (pick, omit, attrs, datasetId) to `o`.
Status apply_representation_member(std::string_view name, std::string_view value,
                                   const jsonld::Context& ctx, RenderOptions& o);

// Linked Entity retrieval parameters (join, joinLevel, containedBy; §4.5.23) into `o`.
constexpr int kMaxJoinLevel = 8;
Status apply_join_member(std::string_view name, std::string_view value, RenderOptions& o);

// BadRequestData when pick or omit reach linked entities (rel{...}) without a join.
Status check_linked_projection(const RenderOptions& o);

// TooComplexQuery when a join met more linked entities than one response may hold.
Status join_complete(const RenderOptions& o);

}  // namespace tsunagu::ngsild
