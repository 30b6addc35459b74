// GCC 12 inlines Value's destructor into these tests and misreads a scalar Value's union as a
// heap pointer (-Wfree-nonheap-object false positive; Value frees only string and JSON texts).
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

#include "engine/writer.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "engine/loader.hpp"
#include "store/codec/entity_codec.hpp"

namespace tsunagu::ngsild {
// Lets GoogleTest print a Value as its JSON text and an AttrKind by name.
inline void PrintTo(const Value& v, std::ostream* os) {
  *os << v.to_json();
}
inline void PrintTo(AttrKind k, std::ostream* os) {
  *os << kind_name(k);
}
}  // namespace tsunagu::ngsild

namespace tsunagu::engine {
namespace {

namespace fs = std::filesystem;
using ngsild::Attribute;
using ngsild::Entity;
using ngsild::Value;

Atom type_t() {
  return Atom::intern("https://example.org/T");
}
Atom attr_n() {
  return Atom::intern("https://example.org/n");
}

// An entity `id` whose attribute n holds `n`.
std::shared_ptr<Entity> entity(const std::string& id, int64_t n, int64_t now) {
  auto e = std::make_shared<Entity>();
  e->id = id;
  e->types = {type_t()};
  e->created_at = now;
  e->modified_at = now;
  Attribute a;
  a.name = attr_n();
  a.value = Value::integer(n);
  a.created_at = now;
  a.modified_at = now;
  e->attrs.push_back(std::move(a));
  return e;
}

int64_t n_of(const Entity& e) {
  return e.find(attr_n())->value.as_int();
}

Change put(std::string id, int64_t n) {
  Change c;
  c.id = id;
  c.apply = [id, n](const Entity*, int64_t now) -> Result<std::shared_ptr<Entity>> {
    return entity(id, n, now);
  };
  return c;
}

// n := n + 1 (1 when the entity is absent).
Change increment(std::string id) {
  Change c;
  c.id = id;
  c.apply = [id](const Entity* cur, int64_t now) -> Result<std::shared_ptr<Entity>> {
    return entity(id, cur ? n_of(*cur) + 1 : 1, now);
  };
  return c;
}

Change failing(std::string id) {
  Change c;
  c.id = id;
  c.apply = [](const Entity*, int64_t) -> Result<std::shared_ptr<Entity>> {
    return Status::BadRequestData("refused by the test");
  };
  return c;
}

Change remove(std::string id) {
  Change c;
  c.id = id;
  c.apply = [](const Entity*, int64_t) -> Result<std::shared_ptr<Entity>> {
    return std::shared_ptr<Entity>();
  };
  return c;
}

// Counts completed requests and keeps a copy of each change's status, by request tag.
class Completions {
 public:
  std::function<void(WriteRequest&)> done(std::string tag) {
    return [this, tag](WriteRequest& r) {
      std::lock_guard lock(mu_);
      auto& v = statuses_[tag];
      for (auto& c : r.changes)
        v.push_back(c.status);
      after_[tag].clear();
      for (auto& c : r.changes)
        after_[tag].push_back(c.after);
      ++count_;
      cv_.notify_all();
    };
  }
  void wait_for(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return count_ >= n; });
  }
  std::vector<Status> statuses(const std::string& tag) {
    std::lock_guard lock(mu_);
    return statuses_[tag];
  }
  std::vector<EntityPtr> after(const std::string& tag) {
    std::lock_guard lock(mu_);
    return after_[tag];
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t count_ = 0;
  std::map<std::string, std::vector<Status>> statuses_;
  std::map<std::string, std::vector<EntityPtr>> after_;
};

// Runs a statement on a second connection to the store's database file.
void sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &msg);
  EXPECT_EQ(rc, SQLITE_OK) << (msg ? msg : "") << " in " << statement;
  sqlite3_free(msg);
  sqlite3_close(db);
}

// Records what a store holds.
class Recorder : public store::LoadVisitor {
 public:
  Status tenant(std::string_view name) override {
    tenants.emplace(name);
    return Status::Ok();
  }
  Status entity(uint64_t, std::string_view tenant, std::string_view id, std::string_view) override {
    entities.emplace(std::string(tenant), std::string(id));
    return Status::Ok();
  }
  Status record(std::string_view kind, std::string_view, std::string_view key,
                std::string_view) override {
    records.emplace(std::string(kind) + ":" + std::string(key));
    return Status::Ok();
  }
  std::set<std::string> tenants;
  std::set<std::pair<std::string, std::string>> entities;
  std::set<std::string> records;
};

// The change feed as a listener sees it: every published change, and what the persist moment
// added to each batch.
class FeedRecorder : public ChangeListener {
 public:
  struct Record {
    std::string tenant, id;
    EntityPtr before, after;
  };
  void persist(const std::vector<CommittedChange>& changes, int64_t,
               store::WriteBatch& batch) override {
    std::lock_guard lock(mu);
    ++persisted_groups;
    // Stored with the group, or not at all: a tenant named after the group's first change.
    if (add_tenants && !changes.empty()) batch.create_tenant("feed:" + changes[0].change->id);
  }
  void published(const std::vector<CommittedChange>& changes, int64_t) override {
    std::lock_guard lock(mu);
    ++published_groups;
    for (const CommittedChange& c : changes) {
      EXPECT_TRUE(c.change->status.ok()) << c.change->status.detail();
      records.push_back({c.tenant->name(), c.change->id, c.change->before, c.change->after});
    }
  }
  std::vector<Record> snapshot() {
    std::lock_guard lock(mu);
    return records;
  }
  std::mutex mu;
  std::vector<Record> records;
  size_t persisted_groups = 0, published_groups = 0;
  bool add_tenants = false;
};

// Runs every test with each committer. With kEventLoops the test thread plays an event loop: its
// submits wait for commit_pending(), which start() and wait_for() call.
class WriterTest : public ::testing::TestWithParam<Writer::Committer> {
 protected:
  bool loops() const { return GetParam() == Writer::Committer::kEventLoops; }

  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-writer-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (fs::path(dir_) / "test.db").string();
    auto s = store::open_sqlite({path_, store::SyncMode::kNormal});
    ASSERT_TRUE(s.ok()) << s.status().detail();
    store_ = std::move(*s);
    Writer::Options options;
    options.committer = GetParam();
    options.listeners = {&feed_};
    options.max_entities = [this](std::string_view tenant) -> uint64_t {
      return tenant == "limited" ? quota_.load() : 0;
    };
    writer_ = std::make_unique<Writer>(*store_, tenants_, options);
    if (loops()) {
      EXPECT_FALSE(writer_->commit_pending());  // nothing queued yet
    }
  }

  void start() {
    writer_->start();
    if (loops()) {
      while (writer_->commit_pending()) {
      }
    }
  }

  void wait_for(size_t n) {
    if (loops()) {
      while (completions_.count() < n) {
        if (!writer_->commit_pending()) std::this_thread::yield();
      }
    }
    completions_.wait_for(n);
  }

  void TearDown() override {
    writer_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void submit(std::string tenant, std::vector<Change> changes, std::string tag,
              bool create_tenant = true) {
    auto r = std::make_unique<WriteRequest>();
    r->tenant = std::move(tenant);
    r->create_tenant = create_tenant;
    r->changes = std::move(changes);
    r->done = completions_.done(std::move(tag));
    writer_->submit(std::move(r));
  }

  // Stops the writer, reopens the database and loads it into a fresh registry.
  void reload(TenantRegistry& into) {
    writer_->stop();
    store_.reset();
    auto s = store::open_sqlite({path_, store::SyncMode::kNormal});
    ASSERT_TRUE(s.ok()) << s.status().detail();
    store_ = std::move(*s);
    auto stats = load_state(*store_, into);
    ASSERT_TRUE(stats.ok()) << stats.status().detail();
  }

  // Every entity of every tenant, as stored documents, for comparing two registries.
  static std::map<std::pair<std::string, std::string>, std::string> snapshot(TenantRegistry& r) {
    std::map<std::pair<std::string, std::string>, std::string> out;
    for (Tenant* t : r.all()) {
      t->for_each([&](const EntityPtr& e) { out[{t->name(), e->id}] = store::encode_entity(*e); });
    }
    return out;
  }

  std::string dir_, path_;
  std::unique_ptr<store::Store> store_;
  TenantRegistry tenants_;
  FeedRecorder feed_;  // declared before the writer, which must not outlive it
  std::unique_ptr<Writer> writer_;
  Completions completions_;
  std::atomic<uint64_t> quota_{0};  // entities of tenant "limited"
};

TEST_P(WriterTest, AnEntityQuotaRefusesCreationsPastItCountingTheGroup) {
  quota_ = 2;
  start();
  std::vector<Change> first;
  first.push_back(put("urn:a", 1));
  first.push_back(put("urn:b", 1));
  first.push_back(put("urn:c", 1));  // the third: over the quota
  first.push_back(put("urn:a", 2));  // a change of one that exists: not a creation
  submit("limited", std::move(first), "first");
  wait_for(1);
  auto st = completions_.statuses("first");
  ASSERT_EQ(st.size(), 4u);
  EXPECT_TRUE(st[0].ok() && st[1].ok() && st[3].ok());
  EXPECT_EQ(st[2].kind(), ErrorKind::kForbidden);
  EXPECT_NE(st[2].detail().find("quota of 2 entities"), std::string::npos) << st[2].detail();
  // A deletion earlier in the group makes room for a creation after it.
  std::vector<Change> second;
  second.push_back(remove("urn:a"));
  second.push_back(put("urn:d", 1));
  second.push_back(put("urn:e", 1));
  submit("limited", std::move(second), "second");
  // Other tenants have no quota.
  std::vector<Change> other;
  for (const char* id : {"urn:a", "urn:b", "urn:c"})
    other.push_back(put(id, 1));
  submit("", std::move(other), "other");
  wait_for(3);
  st = completions_.statuses("second");
  EXPECT_TRUE(st[0].ok() && st[1].ok());
  EXPECT_EQ(st[2].kind(), ErrorKind::kForbidden);
  for (const Status& o : completions_.statuses("other"))
    EXPECT_TRUE(o.ok()) << o.detail();
  Tenant* t = tenants_.find("limited");
  EXPECT_EQ(t->size(), 2u);
  EXPECT_NE(t->get("urn:b"), nullptr);
  EXPECT_NE(t->get("urn:d"), nullptr);
  // A larger quota takes effect with the next write.
  quota_ = 3;
  std::vector<Change> third;
  third.push_back(put("urn:e", 1));
  submit("limited", std::move(third), "third");
  wait_for(4);
  EXPECT_TRUE(completions_.statuses("third")[0].ok());
}

TEST_P(WriterTest, ManyThreadsAllComplete) {
  start();
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string tenant = t % 2 ? "odd" : "";
        std::string id = "urn:e:" + std::to_string(t) + ":" + std::to_string(i);
        std::vector<Change> changes;
        changes.push_back(put(id, i));
        changes.push_back(increment("urn:shared:" + std::to_string(t)));
        submit(tenant, std::move(changes), "t" + std::to_string(t) + ":" + std::to_string(i));
      }
    });
  }
  for (auto& th : threads)
    th.join();
  wait_for(kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      for (const Status& st :
           completions_.statuses("t" + std::to_string(t) + ":" + std::to_string(i))) {
        ASSERT_TRUE(st.ok()) << st.detail();
      }
    }
  }
  Tenant* even = tenants_.find("");
  Tenant* odd = tenants_.find("odd");
  ASSERT_NE(even, nullptr);
  ASSERT_NE(odd, nullptr);
  EXPECT_EQ(even->size(), size_t{kThreads / 2 * (kPerThread + 1)});
  EXPECT_EQ(odd->size(), size_t{kThreads / 2 * (kPerThread + 1)});
  for (int t = 0; t < kThreads; ++t) {
    Tenant* tenant = t % 2 ? odd : even;
    EntityPtr shared = tenant->get("urn:shared:" + std::to_string(t));
    ASSERT_NE(shared, nullptr);
    EXPECT_EQ(n_of(*shared), kPerThread);  // every increment saw the one before
    EXPECT_EQ(n_of(*tenant->get("urn:e:" + std::to_string(t) + ":7")), 7);
  }
  auto before = snapshot(tenants_);
  TenantRegistry loaded;
  reload(loaded);
  EXPECT_EQ(snapshot(loaded), before);
}

// Issue 15, item 1: the change feed. A listener sees every committed change exactly once, in
// commit order (each entity's records chain: a record's `before` is the previous one's `after`),
// and nothing of a change that failed.
TEST_P(WriterTest, TheChangeFeedSeesEveryCommittedChangeOnceInCommitOrder) {
  start();
  constexpr int kThreads = 4, kPerThread = 150;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<Change> changes;
        changes.push_back(increment("urn:shared"));
        changes.push_back(increment("urn:shared"));
        changes.push_back(failing("urn:never"));
        changes.push_back(put("urn:e:" + std::to_string(t) + ":" + std::to_string(i % 10), i));
        if (i % 10 == 9) changes.push_back(remove("urn:e:" + std::to_string(t) + ":3"));
        submit(t % 2 ? "odd" : "", std::move(changes), "t" + std::to_string(t));
      }
    });
  }
  for (auto& th : threads)
    th.join();
  wait_for(kThreads * kPerThread);
  const auto records = feed_.snapshot();
  // Every change but the failing one: 3 per request, 1 more every 10th.
  EXPECT_EQ(records.size(), size_t{kThreads * kPerThread * 3 + kThreads * kPerThread / 10});
  std::map<std::pair<std::string, std::string>, EntityPtr> last;
  for (const auto& r : records) {
    EXPECT_NE(r.id, "urn:never");
    auto [it, first] = last.try_emplace({r.tenant, r.id}, nullptr);
    EXPECT_EQ(r.before, it->second) << r.tenant << " " << r.id << " out of order";
    it->second = r.after;
  }
  for (const auto& [key, state] : last) {
    EXPECT_EQ(tenants_.find(key.first)->get(key.second), state) << key.second;
  }
  EXPECT_EQ(n_of(*tenants_.find("")->get("urn:shared")), kThreads / 2 * kPerThread * 2);
}

// The persist moment adds to the group's transaction: durable with the group, lost with it; the
// published moment never sees a group the store refused.
TEST_P(WriterTest, TheChangeFeedAddsToTheGroupAndIsNotToldOfAFailedOne) {
  sql(path_,
      "CREATE TRIGGER refuse BEFORE INSERT ON entities WHEN NEW.id = 'urn:fail' "
      "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END");
  feed_.add_tenants = true;
  start();
  std::vector<Change> bad;
  bad.push_back(put("urn:fail", 1));
  submit("", std::move(bad), "fail");
  wait_for(1);
  ASSERT_EQ(completions_.statuses("fail")[0].kind(), ErrorKind::kInternalError);
  EXPECT_EQ(feed_.snapshot().size(), 0u);
  std::vector<Change> good;
  good.push_back(put("urn:ok", 1));
  submit("", std::move(good), "ok");
  wait_for(2);
  ASSERT_TRUE(completions_.statuses("ok")[0].ok());
  ASSERT_EQ(feed_.snapshot().size(), 1u);
  EXPECT_EQ(feed_.snapshot()[0].id, "urn:ok");
  EXPECT_EQ(feed_.persisted_groups, 2u);
  EXPECT_EQ(feed_.published_groups, 1u);
  writer_->stop();
  Recorder rec;
  ASSERT_TRUE(store_->load(rec).ok());
  EXPECT_EQ(rec.tenants.count("feed:urn:ok"), 1u);
  EXPECT_EQ(rec.tenants.count("feed:urn:fail"), 0u);
}

// Records commit with the group: a decision that refuses adds nothing, one that passes is
// stored and told so, and a group the store refuses tells its records why.
TEST_P(WriterTest, RecordsCommitWithTheGroupAndHearHowItEnded) {
  sql(path_,
      "CREATE TRIGGER refuse BEFORE INSERT ON entities WHEN NEW.id = 'urn:fail' "
      "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END");
  std::mutex mu;
  std::map<std::string, Status> finished;
  auto records = [&](std::string name, Status decision) {
    RecordWork w;
    w.decide = [name, decision](store::WriteBatch& batch) {
      if (decision.ok()) batch.put_record("test", "", name, "{}");
      return decision;
    };
    w.finished = [&, name](const Status& st) {
      std::lock_guard lock(mu);
      finished[name] = st;
    };
    return w;
  };
  std::vector<std::pair<std::string, Status>> outcomes;
  auto submit_records = [&](std::string name, Status decision, std::vector<Change> changes) {
    auto r = std::make_unique<WriteRequest>();
    r->create_tenant = true;
    r->changes = std::move(changes);
    r->records = records(name, decision);
    r->done = [&, name](WriteRequest& req) {
      {
        std::lock_guard lock(mu);
        outcomes.emplace_back(name, req.records->status);
      }
      completions_.done(name)(req);
    };
    writer_->submit(std::move(r));
  };
  start();
  submit_records("kept", Status::Ok(), {});
  wait_for(1);
  submit_records("refused", Status::AlreadyExists("taken"), {});
  wait_for(2);
  std::vector<Change> failing_group;
  failing_group.push_back(put("urn:fail", 1));
  submit_records("lost", Status::Ok(), std::move(failing_group));
  wait_for(3);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(outcomes.size(), 3u);
    EXPECT_TRUE(outcomes[0].second.ok());
    EXPECT_EQ(outcomes[1].second.kind(), ErrorKind::kAlreadyExists);
    EXPECT_EQ(outcomes[2].second.kind(), ErrorKind::kInternalError);
    EXPECT_TRUE(finished.at("kept").ok());
    EXPECT_EQ(finished.count("refused"), 0u);  // nothing decided, nothing to finish
    EXPECT_EQ(finished.at("lost").kind(), ErrorKind::kInternalError);
  }
  writer_->stop();
  Recorder rec;
  ASSERT_TRUE(store_->load(rec).ok());
  EXPECT_EQ(rec.records, std::set<std::string>{"test:kept"});
}

// Requests queued before the thread starts are committed as one group.
TEST_P(WriterTest, ChangesToOneEntityInOneGroupBuildOnEachOther) {
  constexpr int kRequests = 50;
  for (int i = 0; i < kRequests; ++i) {
    std::vector<Change> changes;
    changes.push_back(increment("urn:counter"));
    changes.push_back(increment("urn:counter"));
    submit("", std::move(changes), "r" + std::to_string(i));
  }
  start();
  wait_for(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    auto after = completions_.after("r" + std::to_string(i));
    ASSERT_EQ(after.size(), 2u);
    ASSERT_NE(after[0], nullptr);
    ASSERT_NE(after[1], nullptr);
    EXPECT_EQ(n_of(*after[0]), 2 * i + 1);
    EXPECT_EQ(n_of(*after[1]), 2 * i + 2);
  }
  EXPECT_EQ(n_of(*tenants_.find("")->get("urn:counter")), 2 * kRequests);
  TenantRegistry loaded;
  reload(loaded);
  EXPECT_EQ(n_of(*loaded.find("")->get("urn:counter")), 2 * kRequests);
}

TEST_P(WriterTest, AFailingChangeAffectsOnlyItself) {
  std::vector<Change> changes;
  changes.push_back(put("urn:a", 1));
  changes.push_back(failing("urn:b"));
  changes.push_back(put("urn:c", 3));
  changes.push_back(increment("urn:a"));
  submit("", std::move(changes), "mixed");
  std::vector<Change> other;
  other.push_back(failing("urn:a"));
  other.push_back(increment("urn:c"));
  submit("", std::move(other), "other");
  start();
  wait_for(2);
  auto st = completions_.statuses("mixed");
  ASSERT_EQ(st.size(), 4u);
  EXPECT_TRUE(st[0].ok());
  EXPECT_EQ(st[1].kind(), ErrorKind::kBadRequestData);
  EXPECT_EQ(st[1].detail(), "refused by the test");
  EXPECT_TRUE(st[2].ok());
  EXPECT_TRUE(st[3].ok());
  auto ot = completions_.statuses("other");
  EXPECT_EQ(ot[0].kind(), ErrorKind::kBadRequestData);
  EXPECT_TRUE(ot[1].ok());
  Tenant* t = tenants_.find("");
  EXPECT_EQ(n_of(*t->get("urn:a")), 2);
  EXPECT_EQ(t->get("urn:b"), nullptr);
  EXPECT_EQ(n_of(*t->get("urn:c")), 4);
  auto before = snapshot(tenants_);
  TenantRegistry loaded;
  reload(loaded);
  EXPECT_EQ(snapshot(loaded), before);
}

TEST_P(WriterTest, DeletionsAreCommittedToo) {
  start();
  submit(
      "",
      [] {
        std::vector<Change> v;
        v.push_back(put("urn:x", 1));
        v.push_back(put("urn:y", 2));
        return v;
      }(),
      "a");
  wait_for(1);
  submit(
      "",
      [] {
        std::vector<Change> v;
        v.push_back(remove("urn:x"));
        v.push_back(remove("urn:never"));
        return v;
      }(),
      "b");
  wait_for(2);
  for (const Status& st : completions_.statuses("b"))
    EXPECT_TRUE(st.ok()) << st.detail();
  EXPECT_EQ(tenants_.find("")->get("urn:x"), nullptr);
  TenantRegistry loaded;
  reload(loaded);
  EXPECT_EQ(loaded.find("")->get("urn:x"), nullptr);
  ASSERT_NE(loaded.find("")->get("urn:y"), nullptr);
  EXPECT_EQ(snapshot(loaded), snapshot(tenants_));
}

TEST_P(WriterTest, NonexistentTenantWithoutCreateTenant) {
  start();
  std::vector<Change> changes;
  changes.push_back(put("urn:a", 1));
  changes.push_back(put("urn:b", 2));
  submit("nowhere", std::move(changes), "n", /*create_tenant=*/false);
  std::vector<Change> dflt;
  dflt.push_back(put("urn:a", 1));
  submit("", std::move(dflt), "d", /*create_tenant=*/false);  // the default tenant always exists
  wait_for(2);
  for (const Status& st : completions_.statuses("n")) {
    EXPECT_EQ(st.kind(), ErrorKind::kNonexistentTenant);
    EXPECT_NE(st.detail().find("nowhere"), std::string::npos);
  }
  EXPECT_TRUE(completions_.statuses("d")[0].ok());
  EXPECT_EQ(tenants_.find("nowhere"), nullptr);
  TenantRegistry loaded;
  reload(loaded);
  EXPECT_EQ(loaded.find("nowhere"), nullptr);
}

TEST_P(WriterTest, NewTenantIsCreatedAndStored) {
  start();
  std::vector<Change> changes;
  changes.push_back(put("urn:a", 1));
  submit("tokyo", std::move(changes), "c");
  wait_for(1);
  ASSERT_TRUE(completions_.statuses("c")[0].ok());
  ASSERT_NE(tenants_.find("tokyo"), nullptr);
  writer_->stop();
  Recorder rec;
  ASSERT_TRUE(store_->load(rec).ok());
  EXPECT_EQ(rec.tenants.count("tokyo"), 1u);
  EXPECT_EQ(rec.entities.count({"tokyo", "urn:a"}), 1u);
}

TEST_P(WriterTest, SubmitAfterStopIsRefusedNotLost) {
  start();
  writer_->stop();
  std::vector<Change> changes;
  changes.push_back(put("urn:late", 1));
  submit("", std::move(changes), "late");
  ASSERT_EQ(completions_.count(), 1u);  // completed synchronously
  EXPECT_EQ(completions_.statuses("late")[0].kind(), ErrorKind::kServiceUnavailable);
  EXPECT_EQ(tenants_.find("")->get("urn:late"), nullptr);
}

TEST_P(WriterTest, StopCompletesEverythingQueued) {
  for (int i = 0; i < 20; ++i) {
    std::vector<Change> changes;
    changes.push_back(put("urn:q:" + std::to_string(i), i));
    submit("", std::move(changes), "q" + std::to_string(i));
  }
  start();
  writer_->stop();
  EXPECT_EQ(completions_.count(), 20u);
  EXPECT_EQ(tenants_.find("")->size(), 20u);
  writer_->stop();  // idempotent
}

// A failed store transaction fails every change of the group and publishes none of them.
TEST_P(WriterTest, StoreFailureFailsTheGroupAndPublishesNothing) {
  sql(path_,
      "CREATE TRIGGER refuse BEFORE INSERT ON entities WHEN NEW.id = 'urn:fail' "
      "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END");
  std::vector<Change> first;
  first.push_back(put("urn:ok", 1));
  submit("", std::move(first), "ok");
  std::vector<Change> second;
  second.push_back(put("urn:fail", 2));
  submit("", std::move(second), "fail");
  start();
  wait_for(2);
  EXPECT_EQ(completions_.statuses("ok")[0].kind(), ErrorKind::kInternalError);
  EXPECT_EQ(completions_.statuses("fail")[0].kind(), ErrorKind::kInternalError);
  EXPECT_EQ(tenants_.find("")->get("urn:ok"), nullptr);
  EXPECT_EQ(tenants_.find("")->get("urn:fail"), nullptr);
  // The next group is unaffected.
  std::vector<Change> third;
  third.push_back(put("urn:ok", 3));
  submit("", std::move(third), "again");
  wait_for(3);
  EXPECT_TRUE(completions_.statuses("again")[0].ok());
  EXPECT_EQ(n_of(*tenants_.find("")->get("urn:ok")), 3);
  auto before = snapshot(tenants_);
  TenantRegistry loaded;
  reload(loaded);
  EXPECT_EQ(snapshot(loaded), before);
}

// writer.cpp: "Tenants created in memory for this group stay ...; the store retries their
// creation with the next write." The tenant must reach the store's tenant table.
TEST_P(WriterTest, TenantFromAFailedGroupIsStoredByTheNextWrite) {
  sql(path_,
      "CREATE TRIGGER refuse BEFORE INSERT ON entities WHEN NEW.id = 'urn:fail' "
      "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END");
  start();
  std::vector<Change> first;
  first.push_back(put("urn:fail", 1));
  submit("osaka", std::move(first), "fail");
  wait_for(1);
  ASSERT_EQ(completions_.statuses("fail")[0].kind(), ErrorKind::kInternalError);
  std::vector<Change> second;
  second.push_back(put("urn:ok", 1));
  submit("osaka", std::move(second), "ok");
  wait_for(2);
  ASSERT_TRUE(completions_.statuses("ok")[0].ok());
  writer_->stop();
  Recorder rec;
  ASSERT_TRUE(store_->load(rec).ok());
  EXPECT_EQ(rec.entities.count({"osaka", "urn:ok"}), 1u);
  EXPECT_EQ(rec.tenants.count("osaka"), 1u) << "tenant 'osaka' is missing from the tenant table";
}

// The event-loop committer's own rules.
class EventLoopWriterTest : public WriterTest {
 protected:
  // Replaces the writer with one that counts its wake_loop calls in `woken_`, and starts it.
  void start_counting_wakes(size_t max_group_changes) {
    Writer::Options options;
    options.committer = Writer::Committer::kEventLoops;
    options.max_group_changes = max_group_changes;
    options.wake_loop = [this] { ++woken_; };
    writer_ = std::make_unique<Writer>(*store_, tenants_, options);
    start();
  }
  // Submits `n` requests, each creating one entity named after `tag`.
  void submit_puts(const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) {
      std::vector<Change> changes;
      changes.push_back(put("urn:" + tag + ":" + std::to_string(i), i));
      submit("", std::move(changes), tag + std::to_string(i));
    }
  }
  int woken_ = 0;
};

// An event loop's request waits for the loop's idle call, and stop() commits what the loops left.
TEST_P(EventLoopWriterTest, LoopRequestsWaitForTheIdleCallOrStop) {
  start();
  std::vector<Change> first;
  first.push_back(put("urn:a", 1));
  submit("", std::move(first), "a");
  EXPECT_EQ(completions_.count(), 0u);
  EXPECT_TRUE(tenants_.find("") == nullptr || tenants_.find("")->get("urn:a") == nullptr);
  EXPECT_TRUE(writer_->commit_pending());
  EXPECT_EQ(completions_.count(), 1u);
  EXPECT_EQ(n_of(*tenants_.find("")->get("urn:a")), 1);
  EXPECT_FALSE(writer_->commit_pending());
  std::vector<Change> second;
  second.push_back(put("urn:b", 2));
  submit("", std::move(second), "b");
  EXPECT_EQ(completions_.count(), 1u);
  writer_->stop();
  EXPECT_EQ(completions_.count(), 2u);
  EXPECT_TRUE(completions_.statuses("b")[0].ok());
  EXPECT_EQ(n_of(*tenants_.find("")->get("urn:b")), 2);
}

// A loop that queues into an empty queue asks to be called back (the server's timer that bounds
// the wait when the loop never runs out of work); later requests of the same group do not.
TEST_P(EventLoopWriterTest, FirstQueuedRequestAsksForACommit) {
  start_counting_wakes(8192);
  submit_puts("f", 3);
  EXPECT_EQ(woken_, 1);
  EXPECT_TRUE(writer_->commit_pending());
  EXPECT_EQ(completions_.count(), 3u);
  submit_puts("next", 1);
  EXPECT_EQ(woken_, 2);
  wait_for(4);
}

// A loop whose commit leaves requests queued (a group holds at most max_group_changes) asks to
// be called back too: under a steady load it might not reach its idle point again soon.
TEST_P(EventLoopWriterTest, CommitLeavingRequestsQueuedAsksAgain) {
  start_counting_wakes(1);
  submit_puts("g", 2);
  EXPECT_EQ(woken_, 1);
  EXPECT_TRUE(writer_->commit_pending());
  EXPECT_EQ(completions_.count(), 1u);
  EXPECT_EQ(woken_, 2);  // one request left behind
  EXPECT_TRUE(writer_->commit_pending());
  EXPECT_EQ(completions_.count(), 2u);
  EXPECT_EQ(woken_, 2);  // nothing left
}

// A thread that is not a loop commits its own request at once.
TEST_P(EventLoopWriterTest, OtherThreadsCommitTheirOwnRequests) {
  start();
  std::thread other([this] {
    std::vector<Change> changes;
    changes.push_back(put("urn:c", 3));
    submit("", std::move(changes), "c");
    EXPECT_EQ(completions_.count(), 1u);  // completed before submit returned
  });
  other.join();
  EXPECT_EQ(n_of(*tenants_.find("")->get("urn:c")), 3);
}

INSTANTIATE_TEST_SUITE_P(Committers, WriterTest,
                         ::testing::Values(Writer::Committer::kOwnThread,
                                           Writer::Committer::kEventLoops),
                         [](const auto& info) {
                           return info.param == Writer::Committer::kOwnThread ? "OwnThread"
                                                                              : "EventLoops";
                         });
INSTANTIATE_TEST_SUITE_P(Committers, EventLoopWriterTest,
                         ::testing::Values(Writer::Committer::kEventLoops));

}  // namespace
}  // namespace tsunagu::engine
