// Which Context Source Registrations a request concerns (ETSI GS CIM 009 §5.12): the entities
// and attributes asked for are matched against each registration's `information`, and q, csf,
// scopeQ and geo-queries against the registration's own properties. Query Context Source
// Registrations (§5.10.2) uses it, and so do registration subscriptions (§5.11.5) and the
// distributed operations that choose the sources to ask.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "common/params.hpp"
#include "common/status.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/query/entity_query.hpp"
#include "ngsild/query/query_request.hpp"
#include "ngsild/registration/registration.hpp"
#include "ngsild/temporal/temporal_request.hpp"

namespace tsunagu::ngsild::registration {

struct RegistrationQuery {
  // The entities and attributes asked for: ids (any of), id_pattern, types, attrs (any of),
  // and q, scope and geo, which a registration's `properties` entity must satisfy.
  query::EntityQuery entities;
  std::optional<query::Expr> csf;
  // A temporal query (timerel given): only registrations whose observationInterval (for
  // observedAt) or managementInterval (for the system times) overlaps its window. Without one,
  // only registrations that give neither interval (they provide the latest information).
  std::optional<temporal::TimeFilter> time;
  // Every registration, history sources too (a bare query with local=true).
  bool all = false;

  bool matches(const Registration& r) const;
  // The information part alone: some RegistrationInfo covers the entity and attribute
  // selection.
  bool information_matches(const Registration& r) const;
};

// The query parameters of Query Context Source Registrations (§6.8.3.2): id, type, idPattern,
// attrs, q, csf, geometry/georel/coordinates/geoproperty, timeproperty/timerel/timeAt/
// endTimeAt, scopeQ; paging (limit, offset, count) goes into `entities`. BadRequestData names
// the parameter at fault.
Result<RegistrationQuery> registration_query_from_params(const QueryParams& params,
                                                         const jsonld::Context& ctx,
                                                         const query::PageLimits& limits);

}  // namespace tsunagu::ngsild::registration
