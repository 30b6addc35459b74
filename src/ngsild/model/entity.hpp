// The in-memory NGSI-LD information model (ETSI GS CIM 009 §4.5): an Entity with its types, scope
// and Attribute instances, all names held as expanded IRIs (Atoms). An Entity snapshot is
// immutable once published; writers build a new one (see engine/).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/atom.hpp"
#include "common/time.hpp"
#include "ngsild/model/value.hpp"

namespace tsunagu::ngsild {

enum class AttrKind : unsigned char {
  kProperty,
  kRelationship,
  kGeoProperty,
  kLanguageProperty,
  kVocabProperty,
  kJsonProperty,
  kListProperty,
  kListRelationship,
};

// "Property", "Relationship", ...
std::string_view kind_name(AttrKind k);
// The member holding the payload in the normalized form: "value", "object", "languageMap",
// "vocab", "json", "valueList", "objectList".
std::string_view payload_member(AttrKind k);

// One instance of an Attribute (or of a sub-Attribute). `name` is the expanded attribute name.
// Instances of the same attribute share a name and differ by datasetId.
struct Attribute {
  AttrKind kind = AttrKind::kProperty;
  unsigned char flags = 0;  // parse-time markers (ngsild/parse AttrFlag); 0 once stored
  Atom name;
  Atom dataset_id;  // empty for the default instance
  Atom unit_code;
  Atom value_type;  // valueType (Property) or objectType (Relationship), expanded; may be empty
  // value (Property, GeoProperty: GeoJSON text), object (Relationship: URI string or JSON array
  // of URIs), languageMap (JSON object), vocab (expanded IRI string or JSON array of them),
  // json (any JSON), valueList (JSON array), objectList (JSON array of {"object": URI}).
  Value value;
  int64_t observed_at = kNoTime;
  int64_t created_at = kNoTime;
  int64_t modified_at = kNoTime;
  std::vector<Attribute> subs;  // sub-attributes, instances of one name kept adjacent

  const Attribute* find_sub(Atom name) const;
};

// A number that names one entity snapshot for the caches of its renderings
// (ngsild/format/render_cache.hpp): handed out on first use, never reused. A copy or a moved-to
// entity starts without one, since it may be changed before it is published; a published
// snapshot is never changed, so its renderings stay true for as long as it lives.
class SnapshotStamp {
 public:
  SnapshotStamp() = default;
  SnapshotStamp(const SnapshotStamp&) noexcept {}
  SnapshotStamp& operator=(const SnapshotStamp&) noexcept {
    v_.store(0, std::memory_order_relaxed);
    return *this;
  }
  uint64_t get() const;
  // The stamp if one was handed out, else 0 (and none is).
  uint64_t peek() const { return v_.load(std::memory_order_relaxed); }

 private:
  mutable std::atomic<uint64_t> v_{0};
};

struct Entity {
  std::string id;
  uint64_t row = 0;                 // the store's row for this entity (engine-assigned; 0: none)
  std::vector<Atom> types;          // expanded type IRIs, at least one
  std::vector<std::string> scopes;  // §4.18 scope paths
  int64_t created_at = kNoTime;
  int64_t modified_at = kNoTime;
  std::vector<Attribute> attrs;  // instances of one name kept adjacent, in first-seen order
  SnapshotStamp stamp;

  // The instances of attribute `name` (adjacent run), empty when absent.
  std::span<const Attribute> instances(Atom name) const;
  std::span<Attribute> instances(Atom name);
  // The instance of `name` with datasetId `dataset` (empty atom: the default instance).
  const Attribute* find(Atom name, Atom dataset = Atom()) const;
  Attribute* find(Atom name, Atom dataset = Atom());
  bool has_type(Atom type) const;

  // Inserts or replaces the instance with a.name and a.dataset_id, keeping instances adjacent.
  // Returns true when an instance was replaced.
  bool put(Attribute a);
  // Removes the instance (name, dataset); returns whether it existed.
  bool erase(Atom name, Atom dataset);
  // Removes every instance of `name`; returns how many there were.
  size_t erase_all(Atom name);

  // Gives back the spare capacity vectors grew while the entity was built (10 attributes may
  // hold room for 16): entities live long, so memory per entity matters more than this copy.
  void shrink_to_fit();
};

// Whether two instances hold the same content: everything but createdAt and modifiedAt counts,
// sub-attributes included. A change to an instance is a change of its content (§5.11).
bool same_content(const Attribute& a, const Attribute& b);

// The instance `a` as deleted elements are represented in notifications (ETSI GS CIM 009 §5.2.1):
// its kind, name and datasetId with NGSI-LD Null as its payload, "urn:ngsi-ld:null" as value,
// object, vocab or json, {"@none": "urn:ngsi-ld:null"} as languageMap, and a one-item valueList
// or objectList of it; no metadata and no sub-attributes, the createdAt and modifiedAt it had.
Attribute deleted_instance(const Attribute& a);
// Whether `a` holds NGSI-LD Null as deleted_instance() writes it (no stored attribute does).
bool is_deleted_instance(const Attribute& a);

// Calls f with each object a Relationship or ListRelationship instance points to, in order
// (an object is one URI, or an array of them; an objectList holds {"object": URI} items); never
// for other kinds. A view of a string value stays valid as long as `a`; one taken out of an
// array only during the call.
void for_each_object(const Attribute& a, const std::function<void(std::string_view)>& f);

// Same helpers over a list of sub-attributes.
std::span<const Attribute> instances_of(const std::vector<Attribute>& list, Atom name);
bool put_instance(std::vector<Attribute>& list, Attribute a);

}  // namespace tsunagu::ngsild
