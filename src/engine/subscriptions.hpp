// Subscriptions (ETSI GS CIM 009 §5.8, §5.11): each tenant's definitions in memory, stored as
// records of kind "subscription" through the writer (durable with their request, like an
// entity), matched against the change feed, and their notifications handed to Delivery.
//
// Matching runs on a thread of its own: the change feed's published moment only queues the
// group's changes (snapshots, cheap to keep), so a write never waits for matching, rendering or
// a receiver. Candidates come from indexes by entity id, by entity type (spatially within a type
// for a geoQ with a bounded area) and by watched attribute; only the rest (an idPattern alone,
// `*`, a geoQ that cannot prune) are tried for every change.
//
// Durable notifications: a group's changes that fire some subscription are also
// written, in the group's own transaction, as an outbox record (kind "outbox"), deleted once
// every notification they caused has left its queue for good. Records still there at start are
// matched again, so a change acknowledged before a crash is notified after the restart, with
// the same notification ids. docs/subscriptions.md.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "engine/change_feed.hpp"
#include "engine/delivery.hpp"
#include "engine/reads.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::engine {

class TenantRegistry;
class Writer;

class SubscriptionService final : public ChangeListener {
 public:
  using Subscription = ngsild::subscription::Subscription;
  using SubscriptionPtr = std::shared_ptr<const Subscription>;
  using Done = std::function<void(const Status&)>;
  static constexpr std::string_view kRecordKind = "subscription";
  static constexpr std::string_view kOutboxKind = "outbox";

  struct Options {
    // Keep the changes that may notify in the store until their notifications are settled
    // (--durable-notifications).
    bool durable = true;
  };

  // A subscription as reads see it.
  struct View {
    SubscriptionPtr def;
    ngsild::subscription::SubscriptionState state;
  };

  // `tenants` answers periodic subscriptions; `contexts` resolves the @context notifications are
  // compacted with; `delivery` sends them.
  SubscriptionService(TenantRegistry& tenants, ngsild::jsonld::ContextCache& contexts,
                      Delivery& delivery, Options options);
  SubscriptionService(TenantRegistry& tenants, ngsild::jsonld::ContextCache& contexts,
                      Delivery& delivery)
      : SubscriptionService(tenants, contexts, delivery, Options{}) {}
  ~SubscriptionService() override;  // close()s and stops the threads
  // What the role `role` of `tenant` may read (docs/security.md, "Roles"); null when the tenant
  // no longer defines it. A subscription made with a role is notified only of entities its
  // role may read, looked up at each notification, so that a changed role applies at once.
  // Set before attach().
  using Roles =
      std::function<ngsild::query::RestrictionPtr(std::string_view tenant, std::string_view role)>;
  void set_roles(Roles roles) { roles_ = std::move(roles); }
  // The writer through which definitions are stored (it lists this service among its
  // listeners, so it is built after it). The outbox's changes loaded at start are matched from
  // now on.
  void attach(Writer& writer);
  // A stored subscription, at start (before attach).
  Status load(std::string_view tenant, std::string_view key, std::string_view doc);
  // Whether the outbox record (tenant, key) is settled: no notification of it is waiting,
  // being sent or retried, so a crash that lost it would lose nothing. The store may skip such
  // records (store::Store::declare_transient); the function is safe to call from any thread for
  // as long as it lives, also once this service is gone.
  std::function<bool(std::string_view tenant, std::string_view key)> outbox_settled() const;
  // A stored outbox record, at start (before attach).
  Status load_outbox(std::string_view tenant, std::string_view key, std::string_view doc);
  // Shutting down: notifications that have not left their queue keep their outbox records, so
  // the next start sends them; those settled are deleted now. Before the writer stops (and
  // again, harmlessly, before Delivery stops).
  void close();

  // AlreadyExists when the id is taken in the tenant (created with its first write). `ctx` is
  // what notifications are compacted with.
  void create(std::string tenant, Subscription s, ngsild::jsonld::ContextPtr ctx, Done done);
  // ResourceNotFound naming the id.
  Result<View> retrieve(std::string_view tenant, std::string_view id) const;
  // In creation order.
  std::vector<View> list(std::string_view tenant) const;
  // Applies `change` to a copy of the definition; its error is the request's.
  void update(std::string tenant, std::string id, std::function<Status(Subscription&)> change,
              ngsild::jsonld::ContextPtr ctx, Done done);
  void remove(std::string tenant, std::string id, Done done);

  void persist(const std::vector<CommittedChange>& changes, int64_t time,
               store::WriteBatch& batch) override;
  void published(const std::vector<CommittedChange>& changes, int64_t time) override;
  // Delivery's reports of one attempt, as it starts and once it ended: the subscription's
  // statistics (§5.2.14).
  void attempt(const std::string& key);
  void report(const std::string& key, const Delivery::Result& r, bool final);

  size_t count() const;

 private:
  struct Entry;
  struct TenantSubs;
  struct Pending;
  struct Outbox;
  struct Ticket;
  void match_loop();
  void match(const Pending& p);
  // Periodic subscriptions (timeInterval): every interval, the entities that match now.
  void periodic_loop();
  void notify_periodic(const std::string& tenant, Entry& e, int64_t now);
  // Renders a notification of `data` (or of `deleted`, an entity gone) and queues it. `before`:
  // the entity before the change `data` shows (one entity), whose values showChanges adds;
  // null for a creation or a periodic notification. `id` is the notification's (a fresh one
  // when empty); `receipt` rides with the message. `deleted_names`: the attributes of `deleted`
  // shown deleted (those an attributeDeleted subscription fired for).
  void notify(const std::string& tenant, const Entry& e,
              const std::vector<const ngsild::Entity*>& data, const ngsild::Entity* deleted,
              const ngsild::Entity* before, int64_t now, std::string id = {},
              std::shared_ptr<void> receipt = nullptr, const std::vector<Atom>& deleted_names = {});
  // Calls f with the statistics of the subscription Delivery knows as `key`, under the lock;
  // not when it is gone.
  void with_state(const std::string& key,
                  const std::function<void(ngsild::subscription::SubscriptionState&)>& f);
  // Whether the change from `before` to `after` fires a subscription of `t`.
  static bool fires_any(const TenantSubs& t, const ngsild::Entity* before,
                        const ngsild::Entity* after, int64_t time);
  // Asks the writer for a group of its own when settled outbox records wait and no write came
  // for a second (`now`: at once); their deletions otherwise ride with the next group.
  void flush_settled(bool now);
  // Record work that stores `next` (null: deletes) under (tenant, id) once `check` passes
  // against the definition the committing thread last decided.
  void write(std::string tenant, std::string id,
             std::function<Result<std::shared_ptr<Subscription>>(const Subscription* current)> make,
             ngsild::jsonld::ContextPtr ctx, bool create_tenant, Done done);
  ngsild::jsonld::ContextPtr context_for(const Subscription& s);
  // What the subscription's role may read: null for a subscription without a role; a
  // restriction that reads nothing when the tenant no longer defines the role.
  ngsild::query::RestrictionPtr restriction_of(const std::string& tenant,
                                               const Subscription& s) const;

  TenantRegistry& tenant_registry_;
  ngsild::jsonld::ContextCache& contexts_;
  Delivery& delivery_;
  Writer* writer_ = nullptr;
  Options options_;
  Roles roles_;
  std::shared_ptr<Outbox> outbox_;
  std::mutex flush_mu_;

  mutable std::shared_mutex mu_;  // guards tenants_ and each Entry's state
  std::unordered_map<std::string, std::unique_ptr<TenantSubs>> tenants_;
  // What the committing thread decided, published or not: (tenant, id) -> definition.
  std::unordered_map<std::string, SubscriptionPtr> decided_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;     // the matching thread waits for changes
  std::condition_variable periodic_cv_;  // the periodic thread waits for its next due time
  std::deque<std::unique_ptr<Pending>> queue_;
  bool stopping_ = false;
  std::thread matcher_;
  std::thread periodic_;
  // The committing thread's: the tickets of the group persist() wrote, for published().
  std::vector<std::shared_ptr<Ticket>> group_tickets_;
  // Loaded at start, matched once attached: by record key (the order they were written).
  std::vector<std::unique_ptr<Pending>> replay_;
};

}  // namespace tsunagu::engine
