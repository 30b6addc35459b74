// Snapshots of what a tenant holds, for the discovery endpoints (/types, /attributes; ETSI GS
// CIM 009 §5.7.5-§5.7.8). Built from counters the tenant keeps current on every write, so the
// answer costs the number of distinct types and attributes, not the number of entities.
#pragma once

#include <map>
#include <vector>

#include "engine/tenant.hpp"

namespace tsunagu::engine {

struct TypeInfo {
  Atom type;
  size_t entities = 0;
  std::vector<Atom> attributes;  // attribute names held by entities of this type
};

struct AttributeInfo {
  Atom name;
  size_t entities = 0;
  size_t instances = 0;
  std::vector<ngsild::AttrKind> kinds;
  std::vector<Atom> types;  // entity types with an entity holding this attribute
};

class Discovery {
 public:
  static std::vector<TypeInfo> types(const Tenant& t);
  static std::vector<AttributeInfo> attributes(const Tenant& t);
};

}  // namespace tsunagu::engine
