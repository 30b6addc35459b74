// The semantics of each entity-changing operation (ETSI GS CIM 009 §5.6), as pure functions from
// the current Entity and a parsed payload to the new Entity. No locking, no I/O: the commit
// thread calls these, and unit tests call them directly.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "ngsild/model/entity.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::engine {

using ngsild::Attribute;
using ngsild::Entity;
using ngsild::EntityInput;

// Attributes that were not changed, with the reason (UpdateResult, §5.2.18).
struct UpdateOutcome {
  std::vector<Atom> updated;
  std::vector<std::pair<Atom, std::string>> not_updated;
};

// 5.6.1 Create Entity: a new entity stamped with createdAt/modifiedAt = now.
Entity create_entity(EntityInput in, int64_t now);

// 5.6.18 Replace Entity: every attribute replaced; createdAt of the entity kept.
Entity replace_entity(const Entity& current, EntityInput in, int64_t now);

// 5.6.3 Append Entity Attributes: new attributes added, existing ones replaced unless
// no_overwrite (then listed in not_updated, and new scopes are added to the entity's).
void append_attributes(Entity& e, EntityInput in, bool no_overwrite, int64_t now,
                       UpdateOutcome& out);

// 5.6.2 Update Entity Attributes: only attributes (and instances) that exist are replaced, or
// deleted when given as NGSI-LD Null; the others, and a scope the entity lacks, are listed in
// not_updated.
void update_attributes(Entity& e, EntityInput in, int64_t now, UpdateOutcome& out);

// The query parameters of Merge Entity (§5.6.17.3).
struct MergeOptions {
  std::optional<int64_t> observed_at;  // observedAt: applied to merged attributes that had one
  std::string lang;                    // lang: a string merged into a LanguageProperty sets it
};

// 5.6.17 Merge Entity with the merge-patch behaviour of §5.5.12: attributes merged member by
// member and JSON object values merged as RFC 7396 does, NGSI-LD Null deletes the instance it
// names (the default one without a datasetId), types united, concise values keep the existing
// attribute type. BadRequestData when a new attribute has no value.
Status merge_entity(Entity& e, EntityInput in, int64_t now, const MergeOptions& options = {});

// RFC 7396 JSON Merge Patch of JSON texts, where "urn:ngsi-ld:null" (like null) removes a
// member. Returns the merged JSON text.
std::string json_merge_patch(std::string_view target, std::string_view patch);

// 5.6.4 Partial Attribute Update (PATCH .../attrs/{attrId}): ResourceNotFound when the
// attribute (instance) does not exist.
Status partial_update_attribute(Entity& e, Atom name, std::vector<Attribute> fragment, int64_t now);

// 5.6.19 Replace Attribute (PUT .../attrs/{attrId}): ResourceNotFound when absent.
Status replace_attribute(Entity& e, Atom name, std::vector<Attribute> fragment, int64_t now);

// 5.6.5 Delete Entity Attribute: the default instance, the one with `dataset_id`, or all.
Status delete_attribute(Entity& e, Atom name, std::optional<Atom> dataset_id, bool delete_all);

// Sets createdAt/modifiedAt on an attribute and its sub-attributes and clears parse flags.
void stamp(Attribute& a, int64_t now, int64_t created);

}  // namespace tsunagu::engine
