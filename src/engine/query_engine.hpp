// Query Entities over one tenant's memory (ETSI GS CIM 009 §5.7.2): picks the narrowest index
// for the candidates (ids, the spatial index, a type list, or all entities in creation order),
// filters them with the parsed query, orders (§4.23) and pages. Any thread; runs under the
// tenant's shared lock.
#pragma once

#include <vector>

#include "engine/reads.hpp"
#include "engine/tenant.hpp"
#include "ngsild/query/entity_query.hpp"

namespace tsunagu::engine {

class QueryEngine {
 public:
  // Without orderBy, results come in creation order, which is stable while nothing changes:
  // consecutive pages neither skip nor repeat entities.
  static QueryResult run(const Tenant& tenant, const ngsild::query::EntityQuery& q);

 private:
  // Each query in three steps: plan (the narrowest index gives the candidates; false when
  // nothing can match), then scan (in creation order, a page at a time) or order (all
  // matches, sorted).
  struct Plan;
  static bool plan(const Tenant& t, const ngsild::query::EntityQuery& q, Plan& p);
  static void geo_candidates(const Tenant& t, const ngsild::query::EntityQuery& q, Plan& p);
  static QueryResult scan(const Tenant& t, const ngsild::query::EntityQuery& q, const Plan& p);
  static QueryResult order(const Tenant& t, const ngsild::query::EntityQuery& q, const Plan& p);
};

}  // namespace tsunagu::engine
