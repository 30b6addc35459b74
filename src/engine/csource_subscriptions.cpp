// Registration subscriptions (csource_subscriptions.hpp): their records, their matching against
// registrations' changes, and their ContextSourceNotifications.
#include "engine/csource_subscriptions.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "common/json.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "engine/notification_message.hpp"
#include "engine/record_change.hpp"
#include "engine/writer.hpp"
#include "ngsild/registration/registration_query.hpp"
#include "ngsild/subscription/subscription_codec.hpp"

namespace tsunagu::engine {
namespace {

namespace sub = ngsild::subscription;
namespace reg = ngsild::registration;

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

// What a subscription asks of a registration (§5.11.7 with §5.12): one RegistrationQuery per
// EntitySelector, any of which may match; watchedAttributes are the attributes asked for (none:
// any), q, geoQ, scopeQ and csf are evaluated against the registration's own properties, and
// temporalQ against its intervals (without one, only registrations providing latest information
// match).
std::vector<reg::RegistrationQuery> queries_of(const sub::Subscription& s) {
  reg::RegistrationQuery base;
  base.entities.attrs = s.watched_attributes;
  base.entities.q = s.q;
  base.entities.geo = s.geo_q;
  base.entities.geo_property = s.geo_property;
  base.entities.scope = s.scope_q;
  base.csf = s.csf_q;
  base.time = s.temporal_q;
  if (s.entities.empty()) return {base};
  std::vector<reg::RegistrationQuery> out;
  for (const auto& sel : s.entities) {
    reg::RegistrationQuery q = base;
    if (sel.id) q.entities.ids = {*sel.id};
    q.entities.id_pattern = sel.id_pattern;
    q.entities.types = sel.types;
    out.push_back(std::move(q));
  }
  return out;
}

// The registration's document with only the RegistrationInfo elements at `keep` in its
// information member (the document's array is in the order of Registration::information).
std::string doc_with_information(const std::string& doc, const std::vector<size_t>& keep,
                                 size_t total) {
  JsonDoc d;
  if (!parse_json(doc, d).ok() || !d.IsObject()) return doc;
  for (const char* name : {"information", "https://uri.etsi.org/ngsi-ld/information"}) {
    auto m = d.FindMember(name);
    if (m == d.MemberEnd() || !m->value.IsArray() || m->value.Size() != total) continue;
    JsonValue kept(rapidjson::kArrayType);
    for (size_t i : keep)
      kept.PushBack(JsonValue(m->value[static_cast<rapidjson::SizeType>(i)], d.GetAllocator()),
                    d.GetAllocator());
    m->value.Swap(kept);
    return json_text(d);
  }
  return doc;
}

}  // namespace

struct CsourceSubscriptionService::Entry {
  SubscriptionPtr def;
  ngsild::jsonld::ContextPtr ctx;  // notifications are compacted with it
  std::vector<reg::RegistrationQuery> queries;
  std::string key;  // Delivery's
  uint64_t order = 0;
  sub::SubscriptionState state;  // under mu_
  int64_t last_sent = kNoTime;   // the thread's: throttling
  int64_t next_due = kNoTime;    // the thread's: periodic subscriptions

  bool matches(const Registration& r) const {
    return std::any_of(queries.begin(), queries.end(),
                       [&](const reg::RegistrationQuery& q) { return q.matches(r); });
  }
  // The registration as a notification shows it: §5.11.7 asks for the information relevant to
  // the subscription, in particular only the RegistrationInfo elements that match. All of them
  // when each does, or when none does on its own.
  std::shared_ptr<const Registration> relevant(const RegistrationPtr& r) const {
    Registration probe = *r;
    std::vector<size_t> keep;
    for (size_t i = 0; i < r->information.size(); ++i) {
      probe.information = {r->information[i]};
      bool any = std::any_of(queries.begin(), queries.end(), [&](const reg::RegistrationQuery& q) {
        return q.information_matches(probe);
      });
      if (any) keep.push_back(i);
    }
    if (keep.empty() || keep.size() == r->information.size()) return r;
    probe.information.clear();
    for (size_t i : keep)
      probe.information.push_back(r->information[i]);
    probe.doc = doc_with_information(r->doc, keep, r->information.size());
    return std::make_shared<const Registration>(std::move(probe));
  }
};

// Work for the thread: a registration's change, or a subscription to notify of what matches
// now (once created or updated).
struct CsourceSubscriptionService::Job {
  std::string tenant;
  RegistrationPtr before, after;  // a change
  std::string subscription;       // else: the subscription's id
  int64_t time = 0;
  // With `subscription`: the tenant's registrations when it was published. Taken then, on the
  // committing thread, so that a registration change published after it is notified by its own
  // job, and not also as part of this one.
  std::vector<RegistrationPtr> registrations;
};

CsourceSubscriptionService::CsourceSubscriptionService(Registrations registrations,
                                                       ngsild::jsonld::ContextCache& contexts,
                                                       Delivery& delivery)
    : registrations_(std::move(registrations)), contexts_(contexts), delivery_(delivery) {
  thread_ = std::thread([this] { run(); });
}

CsourceSubscriptionService::~CsourceSubscriptionService() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  thread_.join();
}

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
  e->queries = queries_of(*def);
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
  RecordChange<Subscription> c{std::string(kRecordKind), tenant, id, create_tenant,
                               std::move(make)};
  // Stored with delivery's statistics as they are, which a change keeps.
  c.encode = [this, tenant, id](const Subscription& s) {
    auto v = retrieve(tenant, id);
    return sub::encode_subscription(s, v.ok() ? v->state : sub::SubscriptionState{});
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
    e->queries = queries_of(*next);
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
    // What matches now, initially (§5.11.7); a periodic subscription's first notification is
    // the thread's next look at the clock.
    if (!next->periodic()) {
      enqueue(
          Job{tenant, nullptr, nullptr, id, now_us(),
              registrations_.list ? registrations_.list(tenant) : std::vector<RegistrationPtr>{}});
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

void CsourceSubscriptionService::registration_changed(const RegistrationService::Change& c) {
  {
    std::shared_lock lock(mu_);
    auto t = tenants_.find(c.tenant);
    if (t == tenants_.end() || t->second.empty()) return;  // nobody to tell
  }
  enqueue(Job{c.tenant, c.before, c.after, {}, c.time});
}

void CsourceSubscriptionService::enqueue(Job job) {
  {
    std::lock_guard lock(queue_mu_);
    queue_.push_back(std::move(job));
  }
  queue_cv_.notify_one();
}

void CsourceSubscriptionService::run() {
  std::unique_lock lock(queue_mu_);
  while (!stopping_) {
    std::deque<Job> work;
    work.swap(queue_);
    lock.unlock();
    for (const Job& job : work)
      handle(job);
    int64_t next = periodic(now_us());
    lock.lock();
    if (!queue_.empty()) continue;
    queue_cv_.wait_for(lock, std::chrono::microseconds(std::max<int64_t>(next - now_us(), 1000)),
                       [&] { return stopping_ || !queue_.empty(); });
  }
}

void CsourceSubscriptionService::handle(const Job& job) {
  if (job.before == nullptr && job.after == nullptr) {
    // Created or updated: what matches now, initially (§5.11.7).
    auto e = find(job.tenant, job.subscription);
    if (e && sub::status_of(*e->def, job.time) == sub::SubscriptionStatus::kActive) {
      notify_matching(job.tenant, *e, job.registrations, job.time);
    }
    return;
  }
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::shared_lock lock(mu_);
    auto t = tenants_.find(job.tenant);
    if (t == tenants_.end()) return;
    for (const auto& [id, e] : t->second)
      entries.push_back(e);
  }
  for (const auto& e : entries) {
    const Subscription& s = *e->def;
    if (s.periodic() || sub::status_of(s, job.time) != sub::SubscriptionStatus::kActive) continue;
    const bool was = job.before && e->matches(*job.before);
    const bool is = job.after && e->matches(*job.after);
    if (!was && !is) continue;
    if (s.throttling_s && e->last_sent != kNoTime &&
        job.time - e->last_sent < static_cast<int64_t>(*s.throttling_s * 1e6)) {
      continue;  // within the throttling period: not notified (as entity subscriptions)
    }
    // triggerReason (§5.3.2): one that matches now and did not is newly matching; one that no
    // longer matches (updated away or deleted) is shown as it is now, or as it was.
    std::shared_ptr<const Registration> shown =
        is ? e->relevant(job.after) : (job.after ? job.after : job.before);
    notify(job.tenant, *e, {shown.get()},
           !was ? "newlyMatching"
           : is ? "updated"
                : "noLongerMatching",
           job.time);
  }
}

int64_t CsourceSubscriptionService::periodic(int64_t now) {
  int64_t next = now + 1'000'000;  // looks again within a second for new subscriptions
  std::vector<std::pair<std::string, std::shared_ptr<Entry>>> due;
  {
    std::shared_lock lock(mu_);
    for (const auto& [tenant, t] : tenants_) {
      for (const auto& [id, e] : t) {
        if (!e->def->periodic()) continue;
        if (e->next_due == kNoTime) e->next_due = now;  // the first one at once
        if (e->next_due <= now)
          due.emplace_back(tenant, e);
        else
          next = std::min(next, e->next_due);
      }
    }
  }
  for (auto& [tenant, e] : due) {
    e->next_due = now + static_cast<int64_t>(*e->def->time_interval_s * 1e6);
    next = std::min(next, e->next_due);
    if (sub::status_of(*e->def, now) == sub::SubscriptionStatus::kActive) {
      if (registrations_.list) notify_matching(tenant, *e, registrations_.list(tenant), now);
    }
  }
  return next;
}

void CsourceSubscriptionService::notify_matching(const std::string& tenant, Entry& e,
                                                 const std::vector<RegistrationPtr>& registrations,
                                                 int64_t now) {
  std::vector<std::shared_ptr<const Registration>> shown;
  for (const RegistrationPtr& r : registrations) {
    if (r && e.matches(*r)) shown.push_back(e.relevant(r));
  }
  if (shown.empty()) return;  // a notification holds at least one registration
  std::vector<const Registration*> data;
  for (const auto& r : shown)
    data.push_back(r.get());
  notify(tenant, e, data, "newlyMatching", now);
}

void CsourceSubscriptionService::notify(const std::string& tenant, Entry& e,
                                        const std::vector<const Registration*>& data,
                                        std::string_view reason, int64_t now) {
  const Subscription& s = *e.def;
  const bool ld = s.notification.endpoint.effective_accept() == "application/ld+json";
  std::string body;
  JsonWriter w(body);
  // ContextSourceNotification (§5.3.2).
  w.begin_object();
  w.key("id");
  w.string(notification_id());
  w.key("type");
  w.string("ContextSourceNotification");
  w.key("subscriptionId");
  w.string(s.id);
  w.key("notifiedAt");
  w.string(format_datetime(now));
  w.key("data");
  w.begin_array();
  for (const Registration* r : data)
    registrations_.render(*r, *e.ctx, ld, w);
  w.end_array();
  w.key("triggerReason");
  w.string(reason);
  w.end_object();
  e.last_sent = now;
  delivery_.enqueue(e.key, notification_message(s, *e.ctx, tenant, std::move(body)));
}

bool CsourceSubscriptionService::owns(std::string_view key) {
  return key.substr(0, kKeyPrefix.size()) == kKeyPrefix;
}

void CsourceSubscriptionService::with_state(const std::string& key,
                                            const std::function<void(sub::SubscriptionState&)>& f) {
  if (!owns(key)) return;
  size_t nl = key.find('\n');
  if (nl == std::string::npos) return;
  std::string tenant = key.substr(kKeyPrefix.size(), nl - kKeyPrefix.size());
  std::string id = key.substr(nl + 1);
  std::unique_lock lock(mu_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return;
  auto it = t->second.find(id);
  if (it != t->second.end()) f(it->second->state);
}

void CsourceSubscriptionService::attempt(const std::string& key) {
  int64_t now = now_us();
  with_state(key, [now](sub::SubscriptionState& st) { st.attempted(now); });
}

void CsourceSubscriptionService::report(const std::string& key, const Delivery::Result& r,
                                        bool final) {
  int64_t now = now_us();
  with_state(key, [&](sub::SubscriptionState& st) { st.ended(r.ok, now); });
  if (!r.ok && final) {
    log::warn("csource_notification_failed",
              {{"subscription", key.substr(key.find('\n') + 1)}, {"detail", r.error}});
  }
}

}  // namespace tsunagu::engine
