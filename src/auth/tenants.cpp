#include "auth/tenants.hpp"

#include <algorithm>
#include <cmath>

#include "common/time.hpp"
#include "engine/record_change.hpp"
#include "engine/writer.hpp"

namespace tsunagu::auth {
namespace {

constexpr std::string_view kWhat = "tenant";
// Every record under the default tenant: the settings are the server's (see the header).
constexpr std::string_view kRecordTenant = "";

}  // namespace

TenantService::Entry::Entry(SettingsPtr s)
    : settings(std::move(s)),
      requests(settings->bucket_size()),
      notifications(std::max(1.0, settings->notifications_per_second)) {}

int64_t TenantService::Bucket::take(double rate, double size, int64_t now) {
  std::lock_guard lock(mu);
  if (refilled_at != 0 && now > refilled_at) {
    tokens = std::min(size, tokens + static_cast<double>(now - refilled_at) / 1e6 * rate);
  }
  if (refilled_at == 0 || now > refilled_at) refilled_at = now;
  if (tokens >= 1) {
    tokens -= 1;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - tokens) / rate * 1e6)));
}

Status TenantService::load(std::string_view, std::string_view, std::string_view doc) {
  auto s = decode_tenant_settings(doc);
  if (!s.ok()) return s.status();
  auto def = std::make_shared<const TenantSettings>(std::move(*s));
  decided_[engine::record_key(kRecordTenant, def->id)] = def;
  publish(def, def->id);
  return Status::Ok();
}

void TenantService::publish(const SettingsPtr& next, std::string_view id) {
  std::unique_lock lock(mu_);
  if (next) {
    by_id_.insert_or_assign(std::string(id), std::make_shared<const Entry>(next));
  } else if (auto it = by_id_.find(id); it != by_id_.end()) {
    by_id_.erase(it);
  }
}

void TenantService::write(
    std::string id,
    std::function<Result<std::shared_ptr<TenantSettings>>(const TenantSettings* current)> make,
    Done done) {
  engine::RecordChange<TenantSettings> c;
  c.kind = std::string(kRecordKind);
  c.tenant = std::string(kRecordTenant);
  c.id = id;
  c.create_tenant = true;  // the default tenant, stored with the first write to it
  c.make = std::move(make);
  c.encode = [](const TenantSettings& s) { return encode_tenant_settings(s); };
  auto published = std::make_shared<SettingsPtr>();
  c.publish = [this, published, id](const SettingsPtr&, const SettingsPtr& next) {
    publish(next, id);
    *published = next;
  };
  c.done = [published, done = std::move(done)](const Status& st) { done(st, *published); };
  engine::submit_record_change(*writer_, decided_, std::move(c));
}

void TenantService::create(TenantSettings s, Done done) {
  s.created_at = s.modified_at = now_us();
  std::string id = s.id;
  write(std::move(id),
        engine::creating(std::make_shared<TenantSettings>(std::move(s)), std::string(kWhat)),
        std::move(done));
}

void TenantService::update(std::string id, Change change, Done done) {
  Change stamped = [change = std::move(change)](TenantSettings& s) {
    TSUNAGU_RETURN_IF_ERROR(change(s));
    s.modified_at = now_us();
    return Status::Ok();
  };
  auto make = engine::changing(id, std::move(stamped), std::string(kWhat));
  write(std::move(id), std::move(make), std::move(done));
}

void TenantService::remove(std::string id, std::function<void(const Status&)> done) {
  auto make = engine::removing<TenantSettings>(id, std::string(kWhat));
  write(std::move(id), std::move(make),
        [done = std::move(done)](const Status& st, const SettingsPtr&) { done(st); });
}

Result<TenantService::SettingsPtr> TenantService::retrieve(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return Status::NotFound(std::string(kWhat) + " '" + std::string(id) + "' has no settings");
  }
  return it->second->settings;
}

std::vector<TenantService::SettingsPtr> TenantService::list() const {
  std::vector<std::pair<std::pair<int64_t, std::string>, SettingsPtr>> found;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, e] : by_id_)
      found.push_back({{e->settings->created_at, id}, e->settings});
  }
  return engine::in_creation_order(std::move(found));
}

bool TenantService::has(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  return by_id_.find(tenant) != by_id_.end();
}

size_t TenantService::count() const {
  std::shared_lock lock(mu_);
  return by_id_.size();
}

std::shared_ptr<const TenantService::Entry> TenantService::entry(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(tenant);
  return it == by_id_.end() ? nullptr : it->second;
}

int64_t TenantService::admit(std::string_view tenant, int64_t now) const {
  auto e = entry(tenant);
  if (!e) return 0;
  const double rate = e->settings->requests_per_second;
  if (rate <= 0) return 0;
  const int64_t wait_us = e->requests.take(rate, e->settings->bucket_size(), now);
  return wait_us == 0 ? 0 : (wait_us + 999'999) / 1'000'000;  // whole seconds (Retry-After)
}

int64_t TenantService::pace_notification(std::string_view tenant, int64_t now) const {
  auto e = entry(tenant);
  if (!e) return 0;
  const double rate = e->settings->notifications_per_second;
  if (rate <= 0) return 0;
  return e->notifications.take(rate, std::max(1.0, rate), now);
}

bool TenantService::public_read(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(tenant);
  return it != by_id_.end() && it->second->settings->public_read;
}

ngsild::query::RestrictionPtr TenantService::role(std::string_view tenant,
                                                  std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(tenant);
  const Role* role = it == by_id_.end() ? nullptr : it->second->settings->role(name);
  return role == nullptr ? nullptr : role->restriction;
}

std::optional<int64_t> TenantService::history_retention_days(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(tenant);
  if (it == by_id_.end() || it->second->settings->history_retention_days < 0) return std::nullopt;
  return it->second->settings->history_retention_days;
}

uint64_t TenantService::max_entities(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(tenant);
  return it == by_id_.end() ? 0 : it->second->settings->max_entities;
}

bool TenantService::allows_origin(std::string_view tenant, std::string_view origin) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(tenant);
  if (it == by_id_.end()) return false;
  const auto& origins = it->second->settings->cors_origins;
  return std::find(origins.begin(), origins.end(), origin) != origins.end();
}

bool TenantService::any_allows_origin(std::string_view origin) const {
  std::shared_lock lock(mu_);
  for (const auto& [id, e] : by_id_) {
    const auto& origins = e->settings->cors_origins;
    if (std::find(origins.begin(), origins.end(), origin) != origins.end()) return true;
  }
  return false;
}

}  // namespace tsunagu::auth
