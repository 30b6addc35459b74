// The model to response payloads: an Entity in the normalized, concise or simplified
// (keyValues) representation (ETSI GS CIM 009 §4.5.1-§4.5.4), optionally as a GeoJSON Feature
// (§4.5.16), with names compacted by the request's @context and the projection, language and
// dataset selections applied. (The store's document of an entity is store/codec's, not this.)
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/json_writer.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::ngsild {

enum class Format : unsigned char { kNormalized, kConcise, kKeyValues };

// Which members of an entity to keep (pick, omit, and the deprecated attrs).
struct Projection {
  bool pick = false;             // only the listed members
  std::vector<Atom> pick_attrs;  // expanded attribute names
  bool pick_id = false, pick_type = false, pick_scope = false;
  std::vector<Atom> omit_attrs;
  bool omit_id = false, omit_type = false, omit_scope = false;

  // Linked Entity projections (§4.21, "locatedAt{id,name}"): what to keep of the entities the
  // named Relationship leads to, picked or omitted as this level is. Without one, a linked
  // entity is rendered whole.
  std::vector<std::pair<Atom, std::shared_ptr<const Projection>>> linked;

  bool keeps(Atom attr) const;
  const Projection* linked_for(Atom attr) const;
  bool keeps_id() const { return (!pick || pick_id) && !omit_id; }
  bool keeps_type() const { return (!pick || pick_type) && !omit_type; }
  bool keeps_scope() const { return (!pick || pick_scope) && !omit_scope; }
};

// The compacted names and types a response repeats for every entity, kept as quoted JSON
// strings so that each is compacted and escaped once per response rather than once per use.
// Filled while rendering; a copy starts empty.
class CompactedNames {
 public:
  CompactedNames() = default;
  CompactedNames(const CompactedNames&) {}
  CompactedNames& operator=(const CompactedNames&) {
    slots_.reset();
    return *this;
  }

  // `iri` compacted by `ctx`, quoted; valid until the next call.
  std::string_view quoted(const jsonld::Context& ctx, Atom iri);

 private:
  struct Slot {
    uint32_t atom = 0;  // 0: empty
    std::string text;
  };
  static constexpr size_t kSlots = 64;
  const jsonld::Context* ctx_ = nullptr;
  std::unique_ptr<std::array<Slot, kSlots>> slots_;
  std::string spare_;
};

// Linked Entity retrieval (§4.5.23): join=inline writes the entity a Relationship points to
// inside the Relationship ("entity", or "entityList" for several objects); join=flat adds the
// linked entities to the response beside the entities asked for (linked_entities.hpp).
enum class Join : unsigned char { kNone, kInline, kFlat };

// The current entity with that id, or nullptr (a Relationship's object need not exist).
using EntityLookup = std::function<std::shared_ptr<const Entity>(std::string_view id)>;

// How many linked entities one response may write, shared by the renderings of its entities:
// each joined level can multiply them, and a graph built to do so must not hold a thread.
struct JoinBudget {
  size_t left = 10000;
  bool exhausted = false;  // some were not written: the response is incomplete
  bool take() {
    if (left == 0) return !(exhausted = true);
    --left;
    return true;
  }
};

struct RenderOptions {
  const jsonld::Context* ctx = nullptr;  // nullptr: names stay expanded
  Format format = Format::kNormalized;
  bool sys_attrs = false;
  bool with_context = false;      // add "@context" (application/ld+json)
  std::string lang;               // reduce LanguageProperties to this language
  bool dataset_filter = false;    // only instances whose datasetId is listed
  std::vector<Atom> dataset_ids;  // "@none" (as an Atom) selects the default instance
  Projection projection;
  Join join = Join::kNone;
  int join_level = 1;                       // Relationships followed from an entity asked for
  EntityLookup lookup;                      // required unless join is kNone
  std::shared_ptr<JoinBudget> join_budget;  // required unless join is kNone
  std::vector<std::string> contained_by;    // entity ids never followed (containedBy)
  // showChanges in a notification (§5.2.14): the entity before the change. Each attribute
  // instance of the rendered entity whose content differs from its instance here (same name
  // and datasetId) also carries that instance's payload as "previousValue", "previousObject",
  // "previousLanguageMap", "previousVocab", "previousJson", "previousValueList" or
  // "previousObjectList", after its own kind. Only the entity's own attributes: not those of
  // linked entities. Not with keyValues.
  const Entity* previous = nullptr;
  // In a notification: when the deleted instances it shows (NGSI-LD Null, deleted_instance())
  // went; with sysAttrs they carry it as "deletedAt" (§5.11). kNoTime elsewhere.
  int64_t deleted_at = kNoTime;
  mutable CompactedNames names;  // filled by the renderer
};

// Ask the CPU to start loading what rendering an entity reads: a page of query results is
// scattered over the heap, and rendering one entity while the next ones arrive hides much of
// the wait. First the attribute array, then (once that is there) the values' texts.
void prefetch_attributes(const Entity& e);
void prefetch_values(const Entity& e);

// Writes one entity object.
void render_entity(const Entity& e, const RenderOptions& o, JsonWriter& w);
std::string render_entity(const Entity& e, const RenderOptions& o);

// Writes one attribute instance as an object, as one of several instances of an entity's
// attribute shows (names compacted by o.ctx, sysAttrs as o asks); `extra` writes members of
// its own before the object closes (a temporal instance's instanceId and deletedAt).
void render_instance(const Attribute& a, const RenderOptions& o, JsonWriter& w,
                     const std::function<void(JsonWriter&)>& extra = {});
// Writes the simplified (keyValues) form of one instance's payload.
void render_simplified(const Attribute& a, const RenderOptions& o, JsonWriter& w);
// An entity object in two parts, for a caller that writes its attributes itself (the temporal
// representation): the head opens the object and writes id, type, scope and (with sysAttrs)
// the entity's times; the tail writes the @context when o asks for it and closes the object.
void render_entity_head(const Entity& e, const RenderOptions& o, JsonWriter& w);
void render_entity_tail(const RenderOptions& o, JsonWriter& w);
// Writes `iri` compacted by o.ctx as an object key.
void render_name(Atom iri, const RenderOptions& o, JsonWriter& w);

// Writes a deleted entity as a notification shows it (§5.11): its id, type and "deletedAt"
// (with sysAttrs also the createdAt and modifiedAt it had). With o.previous (showChanges), also
// each of its attributes the projection keeps, deleted (deleted_instance(),
// ngsild/model/entity.hpp) and with its previous payload; without, the attributes named in
// `deleted_names` (those an attributeDeleted subscription fired for), deleted.
void render_deleted_entity(const Entity& e, int64_t deleted_at, const RenderOptions& o,
                           JsonWriter& w, const std::vector<Atom>& deleted_names = {});

// Writes one entity as a GeoJSON Feature whose geometry is the value of `geometry_property`
// (expanded name; null when absent or not a GeoProperty).
void render_feature(const Entity& e, const RenderOptions& o, Atom geometry_property, JsonWriter& w);

// Picks the best language of a languageMap for `lang` (exact tag, then primary subtag, then
// "@none", then the first). Returns the chosen tag and writes the chosen value into `value_json`.
std::string best_language(std::string_view language_map_json, std::string_view lang,
                          std::string& value_json);

}  // namespace tsunagu::ngsild
