// The tenants' settings (auth/tenant_settings.hpp), kept in memory and stored as records of
// kind "tenant_settings" through the writer, as API keys are (the server's records, filed under
// the default tenant), and applied to every request: a request rate per tenant (a token bucket:
// `burst` requests at once, refilled at `requestsPerSecond`), an entity quota the writer asks
// for when it creates an entity, and the browser origins a tenant answers. Thread-safe: the
// checks from any thread; changes are decided and published on the committing thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/tenant_settings.hpp"
#include "common/status.hpp"

namespace tsunagu::engine {
class Writer;
}  // namespace tsunagu::engine

namespace tsunagu::auth {

class TenantService {
 public:
  using SettingsPtr = std::shared_ptr<const TenantSettings>;
  using Done = std::function<void(const Status&, const SettingsPtr&)>;
  using Change = std::function<Status(TenantSettings&)>;
  static constexpr std::string_view kRecordKind = "tenant_settings";

  // Stored settings, at start (before attach). InternalError when the document is damaged.
  Status load(std::string_view tenant, std::string_view record_key, std::string_view doc);
  void attach(engine::Writer& writer) { writer_ = &writer; }

  // Stores settings for tenant `s.id` with createdAt and modifiedAt now; AlreadyExists when it
  // has some. `done` gets what was stored once durable, on the committing thread.
  void create(TenantSettings s, Done done);
  // Applies `change` to the tenant's settings and stores them; ResourceNotFound when it has none.
  void update(std::string id, Change change, Done done);
  // Forgets the tenant's settings (its data stays); ResourceNotFound when it has none.
  void remove(std::string id, std::function<void(const Status&)> done);

  Result<SettingsPtr> retrieve(std::string_view id) const;  // ResourceNotFound naming the id
  std::vector<SettingsPtr> list() const;                    // in creation order
  bool has(std::string_view tenant) const;
  size_t count() const;

  // Takes one request of `tenant` at `now` (µs) from its bucket: 0 when there was room (or the
  // tenant has no rate limit), otherwise the whole seconds until there is (Retry-After).
  int64_t admit(std::string_view tenant, int64_t now) const;
  // Takes one notification of `tenant` at `now` (µs) from its notification bucket: 0 when there
  // was room (or no limit), otherwise the µs until there is.
  int64_t pace_notification(std::string_view tenant, int64_t now) const;
  // Whether anyone may read `tenant` without credentials (its settings' publicRead).
  bool public_read(std::string_view tenant) const;
  // What the tenant's role `name` may read and write; null when the tenant defines no such role.
  ngsild::query::RestrictionPtr role(std::string_view tenant, std::string_view name) const;
  // The days of history the tenant's settings keep (0: all); nullopt when they say nothing.
  std::optional<int64_t> history_retention_days(std::string_view tenant) const;
  // The tenant's entity quota; 0: none.
  uint64_t max_entities(std::string_view tenant) const;
  // Whether a browser at `origin` may call `tenant`; `any_allows` whether it may call any.
  bool allows_origin(std::string_view tenant, std::string_view origin) const;
  bool any_allows_origin(std::string_view origin) const;

 private:
  // Published settings with the bucket of their rate limit (a new one with each change).
  // A token bucket: `size` tokens at most, refilled at `rate` per second.
  struct Bucket {
    explicit Bucket(double size) : tokens(size) {}
    // Takes one token at `now` (µs): 0 when there was one, else the µs until there is.
    int64_t take(double rate, double size, int64_t now);
    std::mutex mu;
    double tokens;
    int64_t refilled_at = 0;  // µs; 0: never
  };
  struct Entry {
    explicit Entry(SettingsPtr s);
    SettingsPtr settings;
    mutable Bucket requests;
    mutable Bucket notifications;
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view t) const { return std::hash<std::string_view>{}(t); }
  };
  void write(
      std::string id,
      std::function<Result<std::shared_ptr<TenantSettings>>(const TenantSettings* current)> make,
      Done done);
  void publish(const SettingsPtr& next, std::string_view id);
  // The tenant's published entry (its settings and buckets); null when it has no settings.
  std::shared_ptr<const Entry> entry(std::string_view tenant) const;

  engine::Writer* writer_ = nullptr;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>, NameHash, std::equal_to<>> by_id_;
  // What the committing thread decided, published or not (engine/record_change.hpp).
  std::unordered_map<std::string, std::shared_ptr<const TenantSettings>> decided_;
};

}  // namespace tsunagu::auth
