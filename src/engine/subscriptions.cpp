#include "engine/subscriptions.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <unordered_set>

#include "common/json_writer.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "engine/entity_service.hpp"
#include "engine/notification_message.hpp"
#include "engine/query_engine.hpp"
#include "engine/record_change.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/format/response_body.hpp"
#include "ngsild/geo/query_index.hpp"
#include "ngsild/query/entity_query.hpp"
#include "ngsild/subscription/notification_data.hpp"
#include "ngsild/subscription/notification_trigger.hpp"
#include "ngsild/subscription/subscription_codec.hpp"
#include "store/codec/entity_codec.hpp"

namespace tsunagu::engine {
namespace {

namespace sub = ngsild::subscription;
using ngsild::Entity;

// A periodic notification carries at most this many entities (the first in creation order).
constexpr size_t kMaxPeriodicEntities = 1000;

int64_t steady_ms() {
  return steady_us() / 1000;
}

// An outbox record: "O1 <time> <n>\n", then for each change "<before length> <after length>\n"
// and the two stored documents (store/codec; -1 for a state that is not there). Each change comes
// with its after state's stored document, which the writer encoded into the group's batch.
struct OutboxChange {
  const Change* change;
  std::string_view after;
};
std::string encode_outbox(int64_t time, const std::vector<OutboxChange>& changes) {
  std::string out = "O1 " + std::to_string(time) + " " + std::to_string(changes.size()) + "\n";
  std::string before;
  for (const auto& [c, after] : changes) {
    before.clear();
    if (c->before) before = store::encode_entity(*c->before);
    char lengths[48];
    const int n = std::snprintf(lengths, sizeof lengths, "%" PRId64 " %" PRId64 "\n",
                                c->before ? static_cast<int64_t>(before.size()) : int64_t{-1},
                                c->after ? static_cast<int64_t>(after.size()) : int64_t{-1});
    out.reserve(out.size() + static_cast<size_t>(n) + before.size() + after.size());
    out.append(lengths, static_cast<size_t>(n));
    out += before;
    out += after;
  }
  return out;
}

// The stored document of each change's after state, as the writer encoded it into `batch` (its
// entity ops come in the order of `changes`, one for each change); empty for a change with none.
std::vector<std::string_view> stored_afters(const std::vector<CommittedChange>& changes,
                                            const store::WriteBatch& batch) {
  using Kind = store::WriteBatch::OpKind;
  std::vector<std::string_view> out(changes.size());
  size_t op = 0;
  for (size_t i = 0; i < changes.size(); ++i) {
    const Entity* after = changes[i].change->after.get();
    if (after == nullptr) continue;
    auto matches = [&](const store::WriteBatch::Op& o) {
      return (o.kind == Kind::kInsertEntity || o.kind == Kind::kUpdateEntity) &&
             o.row == after->row;
    };
    while (op < batch.ops.size() && !matches(batch.ops[op]))
      ++op;
    if (op == batch.ops.size()) break;  // not written by this batch: encoded by the caller
    out[i] = batch.ops[op++].doc;
  }
  return out;
}

struct OutboxRecord {
  int64_t time = 0;
  std::vector<std::pair<EntityPtr, EntityPtr>> changes;  // before, after
};

Result<OutboxRecord> decode_outbox(std::string_view doc) {
  auto bad = [](const std::string& why) { return Status::Internal("outbox record: " + why); };
  size_t pos = 0;
  auto number = [&](char end, int64_t& v) -> bool {
    size_t stop = doc.find(end, pos);
    if (stop == std::string_view::npos) return false;
    auto r = std::from_chars(doc.data() + pos, doc.data() + stop, v);
    if (r.ec != std::errc() || r.ptr != doc.data() + stop) return false;
    pos = stop + 1;
    return true;
  };
  if (doc.substr(0, 3) != "O1 ") return bad("unknown format");
  pos = 3;
  OutboxRecord rec;
  int64_t n = 0;
  if (!number(' ', rec.time) || !number('\n', n) || n < 0) return bad("bad header");
  auto state = [&](int64_t len, EntityPtr& out) -> Status {
    if (len < 0) return Status::Ok();
    if (static_cast<uint64_t>(len) > doc.size() - pos) return bad("truncated");
    auto e = store::decode_entity(doc.substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(len);
    if (!e.ok()) return e.status();
    out = std::make_shared<const Entity>(std::move(*e));
    return Status::Ok();
  };
  for (int64_t i = 0; i < n; ++i) {
    int64_t before_len = 0, after_len = 0;
    if (!number(' ', before_len) || !number('\n', after_len)) return bad("bad change header");
    EntityPtr before, after;
    TSUNAGU_RETURN_IF_ERROR(state(before_len, before));
    TSUNAGU_RETURN_IF_ERROR(state(after_len, after));
    if (!before && !after) return bad("a change with neither state");
    rec.changes.emplace_back(std::move(before), std::move(after));
  }
  if (pos != doc.size()) return bad("trailing bytes");
  return rec;
}

// FNV-1a, to tell subscriptions apart in a durable notification's id.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex16(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

}  // namespace

struct SubscriptionService::Entry {
  SubscriptionPtr def;
  ngsild::jsonld::ContextPtr ctx;  // notifications are compacted with it
  std::string key;                 // Delivery's: tenant '\n' id
  uint64_t order = 0;              // creation order, for listing
  sub::SubscriptionState state;    // under mu_
  int64_t last_queued = kNoTime;   // for throttling; the matching thread's
  int64_t next_due = kNoTime;      // periodic: the next notification; the periodic thread's
};

// One tenant's subscriptions and the indexes that narrow a change's candidates: by entity id;
// by entity type, spatially within a type for a geoQ that can prune (a geo-subscription is tried
// only for an entity whose geometry meets its area's box); by watched attribute for those that
// name no entities; and the rest (idPattern alone, `*`, a geoQ that cannot prune) for every
// change.
struct SubscriptionService::TenantSubs {
  // The geo-subscriptions of one type on one GeoProperty.
  struct GeoBucket {
    Atom property;
    ngsild::geo::QueryIndex index;
  };
  std::unordered_map<std::string, std::shared_ptr<Entry>> by_id;
  std::unordered_map<std::string, std::vector<Entry*>> by_entity_id;
  std::unordered_map<Atom, std::vector<Entry*>> by_type;
  std::unordered_map<Atom, std::vector<GeoBucket>> geo_by_type;
  std::unordered_map<Atom, std::vector<Entry*>> by_attribute;
  std::vector<Entry*> others;  // tried for every change
  // Those with a timeInterval, so that the periodic thread need not look at every subscription
  // every second (with 100,000 that held the lock for about 17 ms each time; bench/: S9).
  std::vector<Entry*> periodic;
  uint64_t next_order = 0;

  static uint64_t key_of(Entry* e) { return reinterpret_cast<uintptr_t>(e); }
  static Entry* entry_of(uint64_t k) { return reinterpret_cast<Entry*>(static_cast<uintptr_t>(k)); }

  // Whether `e` goes to the spatial index of its types (the same answer each time for one
  // definition, so that removal finds what insertion did).
  static bool spatial(const Entry* e) {
    return e->def->geo_q && ngsild::geo::search_boxes(*e->def->geo_q).prunes;
  }

  void index(Entry* e, bool add) {
    auto edit = [&](std::vector<Entry*>& v) {
      if (add) {
        if (std::find(v.begin(), v.end(), e) == v.end()) v.push_back(e);
      } else {
        v.erase(std::remove(v.begin(), v.end(), e), v.end());
      }
    };
    auto edit_geo = [&](Atom type) {
      auto& buckets = geo_by_type[type];
      auto it = std::find_if(buckets.begin(), buckets.end(), [&](const GeoBucket& b) {
        return b.property == e->def->geo_property;
      });
      if (add) {
        if (it == buckets.end()) it = buckets.insert(buckets.end(), {e->def->geo_property, {}});
        it->index.insert(key_of(e), *e->def->geo_q);
      } else if (it != buckets.end()) {
        it->index.remove(key_of(e));
        if (it->index.empty()) buckets.erase(it);
        if (buckets.empty()) geo_by_type.erase(type);
      }
    };
    if (e->def->periodic()) edit(periodic);
    const auto& selectors = e->def->entities;
    if (selectors.empty()) {
      if (e->def->watched_attributes.empty()) edit(others);
      for (Atom a : e->def->watched_attributes)
        edit(by_attribute[a]);
    }
    for (const auto& s : selectors) {
      if (s.id) {
        edit(by_entity_id[*s.id]);
      } else if (s.types && !s.types->any && !s.types->all_types().empty()) {
        for (Atom t : s.types->all_types()) {
          if (spatial(e))
            edit_geo(t);
          else
            edit(by_type[t]);
        }
      } else {
        edit(others);
      }
    }
  }
  void put(std::shared_ptr<Entry> e) {
    auto it = by_id.find(e->def->id);
    if (it != by_id.end()) {
      index(it->second.get(), false);
      e->order = it->second->order;
      e->state = it->second->state;
      it->second = e;
    } else {
      e->order = next_order++;
      by_id.emplace(e->def->id, e);
    }
    index(e.get(), true);
  }
  void erase(const std::string& id) {
    auto it = by_id.find(id);
    if (it == by_id.end()) return;
    index(it->second.get(), false);
    by_id.erase(it);
  }

  // Calls f(Entry*) for each subscription that may fire on the change from `before` to `after`
  // (either may be null), each once. Under the service's lock.
  template <class F>
  void for_each_candidate(const Entity* before, const Entity* after, F&& f) const {
    std::unordered_set<Entry*> seen;
    auto take = [&](Entry* e) {
      if (seen.insert(e).second) f(e);
    };
    auto take_all = [&](const std::vector<Entry*>& v) {
      for (Entry* e : v)
        take(e);
    };
    const Entity* any = after != nullptr ? after : before;
    if (auto it = by_entity_id.find(any->id); it != by_entity_id.end()) take_all(it->second);
    std::vector<uint64_t> keys;
    for (const Entity* e : {before, after}) {
      if (e == nullptr) continue;
      for (Atom type : e->types) {
        if (auto it = by_type.find(type); it != by_type.end()) take_all(it->second);
        auto geo = geo_by_type.find(type);
        if (geo == geo_by_type.end()) continue;
        for (const GeoBucket& b : geo->second) {
          auto g = ngsild::query::geometry_of(*e, b.property);
          if (!g) continue;  // no geometry: the geoQ cannot match this state
          keys.clear();
          b.index.candidates(*g, keys);
          for (uint64_t k : keys)
            take(entry_of(k));
        }
      }
      if (!by_attribute.empty()) {
        for (const ngsild::Attribute& a : e->attrs) {
          if (auto it = by_attribute.find(a.name); it != by_attribute.end()) take_all(it->second);
        }
      }
    }
    take_all(others);
  }
};

// The outbox's bookkeeping, shared with the tickets that messages hold (they may outlive the
// service inside Delivery).
struct SubscriptionService::Outbox {
  std::mutex mu;
  bool closed = false;
  // Records whose notifications all left their queues: (tenant, key), to be deleted.
  std::vector<std::pair<std::string, std::string>> settled;
  // Deleted by the group persist() last saw, until it is published (a group the store refuses
  // is never published: the next one deletes them again).
  std::vector<std::pair<std::string, std::string>> flushing;
  std::atomic<int64_t> last_persist_ms{0};
  int64_t last_seq = 0;  // the committing thread's
  // The records some ticket holds ("<tenant>\n<key>"), from before they are written until they
  // are settled; what a shutdown leaves held stays held.
  std::unordered_set<std::string> held;

  static std::string address(std::string_view tenant, std::string_view key) {
    std::string a;
    a.reserve(tenant.size() + 1 + key.size());
    a += tenant;
    a += '\n';
    a += key;
    return a;
  }
};

// One outbox record while anything of it may still notify: held by its changes until they are
// matched, then by the messages they caused. Its end settles the record, except at shutdown.
struct SubscriptionService::Ticket {
  std::shared_ptr<Outbox> outbox;
  std::string tenant, key;
  Ticket(std::shared_ptr<Outbox> o, std::string_view t, std::string_view k)
      : outbox(std::move(o)), tenant(t), key(k) {
    std::lock_guard lock(outbox->mu);
    outbox->held.insert(Outbox::address(tenant, key));
  }
  ~Ticket() {
    std::lock_guard lock(outbox->mu);
    if (outbox->closed) return;
    outbox->held.erase(Outbox::address(tenant, key));
    outbox->settled.emplace_back(std::move(tenant), std::move(key));
  }
};

// One change of a published group, kept for the matching thread.
struct SubscriptionService::Pending {
  std::string tenant;
  EntityPtr before, after;
  int64_t time = 0;
  std::shared_ptr<Ticket> ticket;  // when the change is in the outbox
  uint32_t index = 0;              // its place in the record
};

SubscriptionService::SubscriptionService(TenantRegistry& tenants,
                                         ngsild::jsonld::ContextCache& contexts, Delivery& delivery,
                                         Options options)
    : tenant_registry_(tenants),
      contexts_(contexts),
      delivery_(delivery),
      options_(options),
      outbox_(std::make_shared<Outbox>()) {
  matcher_ = std::thread([this] { match_loop(); });
  periodic_ = std::thread([this] { periodic_loop(); });
}

SubscriptionService::~SubscriptionService() {
  close();
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  periodic_cv_.notify_all();
  matcher_.join();
  periodic_.join();
}

ngsild::jsonld::ContextPtr SubscriptionService::context_for(const Subscription& s) {
  return notification_context(contexts_, s);
}

void SubscriptionService::close() {
  {
    std::lock_guard lock(outbox_->mu);
    if (outbox_->closed) return;
    outbox_->closed = true;
  }
  flush_settled(true);
}

void SubscriptionService::attach(Writer& writer) {
  writer_ = &writer;
  if (replay_.empty()) return;
  log::info("notifications_replayed", {{"changes", replay_.size()}});
  // In the order the records were written (their keys grow), whatever order the store gave.
  std::stable_sort(replay_.begin(), replay_.end(),
                   [](const auto& a, const auto& b) { return a->ticket->key < b->ticket->key; });
  {
    std::lock_guard lock(queue_mu_);
    for (auto& p : replay_)
      queue_.push_back(std::move(p));
  }
  replay_.clear();
  queue_cv_.notify_one();
}

std::function<bool(std::string_view, std::string_view)> SubscriptionService::outbox_settled()
    const {
  return [outbox = outbox_](std::string_view tenant, std::string_view key) {
    const std::string address = Outbox::address(tenant, key);
    std::lock_guard lock(outbox->mu);
    return outbox->held.count(address) == 0;
  };
}

Status SubscriptionService::load_outbox(std::string_view tenant, std::string_view key,
                                        std::string_view doc) {
  auto rec = decode_outbox(doc);
  if (!rec.ok()) {
    return Status::Internal("outbox record '" + std::string(key) + "' of tenant '" +
                            std::string(tenant) + "' cannot be read: " + rec.status().detail());
  }
  uint64_t seq = 0;
  if (std::from_chars(key.data(), key.data() + key.size(), seq, 16).ec == std::errc()) {
    outbox_->last_seq = std::max(outbox_->last_seq, static_cast<int64_t>(seq));
  }
  auto ticket = std::make_shared<Ticket>(outbox_, tenant, key);
  // Records come in key order, the order they were written.
  uint32_t index = 0;
  for (auto& [before, after] : rec->changes) {
    auto p = std::make_unique<Pending>();
    p->tenant = tenant;
    p->before = std::move(before);
    p->after = std::move(after);
    p->time = rec->time;
    p->ticket = ticket;
    p->index = index++;
    replay_.push_back(std::move(p));
  }
  return Status::Ok();
}

Status SubscriptionService::load(std::string_view tenant, std::string_view key,
                                 std::string_view doc) {
  auto stored = sub::decode_subscription(doc);
  if (!stored.ok()) {
    return Status::Internal("stored subscription '" + std::string(key) + "' of tenant '" +
                            std::string(tenant) + "' cannot be read: " + stored.status().detail());
  }
  auto e = std::make_shared<Entry>();
  auto def = std::make_shared<const Subscription>(std::move(stored->subscription));
  e->ctx = context_for(*def);
  e->def = def;
  e->key = record_key(tenant, key);
  e->state = stored->state;
  std::unique_lock lock(mu_);
  decided_[e->key] = def;
  auto& t = tenants_[std::string(tenant)];
  if (!t) t = std::make_unique<TenantSubs>();
  t->put(std::move(e));
  return Status::Ok();
}

void SubscriptionService::write(
    std::string tenant, std::string id,
    std::function<Result<std::shared_ptr<Subscription>>(const Subscription* current)> make,
    ngsild::jsonld::ContextPtr ctx, bool create_tenant, Done done) {
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
    std::unique_lock lock(mu_);
    auto& t = tenants_[tenant];
    if (!t) t = std::make_unique<TenantSubs>();
    const std::string key = record_key(tenant, id);
    if (next) {
      auto e = std::make_shared<Entry>();
      e->def = next;
      e->ctx = ctx ? ctx : contexts_.core();
      e->key = key;
      t->put(std::move(e));
    } else {
      t->erase(id);
      delivery_.forget(key);
    }
  };
  c.done = std::move(done);
  submit_record_change(*writer_, decided_, std::move(c));
}

void SubscriptionService::create(std::string tenant, Subscription s, ngsild::jsonld::ContextPtr ctx,
                                 Done done) {
  std::string id = s.id;
  write(std::move(tenant), id,
        creating(std::make_shared<Subscription>(std::move(s)), "subscription"), std::move(ctx),
        true, std::move(done));
}

void SubscriptionService::update(std::string tenant, std::string id,
                                 std::function<Status(Subscription&)> change,
                                 ngsild::jsonld::ContextPtr ctx, Done done) {
  // Notifications keep the context the subscription was created with unless the patch names one.
  if (!ctx) {
    if (auto v = retrieve(tenant, id); v.ok()) ctx = context_for(*v->def);
  }
  auto make = changing(id, std::move(change), "subscription");
  write(std::move(tenant), std::move(id), std::move(make), std::move(ctx), false, std::move(done));
}

void SubscriptionService::remove(std::string tenant, std::string id, Done done) {
  auto make = removing<Subscription>(id, "subscription");
  write(std::move(tenant), std::move(id), std::move(make), nullptr, false, std::move(done));
}

Result<SubscriptionService::View> SubscriptionService::retrieve(std::string_view tenant,
                                                                std::string_view id) const {
  std::shared_lock lock(mu_);
  auto t = tenants_.find(std::string(tenant));
  if (t != tenants_.end()) {
    auto it = t->second->by_id.find(std::string(id));
    if (it != t->second->by_id.end()) return View{it->second->def, it->second->state};
  }
  return Status::NotFound("subscription '" + std::string(id) + "' does not exist");
}

std::vector<SubscriptionService::View> SubscriptionService::list(std::string_view tenant) const {
  std::vector<std::pair<uint64_t, View>> found;
  {
    std::shared_lock lock(mu_);
    auto t = tenants_.find(std::string(tenant));
    if (t == tenants_.end()) return {};
    for (const auto& [id, e] : t->second->by_id)
      found.push_back({e->order, View{e->def, e->state}});
  }
  return in_creation_order(std::move(found));
}

size_t SubscriptionService::count() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [name, t] : tenants_)
    n += t->by_id.size();
  return n;
}

bool SubscriptionService::fires_any(const TenantSubs& t, const Entity* before, const Entity* after,
                                    int64_t time) {
  // The §5.11 predicate on the indexed candidates: a change that only meets subscriptions it
  // does not fire (another attribute, q false, paused) is not kept. Throttling is left to the
  // matching thread, so a kept change may still go unnotified.
  bool any = false;
  t.for_each_candidate(before, after, [&](Entry* e) {
    if (!any && sub::fires(*e->def, before, after, time)) any = true;
  });
  return any;
}

void SubscriptionService::persist(const std::vector<CommittedChange>& changes, int64_t time,
                                  store::WriteBatch& batch) {
  group_tickets_.assign(changes.size(), nullptr);
  std::vector<std::pair<std::string, std::string>> flushing;
  {
    std::lock_guard lock(outbox_->mu);
    // The last group that carried deletions was not published: its transaction did not happen.
    for (auto& r : outbox_->flushing)
      outbox_->settled.push_back(std::move(r));
    outbox_->flushing = std::move(outbox_->settled);
    outbox_->settled.clear();
    flushing = outbox_->flushing;
  }
  outbox_->last_persist_ms.store(steady_ms(), std::memory_order_relaxed);
  for (auto& [tenant, key] : flushing)
    batch.delete_record(std::string(kOutboxKind), tenant, key);
  if (!options_.durable || changes.empty()) return;
  // The changes some subscription may be watching, by tenant (a group rarely spans two).
  std::vector<std::pair<Tenant*, std::vector<size_t>>> kept;
  {
    std::shared_lock lock(mu_);
    if (tenants_.empty()) return;
    for (size_t i = 0; i < changes.size(); ++i) {
      const CommittedChange& c = changes[i];
      auto t = tenants_.find(c.tenant->name());
      if (t == tenants_.end()) continue;
      if (!fires_any(*t->second, c.change->before.get(), c.change->after.get(), time)) continue;
      auto it = std::find_if(kept.begin(), kept.end(),
                             [&](const auto& k) { return k.first == c.tenant; });
      if (it == kept.end()) it = kept.insert(kept.end(), {c.tenant, {}});
      it->second.push_back(i);
    }
  }
  if (kept.empty()) return;
  // Encoded before any is added: the views point into the batch's documents.
  const std::vector<std::string_view> afters = stored_afters(changes, batch);
  std::vector<std::pair<std::shared_ptr<Ticket>, std::string>> records;
  for (auto& [tenant, indexes] : kept) {
    std::vector<OutboxChange> group;
    group.reserve(indexes.size());
    std::vector<std::string> encoded;  // afters the batch did not hold (none, in practice)
    encoded.reserve(indexes.size());   // the views into it stay put
    for (size_t i : indexes) {
      const Change* c = changes[i].change;
      std::string_view after = afters[i];
      if (c->after && after.empty()) after = encoded.emplace_back(store::encode_entity(*c->after));
      group.push_back({c, after});
    }
    int64_t seq = std::max(outbox_->last_seq + 1, time);
    outbox_->last_seq = seq;
    auto ticket =
        std::make_shared<Ticket>(outbox_, tenant->name(), hex16(static_cast<uint64_t>(seq)));
    records.emplace_back(ticket, encode_outbox(time, group));
    for (size_t i : indexes)
      group_tickets_[i] = ticket;
  }
  for (auto& [ticket, doc] : records)
    batch.put_record(std::string(kOutboxKind), ticket->tenant, ticket->key, std::move(doc));
}

void SubscriptionService::published(const std::vector<CommittedChange>& changes, int64_t time) {
  std::vector<std::shared_ptr<Ticket>> tickets;
  tickets.swap(group_tickets_);
  {
    std::lock_guard lock(outbox_->mu);
    outbox_->flushing.clear();  // deleted for good
  }
  if (changes.empty()) return;
  {
    std::shared_lock lock(mu_);
    if (tenants_.empty()) return;  // no subscription was ever made: nothing to match
  }
  std::vector<std::unique_ptr<Pending>> batch;
  batch.reserve(changes.size());
  std::unordered_map<const Ticket*, uint32_t> next_index;
  for (size_t i = 0; i < changes.size(); ++i) {
    const CommittedChange& c = changes[i];
    auto p = std::make_unique<Pending>();
    p->tenant = c.tenant->name();
    p->before = c.change->before;
    p->after = c.change->after;
    p->time = time;
    if (i < tickets.size() && tickets[i]) {
      p->index = next_index[tickets[i].get()]++;
      p->ticket = std::move(tickets[i]);
    }
    batch.push_back(std::move(p));
  }
  {
    std::lock_guard lock(queue_mu_);
    for (auto& p : batch)
      queue_.push_back(std::move(p));
  }
  queue_cv_.notify_one();
}

void SubscriptionService::match_loop() {
  while (true) {
    std::deque<std::unique_ptr<Pending>> work;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      work.swap(queue_);
    }
    for (const auto& p : work)
      match(*p);
  }
}

ngsild::query::RestrictionPtr SubscriptionService::restriction_of(const std::string& tenant,
                                                                  const Subscription& s) const {
  if (s.role.empty()) return nullptr;
  static const auto kNothing = std::make_shared<const ngsild::query::Restriction>();
  auto r = roles_ ? roles_(tenant, s.role) : nullptr;
  return r ? r : kNothing;
}

void SubscriptionService::match(const Pending& p) {
  // Candidates under the shared lock; each Entry stays alive through its shared_ptr.
  std::vector<std::shared_ptr<Entry>> candidates;
  {
    std::shared_lock lock(mu_);
    auto t = tenants_.find(p.tenant);
    if (t == tenants_.end()) return;
    const TenantSubs& subs = *t->second;
    subs.for_each_candidate(p.before.get(), p.after.get(),
                            [&](Entry* e) { candidates.push_back(subs.by_id.at(e->def->id)); });
  }
  for (const auto& e : candidates) {
    const Subscription& s = *e->def;
    // The matcher may run behind the writes: a subscription made after the change was committed
    // (asked for once its 201 was out, say) does not hear of it.
    if (s.created_at != kNoTime && s.created_at > p.time) continue;
    auto firing = sub::fires(s, p.before.get(), p.after.get(), p.time);
    if (!firing) continue;
    // A subscription made with a role hears only of what the role may read now: the entity as
    // it is after the change (before it, for a deletion).
    if (auto r = restriction_of(p.tenant, s); r && !r->can_read(p.after ? *p.after : *p.before))
      continue;
    if (s.throttling_s && e->last_queued != kNoTime &&
        p.time - e->last_queued < static_cast<int64_t>(*s.throttling_s * 1e6)) {
      continue;  // within the throttling period: not notified (docs/subscriptions.md)
    }
    e->last_queued = p.time;
    // A change kept in the outbox gives the same id each time it is matched.
    std::string id;
    if (p.ticket) {
      id = "urn:ngsi-ld:Notification:" + p.ticket->key + "-" + std::to_string(p.index) + "-" +
           hex16(fnv1a(s.id));
    }
    if (!p.after) {
      // Under attributeDeleted, the attributes it fired for are shown deleted.
      std::vector<Atom> names;
      if (firing->trigger == sub::Trigger::kAttributeDeleted) names = firing->attributes;
      notify(p.tenant, *e, {}, p.before.get(), nullptr, p.time, std::move(id), p.ticket, names);
      continue;
    }
    std::optional<Entity> shown;
    if (p.before) shown = sub::with_deleted_attributes(*p.before, *p.after, firing->attributes);
    notify(p.tenant, *e, {shown ? &*shown : p.after.get()}, nullptr, p.before.get(), p.time,
           std::move(id), p.ticket);
  }
}

void SubscriptionService::periodic_loop() {
  std::unique_lock lock(queue_mu_);
  while (!stopping_) {
    int64_t now = now_us();
    int64_t next = now + 1'000'000;  // looks again within a second for new subscriptions
    std::vector<std::pair<std::string, std::shared_ptr<Entry>>> due;
    {
      std::shared_lock subs(mu_);
      for (const auto& [tenant, t] : tenants_) {
        for (Entry* e : t->periodic) {
          if (e->next_due == kNoTime) e->next_due = now;  // the first one at once
          if (e->next_due <= now) {
            due.emplace_back(tenant, t->by_id.at(e->def->id));
          } else {
            next = std::min(next, e->next_due);
          }
        }
      }
    }
    lock.unlock();
    flush_settled(false);
    for (auto& [tenant, e] : due) {
      e->next_due = now + static_cast<int64_t>(*e->def->time_interval_s * 1e6);
      next = std::min(next, e->next_due);
      if (sub::status_of(*e->def, now) == sub::SubscriptionStatus::kActive) {
        notify_periodic(tenant, *e, now);
      }
    }
    lock.lock();
    periodic_cv_.wait_for(lock, std::chrono::microseconds(std::max<int64_t>(next - now_us(), 1000)),
                          [&] { return stopping_; });
  }
}

void SubscriptionService::notify_periodic(const std::string& tenant, Entry& e, int64_t now) {
  Tenant* t = tenant_registry_.find(tenant);
  if (t == nullptr) return;
  const Subscription& s = *e.def;
  ngsild::query::EntityQuery q;
  q.selectors = s.entities;
  q.q = s.q;
  q.geo = s.geo_q;
  q.geo_property = s.geo_property;
  q.scope = s.scope_q;
  q.restriction = restriction_of(tenant, s);
  q.limit = kMaxPeriodicEntities;
  QueryResult r = QueryEngine::run(*t, q);
  if (r.entities.empty()) return;  // nothing to report this time
  std::vector<const Entity*> data;
  for (const auto& entity : r.entities)
    data.push_back(entity.get());
  notify(tenant, e, data, nullptr, nullptr, now);
}

void SubscriptionService::notify(const std::string& tenant, const Entry& e,
                                 const std::vector<const Entity*>& data, const Entity* deleted,
                                 const Entity* before, int64_t now, std::string id,
                                 std::shared_ptr<void> receipt,
                                 const std::vector<Atom>& deleted_names) {
  const Subscription& s = *e.def;
  const std::string& accept = s.notification.endpoint.effective_accept();
  const bool geojson = accept == "application/geo+json";
  const bool ld = accept == "application/ld+json";
  ngsild::RenderOptions o = sub::notification_render_options(s, e.ctx.get());
  o.deleted_at = now;  // for the deleted instances it shows, with sysAttrs
  if (sub::shows_changes(s)) o.previous = deleted != nullptr ? deleted : before;
  if (o.join != ngsild::Join::kNone) {
    // Linked entities as the tenant holds them now, as a query would find them (§4.5.23).
    if (const Tenant* t = tenant_registry_.find(tenant))
      EntityService::prepare_join(*t, o, restriction_of(tenant, s));
    else
      o.join = ngsild::Join::kNone;
  }
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("id");
  w.string(id.empty() ? notification_id() : id);
  w.key("type");
  w.string("Notification");
  w.key("subscriptionId");
  w.string(s.id);
  w.key("notifiedAt");
  w.string(format_datetime(now));
  w.key("data");
  if (deleted != nullptr) {
    // What identifies the entity and when it went (§5.11), in an array whatever the Accept.
    o.with_context = ld;
    w.begin_array();
    ngsild::render_deleted_entity(*deleted, now, o, w, deleted_names);
    w.end_array();
  } else if (geojson) {
    w.begin_object();
    w.key("type");
    w.string("FeatureCollection");
    w.key("features");
    w.begin_array();
    for (const Entity* entity : data)
      ngsild::render_feature(*entity, o, e.ctx->lookup("location"), w);
    w.end_array();
    w.key("@context");
    w.raw(e.ctx->body_json());
    w.end_object();
  } else {
    // application/ld+json: each entity carries the @context, as in a query's response.
    o.with_context = ld;
    w.begin_array();
    for (const Entity* entity : data)
      ngsild::render_entity(*entity, o, w);
    ngsild::render_flat_linked(data, o, w);
    w.end_array();
  }
  w.end_object();
  if (o.join_budget && o.join_budget->exhausted) {
    log::warn("notification_join_incomplete",
              {{"subscription", s.id}, {"detail", "more linked entities than one body may hold"}});
  }

  Delivery::Message m = notification_message(s, *e.ctx, tenant, std::move(body));
  m.receipt = std::move(receipt);
  delivery_.enqueue(e.key, std::move(m));
}

void SubscriptionService::with_state(const std::string& key,
                                     const std::function<void(sub::SubscriptionState&)>& f) {
  size_t nl = key.find('\n');
  std::string tenant = key.substr(0, nl), id = key.substr(nl + 1);
  std::unique_lock lock(mu_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return;
  auto it = t->second->by_id.find(id);
  if (it != t->second->by_id.end()) f(it->second->state);
}

void SubscriptionService::attempt(const std::string& key) {
  int64_t now = now_us();
  // Every attempt counts as a notification sent, as it leaves; a retry is another attempt.
  with_state(key, [now](sub::SubscriptionState& st) { st.attempted(now); });
}

void SubscriptionService::flush_settled(bool now) {
  // Held while submitting, so that once close() returned no flush reaches the writer.
  std::lock_guard flushing(flush_mu_);
  if (writer_ == nullptr) return;
  std::string tenant;
  {
    std::lock_guard lock(outbox_->mu);
    if (outbox_->closed && !now) return;
    if (outbox_->settled.empty()) return;
    tenant = outbox_->settled.front().first;
  }
  if (!now && steady_ms() - outbox_->last_persist_ms.load(std::memory_order_relaxed) < 1000) {
    return;
  }
  // A group with no change: persist() adds the deletions to it.
  auto req = std::make_unique<WriteRequest>();
  req->tenant = std::move(tenant);
  RecordWork w;
  w.decide = [](store::WriteBatch&) { return Status::Ok(); };
  w.finished = [](const Status&) {};
  req->records = std::move(w);
  req->done = [](WriteRequest&) {};
  outbox_->last_persist_ms.store(steady_ms(), std::memory_order_relaxed);
  writer_->submit(std::move(req));
}

void SubscriptionService::report(const std::string& key, const Delivery::Result& r, bool final) {
  int64_t now = now_us();
  bool known = false;
  with_state(key, [&](sub::SubscriptionState& st) {
    known = true;
    st.ended(r.ok, now);
  });
  if (known && !r.ok && final) {
    log::warn("notification_failed",
              {{"subscription", key.substr(key.find('\n') + 1)}, {"detail", r.error}});
  }
}

}  // namespace tsunagu::engine
