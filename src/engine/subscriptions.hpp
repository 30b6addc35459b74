// Subscriptions (ETSI GS CIM 009 §5.8, §5.11): each tenant's definitions in memory, stored as
// records of kind "subscription" through the writer (durable with their request, like an
// entity), matched against the change feed, and their notifications handed to Delivery.
//
// Matching runs on a thread of its own: the change feed's published moment only queues the
// group's changes (snapshots, cheap to keep), so a write never waits for matching, rendering or
// a receiver. Candidates come from indexes by entity id and by entity type; only subscriptions
// that name neither (idPattern alone, or watchedAttributes alone) are tried for every change.
// docs/subscriptions.md.
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

  // A subscription as reads see it.
  struct View {
    SubscriptionPtr def;
    ngsild::subscription::SubscriptionState state;
  };

  // `tenants` answers periodic subscriptions; `contexts` resolves the @context notifications are
  // compacted with; `delivery` sends them.
  SubscriptionService(TenantRegistry& tenants, ngsild::jsonld::ContextCache& contexts,
                      Delivery& delivery);
  ~SubscriptionService() override;  // stops the matching thread
  // The writer through which definitions are stored (it lists this service among its
  // listeners, so it is built after it).
  void attach(Writer& writer) { writer_ = &writer; }
  // A stored subscription, at start (before attach).
  Status load(std::string_view tenant, std::string_view key, std::string_view doc);

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

  void published(const std::vector<CommittedChange>& changes, int64_t time) override;
  // Delivery's report of one attempt: the subscription's statistics (§5.2.14).
  void report(const std::string& key, const Delivery::Result& r, bool final);

  size_t count() const;

 private:
  struct Entry;
  struct TenantSubs;
  struct Pending;
  void match_loop();
  void match(const Pending& p);
  // Periodic subscriptions (timeInterval): every interval, the entities that match now.
  void periodic_loop();
  void notify_periodic(const std::string& tenant, Entry& e, int64_t now);
  // Renders a notification of `data` (or of `deleted`, an entity gone) and queues it. `before`:
  // the entity before the change `data` shows (one entity), whose values showChanges adds;
  // null for a creation or a periodic notification.
  void notify(const std::string& tenant, const Entry& e,
              const std::vector<const ngsild::Entity*>& data, const ngsild::Entity* deleted,
              const ngsild::Entity* before, int64_t now);
  // Record work that stores `next` (null: deletes) under (tenant, id) once `check` passes
  // against the definition the committing thread last decided.
  void write(std::string tenant, std::string id,
             std::function<Result<std::shared_ptr<Subscription>>(const Subscription* current)> make,
             ngsild::jsonld::ContextPtr ctx, bool create_tenant, Done done);
  ngsild::jsonld::ContextPtr context_for(const Subscription& s);

  TenantRegistry& tenant_registry_;
  ngsild::jsonld::ContextCache& contexts_;
  Delivery& delivery_;
  Writer* writer_ = nullptr;

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
};

}  // namespace tsunagu::engine
