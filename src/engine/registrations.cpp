#include "engine/registrations.hpp"

#include <algorithm>
#include <mutex>

#include "common/time.hpp"
#include "engine/record_change.hpp"
#include "ngsild/registration/registration_parser.hpp"

namespace tsunagu::engine {
namespace {

namespace reg = ngsild::registration;

Status not_found(std::string_view id) {
  return Status::NotFound("context source registration '" + std::string(id) + "' does not exist");
}

}  // namespace

Status RegistrationService::load(std::string_view tenant, std::string_view key,
                                 std::string_view doc) {
  auto stored = reg::decode_registration(doc, *core_);
  if (!stored.ok()) {
    return Status::Internal("stored registration '" + std::string(key) + "' of tenant '" +
                            std::string(tenant) + "' cannot be read: " + stored.status().detail());
  }
  auto def = std::make_shared<const Registration>(std::move(stored->registration));
  std::unique_lock lock(mu_);
  decided_[record_key(tenant, def->id)] = def;
  put(std::string(tenant), std::move(def), stored->state);
  return Status::Ok();
}

void RegistrationService::put(const std::string& tenant, RegistrationPtr def,
                              const reg::RegistrationState& state) {
  auto& t = tenants_[tenant];
  auto it = t.find(def->id);
  if (it != t.end()) {
    it->second.def = std::move(def);
    return;
  }
  std::string id = def->id;
  t.emplace(std::move(id), Entry{std::move(def), state, next_order_++});
}

void RegistrationService::write(
    std::string tenant, std::string id,
    std::function<Result<std::shared_ptr<Registration>>(const Registration* current)> make,
    bool create_tenant, Done done) {
  RecordChange<Registration> c;
  c.kind = std::string(kRecordKind);
  c.tenant = tenant;
  c.id = id;
  c.create_tenant = create_tenant;
  c.make = std::move(make);
  c.encode = [this, tenant, id](const Registration& r) {
    reg::RegistrationState state;  // the distributed operations' statistics, kept
    if (auto v = retrieve(tenant, id); v.ok()) state = v->state;
    return reg::encode_registration(r, state);
  };
  c.publish = [this, tenant, id](const RegistrationPtr& previous, const RegistrationPtr& next) {
    {
      std::unique_lock lock(mu_);
      if (next) {
        put(tenant, next, {});
      } else if (auto t = tenants_.find(tenant); t != tenants_.end()) {
        t->second.erase(id);
      }
    }
    const Change change{tenant, previous, next, now_us()};
    for (const auto& l : listeners_)
      l(change);
  };
  c.done = std::move(done);
  submit_record_change(*writer_, decided_, std::move(c));
}

void RegistrationService::create(std::string tenant, Registration r, Done done) {
  std::string id = r.id;
  auto def = std::make_shared<Registration>(std::move(r));
  write(
      std::move(tenant), std::move(id),
      [def](const Registration* current) -> Result<std::shared_ptr<Registration>> {
        if (current != nullptr) {
          return Status::AlreadyExists("context source registration '" + def->id +
                                       "' already exists");
        }
        return def;
      },
      true, std::move(done));
}

void RegistrationService::update(std::string tenant, std::string id,
                                 std::function<Status(Registration&)> change, Done done) {
  std::string what = id;
  write(
      std::move(tenant), std::move(id),
      [change = std::move(change),
       what](const Registration* current) -> Result<std::shared_ptr<Registration>> {
        if (current == nullptr) return not_found(what);
        auto next = std::make_shared<Registration>(*current);
        TSUNAGU_RETURN_IF_ERROR(change(*next));
        return next;
      },
      false, std::move(done));
}

void RegistrationService::remove(std::string tenant, std::string id, Done done) {
  std::string what = id;
  write(
      std::move(tenant), std::move(id),
      [what](const Registration* current) -> Result<std::shared_ptr<Registration>> {
        if (current == nullptr) return not_found(what);
        return std::shared_ptr<Registration>();
      },
      false, std::move(done));
}

Result<RegistrationService::View> RegistrationService::retrieve(std::string_view tenant,
                                                                std::string_view id) const {
  std::shared_lock lock(mu_);
  auto t = tenants_.find(std::string(tenant));
  if (t != tenants_.end()) {
    auto it = t->second.find(std::string(id));
    if (it != t->second.end()) return View{it->second.def, it->second.state};
  }
  return not_found(id);
}

std::vector<RegistrationService::View> RegistrationService::list(std::string_view tenant) const {
  return query(tenant, nullptr);
}

std::vector<RegistrationService::View> RegistrationService::query(
    std::string_view tenant, const reg::RegistrationQuery& q) const {
  return query(tenant, &q);
}

std::vector<RegistrationService::View> RegistrationService::query(
    std::string_view tenant, const reg::RegistrationQuery* q) const {
  const int64_t now = now_us();
  std::vector<std::pair<uint64_t, View>> found;
  {
    std::shared_lock lock(mu_);
    auto t = tenants_.find(std::string(tenant));
    if (t == tenants_.end()) return {};
    for (const auto& [id, e] : t->second) {
      if (e.def->expires_at != kNoTime && e.def->expires_at <= now) continue;
      if (q != nullptr && !q->matches(*e.def)) continue;
      found.push_back({e.order, View{e.def, e.state}});
    }
  }
  return in_creation_order(std::move(found));
}

size_t RegistrationService::count() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [name, t] : tenants_)
    n += t.size();
  return n;
}

}  // namespace tsunagu::engine
