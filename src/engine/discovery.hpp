// Snapshots of what a tenant holds, for the discovery endpoints (/types, /attributes; ETSI GS
// CIM 009 §5.7.5-§5.7.8). Built from counters the tenant keeps current on every write, so the
// answer costs the number of distinct types and attributes, not the number of entities.
#pragma once

#include <vector>

#include "engine/reads.hpp"
#include "engine/tenant.hpp"

namespace tsunagu::engine {

class Discovery {
 public:
  static std::vector<TypeInfo> types(const Tenant& t);
  static std::vector<AttributeInfo> attributes(const Tenant& t);
};

}  // namespace tsunagu::engine
