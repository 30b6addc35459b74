#include "engine/registrations.hpp"

#include <algorithm>
#include <mutex>

#include "common/time.hpp"
#include "engine/record_change.hpp"
#include "ngsild/registration/registration_parser.hpp"

namespace tsunagu::engine {
namespace {

namespace reg = ngsild::registration;

constexpr std::string_view kWhat = "context source registration";

Status not_found(std::string_view id) {
  return Status::NotFound(std::string(kWhat) + " '" + std::string(id) + "' does not exist");
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

int64_t RegistrationService::failing_since(std::string_view tenant, const std::string& id) const {
  std::shared_lock lock(mu_);
  auto t = tenants_.find(std::string(tenant));
  if (t == tenants_.end()) return kNoTime;
  auto it = t->second.find(id);
  if (it == t->second.end()) return kNoTime;
  const auto& st = it->second.state;
  return st.last_failure != kNoTime &&
                 (st.last_success == kNoTime || st.last_failure > st.last_success)
             ? st.last_failure
             : kNoTime;
}

void RegistrationService::record(std::string_view tenant, const std::string& id, bool answered,
                                 int64_t at) {
  std::unique_lock lock(mu_);
  auto t = tenants_.find(std::string(tenant));
  if (t == tenants_.end()) return;
  auto it = t->second.find(id);
  if (it == t->second.end()) return;  // deleted meanwhile
  auto& st = it->second.state;
  ++st.times_sent;
  if (answered) {
    st.last_success = at;
  } else {
    ++st.times_failed;
    st.last_failure = at;
  }
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
  count_.fetch_add(1, std::memory_order_relaxed);
}

void RegistrationService::write(std::string tenant, std::string id, Make make, bool create_tenant,
                                Done done) {
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
        count_.fetch_sub(t->second.erase(id), std::memory_order_relaxed);
      }
    }
    const Change change{tenant, previous, next, now_us()};
    for (const auto& l : listeners_)
      l(change);
  };
  c.done = std::move(done);
  submit_record_change(*writer_, decided_, std::move(c));
}

Status RegistrationService::check_exclusive(const std::string& tenant,
                                            const Registration& r) const {
  // An exclusive source owns what it names; redirect sources may share an entity (each is
  // sent the request), but not what an exclusive one owns.
  auto owns = [](const Registration& x) {
    return x.mode == reg::Mode::kExclusive || x.mode == reg::Mode::kRedirect;
  };
  if (!owns(r)) return Status::Ok();
  const bool exclusive = r.mode == reg::Mode::kExclusive;
  // Whether two RegistrationInfo name one attribute (one that names none names them all).
  auto share_attributes = [](const reg::RegistrationInfo& a, const reg::RegistrationInfo& b) {
    if (!a.names_attributes() || !b.names_attributes()) return true;
    for (const auto* names : {&a.property_names, &a.relationship_names}) {
      for (Atom n : names->value_or(std::vector<Atom>{})) {
        if (b.provides(n)) return true;
      }
    }
    return false;
  };
  const std::string prefix = record_key(tenant, "");
  for (const auto& [key, other] : decided_) {
    if (key.compare(0, prefix.size(), prefix) != 0 || other->id == r.id || !owns(*other) ||
        (!exclusive && other->mode != reg::Mode::kExclusive)) {
      continue;
    }
    for (const auto& a : r.information) {
      for (const auto& b : other->information) {
        if (!a.entities || !b.entities || !share_attributes(a, b)) continue;
        for (const auto& ea : *a.entities) {
          for (const auto& eb : *b.entities) {
            if (ea.id && eb.id && *ea.id == *eb.id) {
              return Status::AlreadyExists(
                  "the " + std::string(reg::mode_name(r.mode)) + " registration of '" + *ea.id +
                  "' overlaps the " + std::string(reg::mode_name(other->mode)) + " registration '" +
                  other->id + "' (§4.3.6.3): one source owns an attribute");
            }
          }
        }
      }
    }
  }
  return Status::Ok();
}

void RegistrationService::create(std::string tenant, Registration r, Done done) {
  std::string id = r.id;
  auto make = creating(std::make_shared<Registration>(std::move(r)), std::string(kWhat));
  write(tenant, std::move(id), owning(tenant, std::move(make)), true, std::move(done));
}

void RegistrationService::update(std::string tenant, std::string id,
                                 std::function<Status(Registration&)> change, Done done) {
  auto make = changing(id, std::move(change), std::string(kWhat));
  write(tenant, std::move(id), owning(tenant, std::move(make)), false, std::move(done));
}

void RegistrationService::remove(std::string tenant, std::string id, Done done) {
  auto make = removing<Registration>(id, std::string(kWhat));
  write(std::move(tenant), std::move(id), std::move(make), false, std::move(done));
}

RegistrationService::Make RegistrationService::owning(std::string tenant, Make make) {
  return [this, tenant = std::move(tenant), make = std::move(make)](
             const Registration* current) -> Result<std::shared_ptr<Registration>> {
    auto next = make(current);
    if (next.ok() && *next) TSUNAGU_RETURN_IF_ERROR(check_exclusive(tenant, **next));
    return next;
  };
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

bool RegistrationService::any(std::string_view tenant) const {
  if (count_.load(std::memory_order_relaxed) == 0) return false;
  std::shared_lock lock(mu_);
  auto t = tenants_.find(std::string(tenant));
  return t != tenants_.end() && !t->second.empty();
}

size_t RegistrationService::count() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [name, t] : tenants_)
    n += t.size();
  return n;
}

}  // namespace tsunagu::engine
