// The in-memory current state of one tenant (one municipality): its entities, indexed by id.
// Readers take a shared lock only long enough to copy a snapshot pointer; the commit thread is
// the only writer. The registry creates tenants on their first write (ETSI GS CIM 009 §4.14).
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ngsild/model/entity.hpp"

namespace tsunagu::engine {

using EntityPtr = std::shared_ptr<const ngsild::Entity>;

class Tenant {
 public:
  explicit Tenant(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // The current snapshot of entity `id`, or null. Any thread.
  EntityPtr get(std::string_view id) const;
  size_t size() const;
  // Calls f(const EntityPtr&) for every entity under the shared lock. Any thread; f must not
  // call back into this tenant's writers.
  template <class F>
  void for_each(F&& f) const {
    std::shared_lock lock(mu_);
    for (const auto& e : entities_) f(e);
  }

  // Commit thread only.
  void put(EntityPtr e);
  void erase(std::string_view id);

 private:
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const noexcept {
      return std::hash<std::string_view>()(id);
    }
    size_t operator()(const EntityPtr& e) const noexcept { return (*this)(std::string_view(e->id)); }
  };
  struct IdEq {
    using is_transparent = void;
    static std::string_view id(std::string_view s) { return s; }
    static std::string_view id(const EntityPtr& e) { return e->id; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept { return id(a) == id(b); }
  };

  std::string name_;
  mutable std::shared_mutex mu_;
  std::unordered_set<EntityPtr, IdHash, IdEq> entities_;
};

// All tenants. The default tenant (no NGSILD-Tenant header) is named "" and always exists.
class TenantRegistry {
 public:
  TenantRegistry();
  // The tenant, or null when it has never been written. Any thread.
  Tenant* find(std::string_view name) const;
  // The tenant, created in memory when missing (commit thread and start-up only).
  Tenant* get_or_create(std::string_view name, bool& created);
  std::vector<Tenant*> all() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Tenant>> tenants_;
};

}  // namespace tsunagu::engine
