#include "engine/tenant.hpp"

namespace tsunagu::engine {

EntityPtr Tenant::get(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = entities_.find(id);
  return it == entities_.end() ? nullptr : *it;
}

size_t Tenant::size() const {
  std::shared_lock lock(mu_);
  return entities_.size();
}

void Tenant::put(EntityPtr e) {
  std::unique_lock lock(mu_);
  auto it = entities_.find(std::string_view(e->id));
  EntityPtr old;
  if (it != entities_.end()) {
    old = *it;  // released after the lock: the last reference may free a large entity
    entities_.erase(it);
  }
  entities_.insert(std::move(e));
  lock.unlock();
}

void Tenant::erase(std::string_view id) {
  EntityPtr old;
  std::unique_lock lock(mu_);
  auto it = entities_.find(id);
  if (it == entities_.end()) return;
  old = *it;
  entities_.erase(it);
}

TenantRegistry::TenantRegistry() { tenants_.emplace("", std::make_unique<Tenant>("")); }

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
  for (const auto& [name, t] : tenants_) out.push_back(t.get());
  return out;
}

}  // namespace tsunagu::engine
