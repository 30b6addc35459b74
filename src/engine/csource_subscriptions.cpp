#include "engine/csource_subscriptions.hpp"

#include <numeric>

#include "common/time.hpp"
#include "engine/notification_message.hpp"
#include "engine/record_change.hpp"
#include "engine/writer.hpp"
#include "ngsild/subscription/subscription_codec.hpp"

namespace tsunagu::engine {
namespace {

namespace sub = ngsild::subscription;

// Delivery keys: "csource:" tenant '\n' id. A tenant name has no ':' (1-64 letters, digits,
// '_', '-', '.'), so no entity subscription's key ("tenant\nid") begins like this.
constexpr std::string_view kKeyPrefix = "csource:";
constexpr const char* kWhat = "registration subscription";  // in errors

std::string delivery_key(std::string_view tenant, std::string_view id) {
  std::string k(kKeyPrefix);
  k += tenant;
  k += '\n';
  k += id;
  return k;
}

}  // namespace

struct CsourceSubscriptionService::Entry {
  SubscriptionPtr def;
  ngsild::jsonld::ContextPtr ctx;  // notifications are compacted with it
  std::string key;                 // Delivery's
  uint64_t order = 0;
  sub::SubscriptionState state;  // under mu_
};

CsourceSubscriptionService::CsourceSubscriptionService(ngsild::jsonld::ContextCache& contexts,
                                                       Delivery& delivery)
    : contexts_(contexts), delivery_(delivery) {}

Status CsourceSubscriptionService::load(std::string_view tenant, std::string_view key,
                                        std::string_view doc) {
  auto stored = sub::decode_subscription(doc);
  if (!stored.ok() || stored->subscription.kind != sub::SubscriptionKind::kCsource) {
    return Status::Internal(
        "stored registration subscription '" + std::string(key) + "' of tenant '" +
        std::string(tenant) + "' cannot be read: " +
        (stored.ok() ? std::string("not a registration subscription") : stored.status().detail()));
  }
  auto def = std::make_shared<const Subscription>(std::move(stored->subscription));
  decided_[record_key(tenant, key)] = def;
  auto e = std::make_shared<Entry>();
  e->ctx = notification_context(contexts_, *def);
  e->def = std::move(def);
  e->key = delivery_key(tenant, key);
  e->state = stored->state;
  std::unique_lock lock(mu_);
  e->order = next_order_++;
  tenants_[std::string(tenant)][std::string(key)] = std::move(e);
  return Status::Ok();
}

void CsourceSubscriptionService::write(std::string tenant, std::string id, Make make,
                                       ngsild::jsonld::ContextPtr ctx, bool create_tenant,
                                       Done done) {
  RecordChange<Subscription> c;
  c.kind = std::string(kRecordKind);
  c.tenant = tenant;
  c.id = id;
  c.create_tenant = create_tenant;
  c.make = std::move(make);
  c.encode = [this, tenant, id](const Subscription& s) {
    sub::SubscriptionState state;  // delivery's statistics, kept across a change
    if (auto v = retrieve(tenant, id); v.ok()) state = v->state;
    return sub::encode_subscription(s, state);
  };
  c.publish = [this, tenant, id, ctx](const SubscriptionPtr&, const SubscriptionPtr& next) {
    std::string key = delivery_key(tenant, id);
    if (!next) {
      {
        std::unique_lock lock(mu_);
        auto t = tenants_.find(tenant);
        if (t != tenants_.end()) t->second.erase(id);
      }
      delivery_.forget(key);
      return;
    }
    auto e = std::make_shared<Entry>();
    e->ctx = ctx ? ctx : contexts_.core();
    e->key = std::move(key);
    e->def = next;
    {
      std::unique_lock lock(mu_);
      auto& slot = tenants_[tenant][id];
      if (slot) {
        e->order = slot->order;
        e->state = slot->state;
      } else {
        e->order = next_order_++;
      }
      slot = std::move(e);
    }
  };
  c.done = std::move(done);
  submit_record_change(*writer_, decided_, std::move(c));
}

void CsourceSubscriptionService::create(std::string tenant, Subscription s,
                                        ngsild::jsonld::ContextPtr ctx, Done done) {
  std::string id = s.id;
  auto make = creating(std::make_shared<Subscription>(std::move(s)), kWhat);
  write(std::move(tenant), std::move(id), std::move(make), std::move(ctx), true, std::move(done));
}

void CsourceSubscriptionService::update(std::string tenant, std::string id,
                                        std::function<Status(Subscription&)> change,
                                        ngsild::jsonld::ContextPtr ctx, Done done) {
  if (!ctx) {
    if (auto e = find(tenant, id)) ctx = e->ctx;
  }
  auto make = changing(id, std::move(change), kWhat);
  write(std::move(tenant), std::move(id), std::move(make), std::move(ctx), false, std::move(done));
}

void CsourceSubscriptionService::remove(std::string tenant, std::string id, Done done) {
  auto make = removing<Subscription>(id, kWhat);
  write(std::move(tenant), std::move(id), std::move(make), nullptr, false, std::move(done));
}

std::shared_ptr<CsourceSubscriptionService::Entry> CsourceSubscriptionService::find(
    const std::string& tenant, const std::string& id) const {
  std::shared_lock lock(mu_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return nullptr;
  auto it = t->second.find(id);
  return it == t->second.end() ? nullptr : it->second;
}

Result<CsourceSubscriptionService::View> CsourceSubscriptionService::retrieve(
    std::string_view tenant, std::string_view id) const {
  std::shared_lock lock(mu_);
  auto t = tenants_.find(std::string(tenant));
  if (t != tenants_.end()) {
    auto it = t->second.find(std::string(id));
    if (it != t->second.end()) return View{it->second->def, it->second->state};
  }
  return Status::NotFound(std::string(kWhat) + " '" + std::string(id) + "' does not exist");
}

std::vector<CsourceSubscriptionService::View> CsourceSubscriptionService::list(
    std::string_view tenant) const {
  // By createdAt, which a restart keeps (the store gives records back in key order), then in
  // the order they came.
  std::vector<std::pair<std::pair<int64_t, uint64_t>, View>> found;
  {
    std::shared_lock lock(mu_);
    auto t = tenants_.find(std::string(tenant));
    if (t == tenants_.end()) return {};
    for (const auto& [id, e] : t->second)
      found.push_back({{e->def->created_at, e->order}, View{e->def, e->state}});
  }
  return in_creation_order(std::move(found));
}

size_t CsourceSubscriptionService::count() const {
  std::shared_lock lock(mu_);
  return std::accumulate(tenants_.begin(), tenants_.end(), size_t{0},
                         [](size_t n, const auto& t) { return n + t.second.size(); });
}

}  // namespace tsunagu::engine
