#include "engine/tenant.hpp"

#include <algorithm>
#include <limits>
#include <list>

#include "common/json.hpp"
#include "engine/tenant_spatial.hpp"

namespace tsunagu::engine {

Tenant::Tenant(std::string name)
    : name_(std::move(name)), spatial_(std::make_unique<SpatialIndexes>()) {}

Tenant::~Tenant() = default;

namespace {

using ngsild::Attribute;
using ngsild::AttrKind;
using ngsild::Entity;

// The geometry to index for GeoProperty `name`: its one instance, or all of them together.
std::optional<ngsild::geo::Geometry> index_geometry(const Entity& e, Atom name) {
  std::vector<ngsild::geo::Geometry> parts;
  for (const auto& a : e.instances(name)) {
    if (a.kind != AttrKind::kGeoProperty) continue;
    auto g = ngsild::geo::parse_geojson_text(a.value.text());
    if (g.ok()) parts.push_back(std::move(*g));
  }
  if (parts.empty()) return std::nullopt;
  if (parts.size() == 1) return std::move(parts[0]);
  return ngsild::geo::Geometry(ngsild::geo::GeometryCollection{std::move(parts)});
}

// Names of the GeoProperties of `e`, each once.
std::vector<Atom> geo_names(const Entity& e) {
  std::vector<Atom> out;
  for (const auto& a : e.attrs) {
    if (a.kind == AttrKind::kGeoProperty &&
        std::find(out.begin(), out.end(), a.name) == out.end()) {
      out.push_back(a.name);
    }
  }
  return out;
}

// Every (relationship name, object URI) of an entity's top-level Relationships and
// ListRelationships, each once. The URIs view the entity's values, or, for objects inside JSON
// arrays, copies kept here.
class RelationshipObjects {
 public:
  explicit RelationshipObjects(const Entity* e) {
    if (e == nullptr) return;
    for (const auto& a : e->attrs) {
      ngsild::for_each_object(a, [&](std::string_view uri) {
        // A string value outlives this object; a URI out of an array is copied.
        add(a.name, a.value.is_string() ? uri : std::string_view(copies_.emplace_back(uri)));
      });
    }
  }
  const std::vector<std::pair<Atom, std::string_view>>& items() const { return items_; }
  bool has(const std::pair<Atom, std::string_view>& o) const {
    return std::find(items_.begin(), items_.end(), o) != items_.end();
  }

 private:
  void add(Atom name, std::string_view uri) {
    if (!has({name, uri})) items_.emplace_back(name, uri);
  }
  std::vector<std::pair<Atom, std::string_view>> items_;
  std::list<std::string> copies_;  // stable addresses for the views (and no allocation while empty)
};

bool same_geometry(const Entity& a, const Entity& b, Atom name) {
  auto x = a.instances(name), y = b.instances(name);
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].kind != y[i].kind || x[i].dataset_id != y[i].dataset_id ||
        !(x[i].value == y[i].value)) {
      return false;
    }
  }
  return true;
}

}  // namespace

EntityPtr Tenant::get(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : slots_[it->second].entity;
}

size_t Tenant::size() const {
  std::shared_lock lock(mu_);
  return by_id_.size();
}

void Tenant::put(EntityPtr e) {
  EntityPtr old;  // released after the lock: the last reference may free a large entity
  std::unique_lock lock(mu_);
  ++version_;
  auto [it, fresh] = by_id_.try_emplace(std::string_view(e->id), 0);
  if (!fresh) {
    uint32_t slot = it->second;
    old = slots_[slot].entity;
    // The key views the id inside the entity it indexes: the same text, now the new one's.
    it->first = std::string_view(e->id);
    index_remove(slot, *old, e.get());
    slots_[slot].entity = e;
    slot_types_[slot] = type_tag(*e);
    index_add(slot, *e, old.get());
    objects_update(slot, old.get(), e.get());
    return;
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    slot_types_.push_back(0);
  }
  it->second = slot;
  slots_[slot].entity = e;
  slot_types_[slot] = type_tag(*e);
  slots_[slot].seq = next_seq_++;
  all_.insert(slots_[slot].seq, slot);
  index_add(slot, *e, nullptr);
  objects_update(slot, nullptr, e.get());
}

void Tenant::erase(std::string_view id) {
  EntityPtr old;
  std::unique_lock lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  ++version_;
  uint32_t slot = it->second;
  old = std::move(slots_[slot].entity);
  by_id_.erase(it);
  all_.erase(slots_[slot].seq);
  index_remove(slot, *old, nullptr);
  objects_update(slot, old.get(), nullptr);
  slot_types_[slot] = 0;
  free_slots_.push_back(slot);
}

// Adds the entity's type and spatial entries; with `old` (the snapshot it replaces, already
// removed by index_remove), only what changed is touched.
void Tenant::index_add(uint32_t slot, const Entity& e, const Entity* old) {
  uint64_t seq = slots_[slot].seq;
  for (Atom t : e.types) {
    if (old == nullptr || !old->has_type(t)) by_type_[t].insert(seq, slot);
  }
  for (Atom g : geo_names(e)) {
    if (old != nullptr && same_geometry(*old, e, g) && type_tag(*old) == type_tag(e)) continue;
    if (auto geom = index_geometry(e, g)) spatial_->by_name[g][type_tag(e)].insert(slot, *geom);
  }
  stats_.add(e, +1);
}

void Tenant::index_remove(uint32_t slot, const Entity& e, const Entity* replacement) {
  uint64_t seq = slots_[slot].seq;
  for (Atom t : e.types) {
    if (replacement != nullptr && replacement->has_type(t)) continue;
    auto it = by_type_.find(t);
    if (it != by_type_.end()) {
      it->second.erase(seq);
      if (it->second.empty()) by_type_.erase(it);
    }
  }
  for (Atom g : geo_names(e)) {
    if (replacement != nullptr && same_geometry(e, *replacement, g) &&
        type_tag(e) == type_tag(*replacement)) {
      continue;
    }
    auto by_name = spatial_->by_name.find(g);
    if (by_name == spatial_->by_name.end()) continue;
    auto by_type = by_name->second.find(type_tag(e));
    if (by_type == by_name->second.end()) continue;
    by_type->second.remove(slot);
    if (by_type->second.size() == 0) by_name->second.erase(by_type);
    if (by_name->second.empty()) spatial_->by_name.erase(by_name);
  }
  stats_.add(e, -1);
}

void Tenant::objects_update(uint32_t slot, const Entity* old, const Entity* now) {
  const RelationshipObjects before(old), after(now);
  for (const auto& o : before.items()) {
    if (after.has(o)) continue;
    auto by_name = objects_.find(o.first);
    if (by_name == objects_.end()) continue;
    auto by_uri = by_name->second.find(o.second);
    if (by_uri == by_name->second.end()) continue;
    by_uri->second.erase(slot);
    if (by_uri->second.empty()) by_name->second.erase(by_uri);
    if (by_name->second.empty()) objects_.erase(by_name);
  }
  for (const auto& o : after.items()) {
    if (before.has(o)) continue;
    auto& by_name = objects_[o.first];
    auto by_uri = by_name.find(o.second);
    if (by_uri == by_name.end()) by_uri = by_name.try_emplace(std::string(o.second)).first;
    by_uri->second.insert(slot);
  }
}

std::shared_ptr<const Tenant::NumericColumn> Tenant::numeric_column(Atom type, Atom attr) const {
  std::lock_guard lock(columns_mu_);
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i]->type != type || columns_[i]->attr != attr) continue;
    if (columns_[i]->version == version_) {
      std::rotate(columns_.begin(), columns_.begin() + static_cast<ptrdiff_t>(i),
                  columns_.begin() + static_cast<ptrdiff_t>(i) + 1);
      return columns_[0];
    }
    columns_.erase(columns_.begin() + static_cast<ptrdiff_t>(i));  // stale
    break;
  }
  auto ask = std::make_tuple(type, attr, version_);
  if (std::find(column_asks_.begin(), column_asks_.end(), ask) == column_asks_.end()) {
    column_asks_.push_back(ask);
    if (column_asks_.size() > 2 * kMaxColumns) column_asks_.erase(column_asks_.begin());
    return nullptr;
  }
  auto list = by_type_.find(type);
  if (list == by_type_.end()) return nullptr;
  auto column = std::make_shared<NumericColumn>();
  column->type = type;
  column->attr = attr;
  column->version = version_;
  const auto& entries = list->second.entries();
  column->values.assign(entries.size(), std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].slot == SeqList::kDead) continue;
    auto inst = slots_[entries[i].slot].entity->instances(attr);
    // q compares a Property's number as a double (q_eval.cpp), so the column holds the same.
    if (inst.size() == 1 && inst[0].kind == AttrKind::kProperty && inst[0].value.is_number())
      column->values[i] = inst[0].value.as_double();
  }
  columns_.insert(columns_.begin(), column);
  if (columns_.size() > kMaxColumns) columns_.pop_back();
  return column;
}

void DiscoveryStats::add(const Entity& e, int sign) {
  for (Atom t : e.types) {
    auto& n = types[t];
    n += sign;
    if (n == 0) types.erase(t);
  }
  size_t i = 0;
  while (i < e.attrs.size()) {
    size_t j = i;
    AttributeStats& s = attributes[e.attrs[i].name];
    for (; j < e.attrs.size() && e.attrs[j].name == e.attrs[i].name; ++j) {
      s.instances += sign;
      s.kinds[static_cast<size_t>(e.attrs[j].kind)] += sign;
    }
    s.entities += sign;
    for (Atom t : e.types) {
      auto& n = s.types[t];
      n += sign;
      if (n == 0) s.types.erase(t);
    }
    if (s.entities == 0) attributes.erase(e.attrs[i].name);
    i = j;
  }
}

TenantRegistry::TenantRegistry() {
  tenants_.emplace("", std::make_unique<Tenant>(""));
}

Tenant* TenantRegistry::find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = tenants_.find(std::string(name));
  return it == tenants_.end() ? nullptr : it->second.get();
}

Tenant* TenantRegistry::get_or_create(std::string_view name, bool& created) {
  std::unique_lock lock(mu_);
  auto [it, inserted] = tenants_.try_emplace(std::string(name));
  if (inserted) it->second = std::make_unique<Tenant>(std::string(name));
  created = inserted;
  return it->second.get();
}

std::vector<Tenant*> TenantRegistry::all() const {
  std::shared_lock lock(mu_);
  std::vector<Tenant*> out;
  for (const auto& [name, t] : tenants_)
    out.push_back(t.get());
  return out;
}

}  // namespace tsunagu::engine
