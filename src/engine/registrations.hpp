// Context Source Registrations (ETSI GS CIM 009 §5.9, §5.10): each tenant's registrations in
// memory, stored as records of kind "registration" through the writer (durable with their
// request, like an entity). Listeners (registration subscriptions) hear of every change once it
// is durable. docs/federation.md.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/registration/registration.hpp"
#include "ngsild/registration/registration_query.hpp"

namespace tsunagu::engine {

class Writer;

class RegistrationService {
 public:
  using Registration = ngsild::registration::Registration;
  using RegistrationPtr = std::shared_ptr<const Registration>;
  using Done = std::function<void(const Status&)>;
  static constexpr std::string_view kRecordKind = "registration";

  struct View {
    RegistrationPtr def;
    ngsild::registration::RegistrationState state;
  };
  // One registration's change, once durable: `before` null for a creation, `after` null for a
  // deletion.
  struct Change {
    std::string tenant;
    RegistrationPtr before, after;
    int64_t time = 0;
  };
  // Called on the committing thread: must not block.
  using Listener = std::function<void(const Change&)>;

  // `core`: the core context, which reads stored registrations back.
  explicit RegistrationService(ngsild::jsonld::ContextPtr core) : core_(std::move(core)) {}

  // Before attach.
  void add_listener(Listener l) { listeners_.push_back(std::move(l)); }
  void attach(Writer& writer) { writer_ = &writer; }
  // A stored registration, at start (before attach).
  Status load(std::string_view tenant, std::string_view key, std::string_view doc);

  // AlreadyExists when the id is taken in the tenant (created with its first write), or when an
  // exclusive registration names an entity id and an attribute that another exclusive or redirect
  // one of the tenant names too, or a redirect one what an exclusive one names (one source owns
  // an attribute of an entity, §4.3.6.3; also on update).
  void create(std::string tenant, Registration r, Done done);
  // ResourceNotFound naming the id.
  Result<View> retrieve(std::string_view tenant, std::string_view id) const;
  // In creation order; expired registrations are left out (§5.2.9 expiresAt).
  std::vector<View> list(std::string_view tenant) const;
  // Those of list() that `q` matches.
  std::vector<View> query(std::string_view tenant,
                          const ngsild::registration::RegistrationQuery& q) const;
  // Applies `change` to a copy of the registration; its error is the request's.
  void update(std::string tenant, std::string id, std::function<Status(Registration&)> change,
              Done done);
  void remove(std::string tenant, std::string id, Done done);

  // What a request forwarded to registration `id` of `tenant` came to (§5.2.9: timesSent,
  // timesFailed, lastSuccess, lastFailure, status): answered, or not (no answer, or a 5xx). Kept
  // in memory, and stored with the registration's next write.
  void record(std::string_view tenant, const std::string& id, bool answered, int64_t at);
  // When the last request forwarded to registration `id` of `tenant` failed, if it did (the
  // last one not answered, §5.2.9 lastFailure after lastSuccess); kNoTime otherwise.
  int64_t failing_since(std::string_view tenant, const std::string& id) const;

  size_t count() const;
  // Whether the tenant has any registration (cheap: a read checks it before building a query).
  bool any(std::string_view tenant) const;

 private:
  struct Entry {
    RegistrationPtr def;
    ngsild::registration::RegistrationState state;
    uint64_t order = 0;
  };
  using Tenant = std::unordered_map<std::string, Entry>;
  using Make = std::function<Result<std::shared_ptr<Registration>>(const Registration* current)>;
  // Record work that stores what `make` returns (null: deletes) under (tenant, id), judged
  // against the registration the committing thread last decided.
  void write(std::string tenant, std::string id, Make make, bool create_tenant, Done done);
  // `make`, with what it makes checked by check_exclusive().
  Make owning(std::string tenant, Make make);
  std::vector<View> query(std::string_view tenant,
                          const ngsild::registration::RegistrationQuery* q) const;
  // The committing thread's: the conflict create() and update() refuse.
  Status check_exclusive(const std::string& tenant, const Registration& r) const;
  // Needs mu_ held exclusively.
  void put(const std::string& tenant, RegistrationPtr def,
           const ngsild::registration::RegistrationState& state);

  ngsild::jsonld::ContextPtr core_;
  Writer* writer_ = nullptr;
  std::vector<Listener> listeners_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Tenant> tenants_;
  uint64_t next_order_ = 0;
  std::atomic<size_t> count_{0};  // registrations over all tenants
  // What the committing thread decided, published or not: (tenant, id) -> registration.
  std::unordered_map<std::string, RegistrationPtr> decided_;
};

}  // namespace tsunagu::engine
