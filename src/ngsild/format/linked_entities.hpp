// Linked Entity retrieval (ETSI GS CIM 009 §4.5.23): the entities a Relationship points to, for
// join=flat (added beside the entities asked for) and join=inline (written inside the
// Relationship by the entity renderer).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::ngsild {

// The ids a Relationship or ListRelationship instance points to, in order; none for other kinds.
std::vector<std::string> relationship_objects(const Attribute& a);

struct LinkedEntity {
  std::shared_ptr<const Entity> entity;
  const Projection* projection;  // what to keep of it; points into the RenderOptions
};

// join=flat: the entities reachable from `roots` through the Relationships their projections
// keep, up to o.join_level steps, each once and in the order first reached. Entities among the
// roots or in o.contained_by are not repeated, objects that do not exist are skipped, and no more
// are taken than o.join_budget allows.
std::vector<LinkedEntity> linked_entities(std::span<const Entity* const> roots,
                                          const RenderOptions& o);

// False when `p` leaves nothing of `e` to write: no id, type or scope and none of its attributes
// (a retrieval that picks nothing the entity has finds nothing, §4.21).
bool keeps_any(const Entity& e, const Projection& p);

}  // namespace tsunagu::ngsild
