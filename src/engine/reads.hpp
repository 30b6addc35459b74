// What the engine's reads answer with: snapshots the caller may keep while it renders, whatever
// the tenant's indexes look like. The API layer sees these and EntityService, nothing else of
// the engine's memory.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "common/atom.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::engine {

using EntityPtr = std::shared_ptr<const ngsild::Entity>;

// One page of Query Entities.
struct QueryResult {
  std::vector<EntityPtr> entities;  // the requested page
  size_t total = 0;                 // all matches (exact when the query asked for count)
  bool more = false;                // matches exist after this page
};

// Discovery (/types, /attributes; ETSI GS CIM 009 §5.7.5-§5.7.8).
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

}  // namespace tsunagu::engine
