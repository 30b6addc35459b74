// Context Source Registration subscriptions (ETSI GS CIM 009 §5.11.2-§5.11.7): each tenant's
// definitions in memory, stored as records of kind "csource_subscription" through the writer
// (durable with their request, like entity subscriptions), matched against every change of a
// Context Source Registration, and their notifications (ContextSourceNotification, §5.3.2)
// handed to Delivery.
//
// One thread of its own matches, renders and sends the periodic notifications: the registration
// service's listener, called on the committing thread, only queues the change, so a write never
// waits for a receiver. docs/subscriptions.md, "Registration subscriptions".
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/json_writer.hpp"
#include "common/status.hpp"
#include "engine/delivery.hpp"
#include "engine/registrations.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/registration/registration.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::engine {

class Writer;

// Owned by the app; any thread may call it. Its thread runs from construction to destruction.
class CsourceSubscriptionService {
 public:
  using Subscription = ngsild::subscription::Subscription;
  using SubscriptionPtr = std::shared_ptr<const Subscription>;
  using Registration = ngsild::registration::Registration;
  using RegistrationPtr = std::shared_ptr<const Registration>;
  using Done = std::function<void(const Status&)>;
  static constexpr std::string_view kRecordKind = "csource_subscription";

  // A subscription as reads see it.
  struct View {
    SubscriptionPtr def;
    ngsild::subscription::SubscriptionState state;
  };

  // What the service needs of the registrations, handed in by the app (tests give fakes).
  struct Registrations {
    // The tenant's registrations now: the initial and the periodic notifications show those
    // that match. Any thread.
    std::function<std::vector<RegistrationPtr>(const std::string& tenant)> list;
    // Writes one registration as a notification's `data` holds it, names compacted with `ctx`;
    // `with_context`: with an "@context" member (application/ld+json).
    std::function<void(const Registration& r, const ngsild::jsonld::Context& ctx, bool with_context,
                       JsonWriter& w)>
        render;
  };

  // `contexts` resolves the @context notifications are compacted with; `delivery` sends them.
  CsourceSubscriptionService(Registrations registrations, ngsild::jsonld::ContextCache& contexts,
                             Delivery& delivery);
  ~CsourceSubscriptionService();  // stops the thread
  CsourceSubscriptionService(const CsourceSubscriptionService&) = delete;
  CsourceSubscriptionService& operator=(const CsourceSubscriptionService&) = delete;

  // The writer through which definitions are stored.
  void attach(Writer& writer) { writer_ = &writer; }
  // A stored subscription, at start (before attach). InternalError when it cannot be read.
  Status load(std::string_view tenant, std::string_view key, std::string_view doc);

  // The operations and errors of SubscriptionService's, on registration subscriptions:
  // AlreadyExists, ResourceNotFound naming the id, or the error of `change`; `ctx` (null on
  // update: the one held) is what notifications are compacted with; list() is in creation order
  // (createdAt, which a restart keeps). Once a create or update is durable, the registrations
  // that match the definition are notified (newlyMatching, §5.11.7), when there are any.
  void create(std::string tenant, Subscription s, ngsild::jsonld::ContextPtr ctx, Done done);
  void update(std::string tenant, std::string id, std::function<Status(Subscription&)> change,
              ngsild::jsonld::ContextPtr ctx, Done done);
  void remove(std::string tenant, std::string id, Done done);
  Result<View> retrieve(std::string_view tenant, std::string_view id) const;
  std::vector<View> list(std::string_view tenant) const;
  size_t count() const;

  // A registration changed (the RegistrationService's listener): queued for the thread, which
  // notifies each subscription it matches now or matched before. Does not block.
  void registration_changed(const RegistrationService::Change& c);

  // Whether the Delivery key `key` is one of this service's (else an entity subscription's).
  static bool owns(std::string_view key);
  // Delivery's reports of one attempt, as it starts and once it ended (§5.2.14 statistics).
  void attempt(const std::string& key);
  void report(const std::string& key, const Delivery::Result& r, bool final);

 private:
  struct Entry;
  struct Job;
  using Make = std::function<Result<std::shared_ptr<Subscription>>(const Subscription* current)>;

  void write(std::string tenant, std::string id, Make make, ngsild::jsonld::ContextPtr ctx,
             bool create_tenant, Done done);
  std::shared_ptr<Entry> find(const std::string& tenant, const std::string& id) const;
  void enqueue(Job job);
  void run();
  void handle(const Job& job);
  // Periodic subscriptions (timeInterval) whose time has come; returns when to look next.
  int64_t periodic(int64_t now);
  // Notifies `e` of those of `registrations` (the tenant's) that match it, if any.
  void notify_matching(const std::string& tenant, Entry& e,
                       const std::vector<RegistrationPtr>& registrations, int64_t now);
  void notify(const std::string& tenant, Entry& e, const std::vector<const Registration*>& data,
              std::string_view reason, int64_t now);
  void with_state(const std::string& key,
                  const std::function<void(ngsild::subscription::SubscriptionState&)>& f);

  Registrations registrations_;
  ngsild::jsonld::ContextCache& contexts_;
  Delivery& delivery_;
  Writer* writer_ = nullptr;
  // What the committing thread decided (engine/record_change.hpp): only it reads or changes it.
  std::unordered_map<std::string, SubscriptionPtr> decided_;

  mutable std::shared_mutex mu_;  // guards tenants_ and each Entry's state
  std::unordered_map<std::string, std::unordered_map<std::string, std::shared_ptr<Entry>>> tenants_;
  uint64_t next_order_ = 0;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tsunagu::engine
