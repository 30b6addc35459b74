// Snapshots of what a tenant holds, for the discovery endpoints (/types, /attributes; ETSI GS
// CIM 009 §5.7.5-§5.7.8). Built from counters the tenant keeps current on every write, so the
// answer costs the number of distinct types and attributes, not the number of entities. A
// caller whose role sees only some entities (docs/security.md, "Roles") gets counters made
// from those alone, by a walk over the tenant's entities.
#pragma once

#include <vector>

#include "engine/reads.hpp"
#include "engine/tenant.hpp"
#include "ngsild/query/restriction.hpp"

namespace tsunagu::engine {

class Discovery {
 public:
  static std::vector<TypeInfo> types(const Tenant& t,
                                     const ngsild::query::RestrictionPtr& restriction = nullptr);
  static std::vector<AttributeInfo> attributes(
      const Tenant& t, const ngsild::query::RestrictionPtr& restriction = nullptr);

 private:
  // The counters of the entities `restriction` lets read. The caller holds t.mu_.
  static DiscoveryStats visible(const Tenant& t, const ngsild::query::Restriction& restriction);
  static std::vector<TypeInfo> types_of(const DiscoveryStats& stats);
  static std::vector<AttributeInfo> attributes_of(const DiscoveryStats& stats);
};

}  // namespace tsunagu::engine
