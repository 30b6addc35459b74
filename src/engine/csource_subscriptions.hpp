// Context Source Registration subscriptions (ETSI GS CIM 009 §5.11.2-§5.11.6): each tenant's
// definitions in memory, stored as records of kind "csource_subscription" through the writer
// (durable with their request, like entity subscriptions). docs/subscriptions.md, "Registration
// subscriptions".
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "engine/delivery.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::engine {

class Writer;

// Owned by the app; any thread may call it.
class CsourceSubscriptionService {
 public:
  using Subscription = ngsild::subscription::Subscription;
  using SubscriptionPtr = std::shared_ptr<const Subscription>;
  using Done = std::function<void(const Status&)>;
  static constexpr std::string_view kRecordKind = "csource_subscription";

  // A subscription as reads see it.
  struct View {
    SubscriptionPtr def;
    ngsild::subscription::SubscriptionState state;
  };

  // `contexts` resolves the @context notifications are compacted with; `delivery` sends them.
  CsourceSubscriptionService(ngsild::jsonld::ContextCache& contexts, Delivery& delivery);
  CsourceSubscriptionService(const CsourceSubscriptionService&) = delete;
  CsourceSubscriptionService& operator=(const CsourceSubscriptionService&) = delete;

  // The writer through which definitions are stored.
  void attach(Writer& writer) { writer_ = &writer; }
  // A stored subscription, at start (before attach). InternalError when it cannot be read.
  Status load(std::string_view tenant, std::string_view key, std::string_view doc);

  // The operations and errors of SubscriptionService's, on registration subscriptions:
  // AlreadyExists, ResourceNotFound naming the id, or the error of `change`; `ctx` (null on
  // update: the one held) is what notifications are compacted with; list() is in creation order
  // (createdAt, which a restart keeps).
  void create(std::string tenant, Subscription s, ngsild::jsonld::ContextPtr ctx, Done done);
  void update(std::string tenant, std::string id, std::function<Status(Subscription&)> change,
              ngsild::jsonld::ContextPtr ctx, Done done);
  void remove(std::string tenant, std::string id, Done done);
  Result<View> retrieve(std::string_view tenant, std::string_view id) const;
  std::vector<View> list(std::string_view tenant) const;
  size_t count() const;

 private:
  struct Entry;
  using Make = std::function<Result<std::shared_ptr<Subscription>>(const Subscription* current)>;

  void write(std::string tenant, std::string id, Make make, ngsild::jsonld::ContextPtr ctx,
             bool create_tenant, Done done);
  std::shared_ptr<Entry> find(const std::string& tenant, const std::string& id) const;

  ngsild::jsonld::ContextCache& contexts_;
  Delivery& delivery_;
  Writer* writer_ = nullptr;
  // What the committing thread decided (engine/record_change.hpp): only it reads or changes it.
  std::unordered_map<std::string, SubscriptionPtr> decided_;

  mutable std::shared_mutex mu_;  // guards tenants_ and each Entry's state
  std::unordered_map<std::string, std::unordered_map<std::string, std::shared_ptr<Entry>>> tenants_;
  uint64_t next_order_ = 0;
};

}  // namespace tsunagu::engine
