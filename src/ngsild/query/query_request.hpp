// The Query Entities request (ETSI GS CIM 009 §5.7.2) as the API, subscriptions, temporal
// queries and registrations give it: URI parameters (§6.4.3.2) or a Query object (§5.2.23),
// read into one store-neutral EntityQuery.
#pragma once

#include <memory>
#include <string_view>

#include <re2/re2.h>

#include "common/json.hpp"
#include "common/params.hpp"
#include "common/status.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/query/entity_query.hpp"

namespace tsunagu::ngsild::query {

struct PageLimits {
  int default_limit = 20;  // page size when `limit` is absent
  int max_limit = 1000;    // larger `limit` values answer TooManyResults
};

// id, idPattern, type, attrs, q (with expandValues), georel/geometry/coordinates/geoproperty,
// scopeQ, local, limit/offset/count, orderBy/orderFrom/orderGeometry/collation, splitEntities.
// A query must be narrowed by a type, attrs, q or a geo-query, or be local (§5.7.2.4), unless
// `narrowed`: the caller has its own rule for queries too wide to answer (purge).
Result<EntityQuery> query_from_params(const QueryParams& params, const jsonld::Context& ctx,
                                      const PageLimits& limits, bool narrowed = false);

// A Query object; `params` gives paging, ordering and `local`, which stay URI parameters.
// Its projection members (attrs, pick, omit, datasetId, lang, join...) go into `options`.
Result<EntityQuery> query_from_object(const JsonValue& body, const QueryParams& params,
                                      const jsonld::Context& ctx, const PageLimits& limits,
                                      RenderOptions& options);

// An idPattern (a regular expression, searched, not anchored), or BadRequestData naming
// `member`. Bounded in memory, so that a hostile pattern cannot take the server's.
Result<std::shared_ptr<re2::RE2>> compile_id_pattern(std::string_view pattern,
                                                     std::string_view member);

}  // namespace tsunagu::ngsild::query
