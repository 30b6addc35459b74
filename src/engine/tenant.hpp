// The in-memory current state of one tenant (one municipality): its entities and the indexes
// queries use: by id, in creation order, by type, spatially per GeoProperty, and counts for the
// discovery endpoints. Readers take a shared lock; the committing thread is the only writer. The
// registry creates tenants on their first write (ETSI GS CIM 009 §4.14).
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "common/flat_hash_map.hpp"
#include "engine/reads.hpp"
#include "engine/seq_list.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::engine {

// Per attribute name: how many entities and instances hold it, of which kinds and types.
struct AttributeStats {
  size_t entities = 0;
  size_t instances = 0;
  std::array<size_t, 8> kinds{};           // by AttrKind
  std::unordered_map<Atom, size_t> types;  // entity type -> entities holding the attribute
};

// What discovery answers from (engine/discovery.hpp): entities per type, and per attribute name.
struct DiscoveryStats {
  std::unordered_map<Atom, size_t> types;
  std::unordered_map<Atom, AttributeStats> attributes;
  // Counts `e` in (sign 1) or out (sign -1).
  void add(const ngsild::Entity& e, int sign);
};

class Tenant {
 public:
  explicit Tenant(std::string name);
  ~Tenant();

  const std::string& name() const { return name_; }

  // The current snapshot of entity `id`, or null. Any thread.
  EntityPtr get(std::string_view id) const;
  size_t size() const;
  // Calls f(const EntityPtr&) for every entity, in creation order, under the shared lock.
  template <class F>
  void for_each(F&& f) const {
    std::shared_lock lock(mu_);
    for (const auto& e : all_.entries()) {
      if (e.slot != SeqList::kDead) f(slots_[e.slot].entity);
    }
  }

  // Whether the store has a row for this tenant. Commit thread (and start-up) only.
  bool persisted() const { return persisted_; }
  void set_persisted() { persisted_ = true; }

  // Commit thread only: inserts or replaces (by id), or removes, keeping every index current.
  void put(EntityPtr e);
  void erase(std::string_view id);

 private:
  friend class QueryEngine;
  friend class Discovery;

  struct Slot {
    EntityPtr entity;
    uint64_t seq = 0;
  };
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };

  void index_add(uint32_t slot, const ngsild::Entity& e, const ngsild::Entity* old);
  void index_remove(uint32_t slot, const ngsild::Entity& e, const ngsild::Entity* replacement);
  void objects_update(uint32_t slot, const ngsild::Entity* old, const ngsild::Entity* now);

  // An entity's type as slot_types_ keeps it: its one type's atom id, or kSeveralTypes.
  static constexpr uint32_t kSeveralTypes = UINT32_MAX;
  static uint32_t type_tag(const ngsild::Entity& e) {
    return e.types.size() == 1 ? e.types[0].id() : kSeveralTypes;
  }

  std::string name_;
  mutable std::shared_mutex mu_;
  std::vector<Slot> slots_;
  // Per slot, type_tag() of its entity: a dense array the geo-query candidate loop reads to
  // reject other types without touching their entities, scattered over the heap.
  std::vector<uint32_t> slot_types_;
  std::vector<uint32_t> free_slots_;
  // Keys view the id inside the slot's current entity; re-keyed whenever the snapshot changes.
  FlatHashMap<std::string_view, uint32_t, IdHash> by_id_;
  SeqList all_;
  std::unordered_map<Atom, SeqList> by_type_;
  // Per GeoProperty name and entity type, the entities' geometries. Behind a pointer
  // (engine/tenant_spatial.hpp), so that the R-tree's headers stay out of the files that include
  // this one: compiling them took about 2.8 s of each of those files.
  struct SpatialIndexes;
  std::unique_ptr<SpatialIndexes> spatial_;
  // Relationship objects: attribute name -> object URI -> slots of the entities pointing there,
  // so that q=refDevice=="urn:..." costs its matches, not a scan.
  std::unordered_map<
      Atom, std::unordered_map<std::string, FlatHashSet<uint32_t>, IdHash, std::equal_to<>>>
      objects_;
  // Numeric columns for q scans over one type (query_engine.cpp): for each entry of the type's
  // list, the attribute's value when the entity has exactly one instance of it, a Property
  // holding a number (as the double q compares); NaN for anything else (dead entries, other
  // shapes), whose entities a query evaluates in full. A column is good for one version
  // of the tenant (every put and erase makes a new one) and is built on the second request for
  // it at the same version, so a steady write load never pays for columns it cannot reuse.
  struct NumericColumn {
    Atom type, attr;
    uint64_t version = 0;
    std::vector<double> values;
  };
  static constexpr size_t kMaxColumns = 8;
  // The caller holds mu_ (shared or exclusive). nullptr: no current column (yet).
  std::shared_ptr<const NumericColumn> numeric_column(Atom type, Atom attr) const;
  uint64_t version_ = 0;
  mutable std::mutex columns_mu_;
  mutable std::vector<std::shared_ptr<const NumericColumn>> columns_;  // most recent first
  mutable std::vector<std::tuple<Atom, Atom, uint64_t>> column_asks_;

  DiscoveryStats stats_;
  uint64_t next_seq_ = 1;
  bool persisted_ = false;
};

// All tenants. The default tenant (no NGSILD-Tenant header) is named "" and always exists.
class TenantRegistry {
 public:
  TenantRegistry();
  // The tenant, or null when it has never been written. Any thread.
  Tenant* find(std::string_view name) const;
  // The tenant, created in memory when missing (the committing thread and start-up only).
  Tenant* get_or_create(std::string_view name, bool& created);
  std::vector<Tenant*> all() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Tenant>> tenants_;
};

}  // namespace tsunagu::engine
