#include "ngsild/model/entity.hpp"

#include <algorithm>

#include "common/json.hpp"

namespace tsunagu::ngsild {
namespace {

template <class Vec>
auto run_of(Vec& list, Atom name) {
  auto first =
      std::find_if(list.begin(), list.end(), [&](const auto& a) { return a.name == name; });
  auto last = std::find_if(first, list.end(), [&](const auto& a) { return a.name != name; });
  return std::make_pair(first, last);
}

}  // namespace

std::string_view kind_name(AttrKind k) {
  switch (k) {
    case AttrKind::kProperty:
      return "Property";
    case AttrKind::kRelationship:
      return "Relationship";
    case AttrKind::kGeoProperty:
      return "GeoProperty";
    case AttrKind::kLanguageProperty:
      return "LanguageProperty";
    case AttrKind::kVocabProperty:
      return "VocabProperty";
    case AttrKind::kJsonProperty:
      return "JsonProperty";
    case AttrKind::kListProperty:
      return "ListProperty";
    case AttrKind::kListRelationship:
      return "ListRelationship";
  }
  return "Property";
}

std::string_view payload_member(AttrKind k) {
  switch (k) {
    case AttrKind::kProperty:
    case AttrKind::kGeoProperty:
      return "value";
    case AttrKind::kRelationship:
      return "object";
    case AttrKind::kLanguageProperty:
      return "languageMap";
    case AttrKind::kVocabProperty:
      return "vocab";
    case AttrKind::kJsonProperty:
      return "json";
    case AttrKind::kListProperty:
      return "valueList";
    case AttrKind::kListRelationship:
      return "objectList";
  }
  return "value";
}

uint64_t SnapshotStamp::get() const {
  static std::atomic<uint64_t> next{1};
  uint64_t v = v_.load(std::memory_order_relaxed);
  if (v != 0) return v;
  uint64_t mine = next.fetch_add(1, std::memory_order_relaxed);
  // Two threads rendering the same snapshot at once agree on whichever stamp landed first.
  return v_.compare_exchange_strong(v, mine, std::memory_order_relaxed) ? mine : v;
}

const Attribute* Attribute::find_sub(Atom n) const {
  for (const auto& s : subs) {
    if (s.name == n) return &s;
  }
  return nullptr;
}

bool same_content(const Attribute& a, const Attribute& b) {
  if (a.kind != b.kind || a.name != b.name || a.dataset_id != b.dataset_id ||
      a.unit_code != b.unit_code || a.value_type != b.value_type || !(a.value == b.value) ||
      a.observed_at != b.observed_at || a.subs.size() != b.subs.size()) {
    return false;
  }
  for (size_t i = 0; i < a.subs.size(); ++i) {
    if (!same_content(a.subs[i], b.subs[i])) return false;
  }
  return true;
}

Attribute deleted_instance(const Attribute& a) {
  static constexpr std::string_view kNull = "urn:ngsi-ld:null";
  Attribute gone;
  gone.kind = a.kind;
  gone.name = a.name;
  gone.dataset_id = a.dataset_id;
  gone.created_at = a.created_at;  // with sysAttrs, the times it had beside deletedAt
  gone.modified_at = a.modified_at;
  switch (a.kind) {
    case AttrKind::kLanguageProperty:
      gone.value = Value::json(R"({"@none":"urn:ngsi-ld:null"})");
      break;
    case AttrKind::kListProperty:
      gone.value = Value::json(R"(["urn:ngsi-ld:null"])");
      break;
    case AttrKind::kListRelationship:
      gone.value = Value::json(R"([{"object":"urn:ngsi-ld:null"}])");
      break;
    default:
      gone.value = Value::string(kNull);
      break;
  }
  return gone;
}

bool is_deleted_instance(const Attribute& a) {
  return a.value == deleted_instance(a).value;
}

void for_each_object(const Attribute& a, const std::function<void(std::string_view)>& f) {
  if (a.kind != AttrKind::kRelationship && a.kind != AttrKind::kListRelationship) return;
  if (a.value.is_string()) return f(a.value.text());
  JsonDoc d;
  if (!a.value.is_json() || !parse_json(a.value.text(), d).ok() || !d.IsArray()) return;
  for (const auto& item : d.GetArray()) {
    const JsonValue* uri = &item;
    if (item.IsObject()) {
      auto o = item.FindMember("object");
      if (o == item.MemberEnd()) continue;
      uri = &o->value;
    }
    if (uri->IsString()) f({uri->GetString(), uri->GetStringLength()});
  }
}

std::span<const Attribute> instances_of(const std::vector<Attribute>& list, Atom name) {
  auto [first, last] = run_of(list, name);
  return {first, last};
}

bool put_instance(std::vector<Attribute>& list, Attribute a) {
  auto [first, last] = run_of(list, a.name);
  for (auto it = first; it != last; ++it) {
    if (it->dataset_id == a.dataset_id) {
      *it = std::move(a);
      return true;
    }
  }
  list.insert(last, std::move(a));
  return false;
}

std::span<const Attribute> Entity::instances(Atom name) const {
  return instances_of(attrs, name);
}

std::span<Attribute> Entity::instances(Atom name) {
  auto [first, last] = run_of(attrs, name);
  return {first, last};
}

const Attribute* Entity::find(Atom name, Atom dataset) const {
  for (const auto& a : instances(name)) {
    if (a.dataset_id == dataset) return &a;
  }
  return nullptr;
}

Attribute* Entity::find(Atom name, Atom dataset) {
  for (auto& a : instances(name)) {
    if (a.dataset_id == dataset) return &a;
  }
  return nullptr;
}

bool Entity::has_type(Atom type) const {
  return std::find(types.begin(), types.end(), type) != types.end();
}

bool Entity::put(Attribute a) {
  return put_instance(attrs, std::move(a));
}

bool Entity::erase(Atom name, Atom dataset) {
  auto it = std::find_if(attrs.begin(), attrs.end(), [&](const Attribute& a) {
    return a.name == name && a.dataset_id == dataset;
  });
  if (it == attrs.end()) return false;
  attrs.erase(it);
  return true;
}

size_t Entity::erase_all(Atom name) {
  auto [first, last] = run_of(attrs, name);
  size_t n = static_cast<size_t>(last - first);
  attrs.erase(first, last);
  return n;
}

namespace {
void shrink_attributes(std::vector<Attribute>& attrs) {
  attrs.shrink_to_fit();
  for (auto& a : attrs) {
    if (!a.subs.empty()) shrink_attributes(a.subs);
  }
}
}  // namespace

void Entity::shrink_to_fit() {
  types.shrink_to_fit();
  scopes.shrink_to_fit();
  shrink_attributes(attrs);
}

}  // namespace tsunagu::ngsild
