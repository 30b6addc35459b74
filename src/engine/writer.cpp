#include "engine/writer.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <string_view>

#include "common/flat_hash_map.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/time.hpp"
#include "store/codec/entity_codec.hpp"

namespace tsunagu::engine {
namespace {

metrics::Histogram& commit_latency() {
  static metrics::Histogram& h =
      metrics::registry()
          .histogram("tsunagu_store_commit_seconds",
                     "Time to make one group of changes durable in the store", {})
          .with({});
  return h;
}

metrics::Counter& commits_total() {
  static metrics::Counter& c =
      metrics::registry()
          .counter("tsunagu_store_commits_total", "Transactions committed by the writer", {})
          .with({});
  return c;
}

metrics::Counter& changes_total() {
  static metrics::Counter& c =
      metrics::registry()
          .counter("tsunagu_store_changes_total",
                   "Entity changes committed (divide by commits for the group-commit size)", {})
          .with({});
  return c;
}

// Set on a thread that calls commit_pending(): an event loop, which commits what it submitted
// once it has no other work.
thread_local bool t_event_loop = false;

}  // namespace

Writer::Writer(store::Store& store, TenantRegistry& tenants, Options options)
    : store_(store), tenants_(tenants), options_(options) {}

Writer::~Writer() {
  stop();
}

void Writer::start() {
  if (options_.committer == Committer::kEventLoops) return;
  thread_ = std::thread([this] {
    // SCHED_BATCH: a woken commit thread does not preempt the event loop that woke it. When
    // both share a core, requests then pile up while the loop reads them, and the commit
    // thread takes them as one group once the loop waits, instead of bouncing between the two
    // threads once per request.
    sched_param param{};
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
    pthread_setname_np(pthread_self(), "tsunagu-commit");
    run();
  });
}

void Writer::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable() && queue_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (options_.committer == Committer::kEventLoops) {
    // Whatever the loops left queued (they have normally stopped by now) is committed here,
    // after a commit still running on another thread.
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !committing_; });
        if (queue_.empty()) return;
      }
      commit_one_group();
    }
  }
}

void Writer::submit(std::unique_ptr<WriteRequest> request) {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      first = queue_.empty();
      queue_.push_back(std::move(request));
      queued_.store(queue_.size(), std::memory_order_relaxed);
      request = nullptr;
    }
  }
  if (request) {  // shutting down: refuse rather than lose silently
    for (auto& c : request->changes) {
      c.status = Status(ErrorKind::kServiceUnavailable, "the server is shutting down");
    }
    request->done(*request);
    return;
  }
  if (options_.committer == Committer::kOwnThread) {
    cv_.notify_one();
  } else if (!t_event_loop) {
    // Not a loop that will come back to commit_pending(): commit now. When another thread is
    // committing, it takes this request with its next group (a committer always looks at the
    // queue again after a group).
    while (commit_one_group()) {
    }
  } else if (first && options_.wake_loop) {
    options_.wake_loop();
  }
}

bool Writer::commit_pending() {
  t_event_loop = true;
  // Usually nothing is queued: that answer needs no lock. A request this thread submitted is
  // seen (same thread); one queued by another thread while this one committed is seen too,
  // since both went through mu_.
  if (queued_.load(std::memory_order_relaxed) == 0) return false;
  return commit_one_group();
}

void Writer::take_group(Group& group) {
  size_t changes = 0;
  while (!queue_.empty() && changes < options_.max_group_changes) {
    changes += queue_.front()->changes.size();
    group.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_.store(queue_.size(), std::memory_order_relaxed);
}

bool Writer::commit_one_group() {
  Group group;
  {
    std::lock_guard lock(mu_);
    if (committing_ || queue_.empty()) return false;
    committing_ = true;
    take_group(group);
  }
  // Released however commit() ends: an exception (a bug, or memory exhausted) reaches the
  // event loop, which logs it and goes on, and must not leave every later write waiting.
  struct Release {
    Writer& w;
    ~Release() {
      bool left = false;
      {
        std::lock_guard lock(w.mu_);
        w.committing_ = false;
        left = !w.queue_.empty();
      }
      w.cv_.notify_all();  // stop() may be waiting for this commit
      // Requests that came while this loop committed (another loop's, which found it busy)
      // are this loop's to commit next, even if it stays busy.
      if (left && t_event_loop && w.options_.wake_loop) w.options_.wake_loop();
    }
  } release{*this};
  commit(group);
  return true;
}

void Writer::run() {
  Group group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      take_group(group);
    }
    commit(group);
    group.clear();
  }
}

// New states decided in a group, so later changes to the same entity build on them: each
// entity's latest state, in the order of its first change, and where to find it by key. A key's
// id views the Change's, which lives as long as the group.
struct Writer::Decided {
  struct Key {
    Tenant* tenant = nullptr;
    std::string_view id;
    bool operator==(const Key& o) const { return tenant == o.tenant && id == o.id; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string_view>()(k.id) ^ std::hash<const void*>()(k.tenant);
    }
  };
  int64_t now = 0;
  store::WriteBatch batch;
  std::vector<std::pair<Key, EntityPtr>> states;
  FlatHashMap<Key, size_t, KeyHash> overlay;  // key -> index in states
  std::vector<CommittedChange> applied;       // in commit order
  std::vector<Tenant*> new_tenants;           // to be stored by this group
  std::vector<RecordWork*> records;           // decided without an error, in request order
  // Per tenant, entities created minus entities deleted by the group so far (for quotas).
  std::vector<std::pair<Tenant*, int64_t>> created;
  int64_t& created_in(Tenant* t) {
    for (auto& [tenant, n] : created) {
      if (tenant == t) return n;
    }
    return created.emplace_back(t, 0).second;
  }
};

void Writer::commit(Group& group) {
  Decided d;
  d.now = now_us();
  decide(group, d);
  for (ChangeListener* l : options_.listeners)
    l->persist(d.applied, d.now, d.batch);
  Status st = persist(d);
  for (RecordWork* r : d.records) {
    if (!st.ok()) r->status = Status::Internal("the change could not be stored: " + st.detail());
    r->finished(r->status);
  }
  if (st.ok()) {
    publish(d);
    for (ChangeListener* l : options_.listeners)
      l->published(d.applied, d.now);
  } else {
    log::error("store_commit_failed", {{"detail", st.detail()}, {"changes", d.applied.size()}});
    for (const CommittedChange& c : d.applied) {
      Change* change = const_cast<Change*>(c.change);  // the group's own, lent to the feed
      change->status = Status::Internal("the change could not be stored: " + st.detail());
      change->after = change->before;
    }
    // Tenants created in memory for this group stay (harmless and empty) and unpersisted, so
    // the next group that writes to them stores them.
  }
  for (auto& req : group)
    req->done(*req);
}

void Writer::decide(Group& group, Decided& d) {
  for (auto& req : group) {
    Tenant* tenant = tenants_.find(req->tenant);
    if (tenant == nullptr && req->create_tenant) {
      bool created = false;
      tenant = tenants_.get_or_create(req->tenant, created);
    }
    // A tenant is stored with the first group that commits a write to it (also when an earlier
    // group that created it in memory failed to commit).
    if (tenant != nullptr && !tenant->persisted() && (!req->changes.empty() || req->records) &&
        std::find(d.new_tenants.begin(), d.new_tenants.end(), tenant) == d.new_tenants.end()) {
      d.batch.create_tenant(req->tenant);
      d.new_tenants.push_back(tenant);
    }
    for (auto& c : req->changes) {
      if (tenant == nullptr) {
        c.status =
            Status(ErrorKind::kNonexistentTenant, "tenant '" + req->tenant + "' does not exist");
        continue;
      }
      Decided::Key key{tenant, c.id};
      auto it = d.overlay.find(key);
      EntityPtr before = it != d.overlay.end() ? d.states[it->second].second : tenant->get(c.id);
      auto result = c.apply(before.get(), d.now);
      if (!result.ok()) {
        c.status = std::move(result).status();
        continue;
      }
      std::shared_ptr<ngsild::Entity> after = std::move(*result);
      if (after && after->attrs.size() > options_.max_entity_attributes) {
        c.status = Status::BadRequestData(
            "entity '" + c.id + "' would hold " + std::to_string(after->attrs.size()) +
            " attribute instances; the limit is " + std::to_string(options_.max_entity_attributes) +
            " (--max-entity-attributes)");
        continue;
      }
      if (after && !before && options_.max_entities) {
        const uint64_t quota = options_.max_entities(req->tenant);
        int64_t& created = d.created_in(tenant);
        if (quota > 0 &&
            static_cast<int64_t>(tenant->size()) + created >= static_cast<int64_t>(quota)) {
          c.status =
              Status(ErrorKind::kForbidden,
                     "entity '" + c.id + "' was not created: the tenant holds its quota of " +
                         std::to_string(quota) + " entities");
          continue;
        }
        ++created;
      } else if (before && !after && options_.max_entities) {
        --d.created_in(tenant);
      }
      c.before = before;
      c.after = after;
      // An entity keeps its store row for life; a new one gets the next.
      if (after) {
        after->shrink_to_fit();
        if (before) {
          after->row = before->row;
          d.batch.update_entity(after->row, store::encode_entity(*after));
        } else {
          after->row = next_row_++;
          d.batch.insert_entity(after->row, req->tenant, after->id, store::encode_entity(*after));
        }
      } else if (before) {
        d.batch.delete_entity(before->row);
      }
      if (it != d.overlay.end()) {
        d.states[it->second].second = after;
      } else {
        d.overlay.try_emplace(key, d.states.size());
        d.states.emplace_back(key, after);
      }
      d.applied.push_back({tenant, &c});
    }
    if (req->records) {
      RecordWork& r = *req->records;
      r.status = tenant != nullptr ? r.decide(d.batch)
                                   : Status(ErrorKind::kNonexistentTenant,
                                            "tenant '" + req->tenant + "' does not exist");
      if (r.status.ok()) d.records.push_back(&r);
    }
  }
}

Status Writer::persist(Decided& d) {
  auto t0 = std::chrono::steady_clock::now();
  Status st = store_.apply(std::move(d.batch));
  auto t1 = std::chrono::steady_clock::now();
  if (!d.applied.empty()) {
    commit_latency().observe(std::chrono::duration<double>(t1 - t0).count());
    if (st.ok()) {
      commits_total().inc();
      changes_total().inc(d.applied.size());
    }
  }
  return st;
}

void Writer::publish(Decided& d) {
  for (Tenant* t : d.new_tenants)
    t->set_persisted();
  // In request order (new entities take their place in creation order); the last state of each
  // entity wins.
  for (const auto& [key, state] : d.states) {
    if (state)
      key.tenant->put(state);
    else
      key.tenant->erase(key.id);
  }
}

}  // namespace tsunagu::engine
