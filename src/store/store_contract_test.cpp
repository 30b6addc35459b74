// The Store contract (store/store.hpp), one suite run against every backend: the SQLite store,
// the embedded store (change log in front of SQLite, with and without folds while it runs), and
// the in-memory store. A new backend (PostgreSQL) joins the list and must pass it unchanged.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "store/memory/memory_store.hpp"
#include "store/store.hpp"
#include "store/test_history.hpp"

namespace tsunagu::store {
namespace {

namespace fs = std::filesystem;
namespace th = ::tsunagu::testing;
using history::Instance;

struct Backend {
  const char* name;
  // Opens the store kept in `dir` (or in `memory`), and loads it into `into`.
  std::function<Result<std::unique_ptr<Store>>(const std::string& dir,
                                               const std::shared_ptr<MemoryStore::Data>& memory)>
      open;
};

std::ostream& operator<<(std::ostream& os, const Backend& b) {
  return os << b.name;
}

const Backend kBackends[] = {
    {"sqlite",
     [](const std::string& dir, const auto&) { return open_sqlite({dir + "/contract.db"}); }},
    {"embedded",
     [](const std::string& dir, const auto&) {
       EmbeddedOptions o;
       o.dir = dir;
       o.sync = SyncMode::kNormal;
       return open_embedded(o);
     }},
    {"embedded_folding",
     [](const std::string& dir, const auto&) {
       EmbeddedOptions o;
       o.dir = dir;
       o.sync = SyncMode::kNormal;
       o.checkpoint_bytes = 2048;  // folds run while batches are applied
       return open_embedded(o);
     }},
    {"memory",
     [](const std::string&,
        const std::shared_ptr<MemoryStore::Data>& data) -> Result<std::unique_ptr<Store>> {
       return std::unique_ptr<Store>(std::make_unique<MemoryStore>(data));
     }},
};

using RecordAddress = std::tuple<std::string, std::string, std::string>;  // kind, tenant, key

// What a load visited, in order.
struct Loaded : LoadVisitor {
  Status tenant(std::string_view name) override {
    EXPECT_TRUE(rows.empty()) << "tenants come before entities";
    EXPECT_TRUE(records.empty()) << "tenants come before records";
    tenants.emplace_back(name);
    return Status::Ok();
  }
  Status entity(uint64_t row, std::string_view tenant, std::string_view id,
                std::string_view doc) override {
    EXPECT_TRUE(records.empty()) << "entities come before records";
    EXPECT_TRUE(rows.empty() || rows.back() < row) << "entities come in row order";
    rows.push_back(row);
    lines.push_back(std::to_string(row) + " [" + std::string(tenant) + "] " + std::string(id) +
                    " " + std::string(doc));
    return Status::Ok();
  }
  Status record(std::string_view kind, std::string_view tenant, std::string_view key,
                std::string_view doc) override {
    RecordAddress address{std::string(kind), std::string(tenant), std::string(key)};
    EXPECT_TRUE(records.empty() || records.back().first < address)
        << "records come once each, in (kind, tenant, key) order";
    records.emplace_back(std::move(address), std::string(doc));
    return Status::Ok();
  }
  std::vector<std::string> tenants;
  std::vector<uint64_t> rows;
  std::vector<std::string> lines;
  std::vector<std::pair<RecordAddress, std::string>> records;
};

// The contract's meaning of a sequence of batches.
struct Model {
  std::set<std::string> tenants;
  std::map<uint64_t, std::string> rows;  // row -> "[tenant] id doc"
  std::map<RecordAddress, std::string> records;
  th::HistoryModel history;
  void apply(const WriteBatch& b) {
    for (const auto& op : b.ops) {
      switch (op.kind) {
        case WriteBatch::OpKind::kCreateTenant:
          tenants.insert(op.tenant);
          break;
        case WriteBatch::OpKind::kInsertEntity:
        case WriteBatch::OpKind::kPutEntity:
          rows[op.row] = "[" + op.tenant + "] " + op.id + " " + op.doc;
          break;
        case WriteBatch::OpKind::kUpdateEntity: {
          std::string& r = rows.at(op.row);
          r = r.substr(0, r.rfind(' ') + 1) + op.doc;  // ids hold no space
          break;
        }
        case WriteBatch::OpKind::kDeleteEntity:
          rows.erase(op.row);
          break;
        case WriteBatch::OpKind::kNote:
          break;
        case WriteBatch::OpKind::kPutRecord:
          records[{op.record_kind, op.tenant, op.id}] = op.doc;
          break;
        case WriteBatch::OpKind::kDeleteRecord:
          records.erase({op.record_kind, op.tenant, op.id});
          break;
        case WriteBatch::OpKind::kAppendHistory:
        case WriteBatch::OpKind::kDropHistory:
        case WriteBatch::OpKind::kTrimHistory:
          history.apply(op);
          break;
      }
    }
  }
  std::vector<std::pair<RecordAddress, std::string>> record_list() const {
    return {records.begin(), records.end()};
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& [row, r] : rows)
      out.push_back(std::to_string(row) + " " + r);
    return out;
  }
};

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-contract-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    memory_ = std::make_shared<MemoryStore::Data>();
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Closes the store (if open) and opens it again on what it kept; returns what the load saw.
  Loaded reopen() {
    store_.reset();
    auto s = GetParam().open(dir_, memory_);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    Loaded loaded;
    if (!s.ok()) return loaded;
    store_ = std::move(*s);
    if (before_load_) {
      Status st = before_load_(*store_);
      EXPECT_TRUE(st.ok()) << st.detail();
    }
    Status st = store_->load(loaded);
    EXPECT_TRUE(st.ok()) << st.detail();
    return loaded;
  }

  void apply(WriteBatch b) {
    model_.apply(b);
    Status st = store_->apply(std::move(b));
    ASSERT_TRUE(st.ok()) << st.detail();
  }

  void expect_loads_model() {
    Loaded loaded = reopen();
    EXPECT_EQ(loaded.lines, model_.lines());
    EXPECT_EQ(std::set<std::string>(loaded.tenants.begin(), loaded.tenants.end()), model_.tenants);
    EXPECT_EQ(loaded.tenants.size(), model_.tenants.size()) << "a tenant visited twice";
    EXPECT_EQ(loaded.records, model_.record_list());
  }

  // Reads `series` (a range of it, its last last_n) and compares it with the model.
  void expect_history(uint64_t series, history::TimeRange range = {}, size_t last_n = 0) {
    std::vector<Instance> got;
    Status st = store_->read_history(series, range, last_n, got);
    ASSERT_TRUE(st.ok()) << st.detail();
    ASSERT_EQ(th::lines(got), th::lines(model_.history.read(series, range, last_n)))
        << "series " << series << " in [" << range.from << ", " << range.until << "), last "
        << last_n;
  }
  // Every range between two of `edges`, whole and its last 1 and 3, and every series whole.
  void expect_history_between(uint64_t series, const std::vector<int64_t>& edges) {
    for (const auto& [s, _] : model_.history.series)
      expect_history(s);
    for (int64_t from : edges) {
      for (int64_t until : edges) {
        for (size_t last_n : {0, 1, 3}) {
          expect_history(series, {from, until}, last_n);
          if (HasFatalFailure()) return;
        }
      }
    }
  }

  std::string dir_;
  std::shared_ptr<MemoryStore::Data> memory_;
  std::unique_ptr<Store> store_;
  Model model_;
  std::function<Status(Store&)> before_load_;  // run by reopen() on each store it opens
};

TEST_P(StoreContract, ANewStoreLoadsNothing) {
  Loaded loaded = reopen();
  EXPECT_TRUE(loaded.tenants.empty());
  EXPECT_TRUE(loaded.rows.empty());
  EXPECT_TRUE(loaded.records.empty());
  EXPECT_FALSE(store_->describe().empty());
}

TEST_P(StoreContract, BatchesLoadBackTenantsFirstThenEntitiesInRowOrder) {
  WriteBatch a;
  a.create_tenant("");
  a.create_tenant("大阪");
  a.insert_entity(5, "大阪", "urn:ngsi-ld:E:5", R"({"v":5})");
  a.insert_entity(2, "", "urn:ngsi-ld:E:2", R"({"v":2})");
  apply(std::move(a));
  WriteBatch b;
  b.create_tenant("大阪");  // again: still one tenant
  b.insert_entity(3, "", "urn:ngsi-ld:E:3", R"({"v":3})");
  apply(std::move(b));
  expect_loads_model();
}

TEST_P(StoreContract, DocumentsComeBackByteForByte) {
  WriteBatch b;
  b.insert_entity(1, "", "urn:ngsi-ld:E:1", "");
  b.insert_entity(2, "", "urn:ngsi-ld:E:2", "ü ✓ \xf0\x9f\x8c\x8a \\u0000 \"quoted\"\n\ttabs");
  b.insert_entity(3, "", "urn:ngsi-ld:E:3", std::string(1 << 20, 'x'));
  apply(std::move(b));
  expect_loads_model();
}

TEST_P(StoreContract, UpdatesDeletesAndPuts) {
  WriteBatch a;
  for (uint64_t row = 1; row <= 4; ++row)
    a.insert_entity(row, "t", "urn:ngsi-ld:E:" + std::to_string(row), "v1");
  apply(std::move(a));
  WriteBatch b;
  b.update_entity(1, "v2");                        // the document only
  b.delete_entity(2);                              // gone
  b.put_entity(3, "u", "urn:ngsi-ld:E:30", "p");   // replaces the row whole
  b.put_entity(9, "t", "urn:ngsi-ld:E:9", "new");  // inserts
  b.update_entity(1, "v3");                        // the last change to a row wins
  apply(std::move(b));
  WriteBatch c;
  c.insert_entity(2, "t", "urn:ngsi-ld:E:2b", "again");  // a deleted row's number, reused
  apply(std::move(c));
  expect_loads_model();
}

TEST_P(StoreContract, NotesAreKeptWithTheirBatchAndReadBack) {
  auto none = store_->note("contract.n");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store_
                  ->apply_views({{WriteBatch::OpKind::kInsertEntity, 1, "", "urn:a", "{}"},
                                 {WriteBatch::OpKind::kNote, 0, {}, "contract.n", "1"}})
                  .ok());
  ASSERT_TRUE(store_->apply_views({{WriteBatch::OpKind::kNote, 0, {}, "contract.n", "2"}}).ok());
  EXPECT_EQ(store_->note("contract.n")->value_or("none"), "2");
  reopen();
  EXPECT_EQ(store_->note("contract.n")->value_or("none"), "2");
  // Past folds (embedded_folding folds the log into SQLite at start and every 2 KiB).
  WriteBatch big;
  big.insert_entity(2, "", "urn:b", std::string(10000, 'b'));
  ASSERT_TRUE(store_->apply(std::move(big)).ok());
  reopen();
  EXPECT_EQ(store_->note("contract.n")->value_or("none"), "2");
  ASSERT_TRUE(store_
                  ->apply_views({{WriteBatch::OpKind::kNote, 0, {}, "contract.n", "3"},
                                 {WriteBatch::OpKind::kNote, 0, {}, "contract.m", "x"}})
                  .ok());
  reopen();
  EXPECT_EQ(store_->note("contract.n")->value_or("none"), "3");
  EXPECT_EQ(store_->note("contract.m")->value_or("none"), "x");
  struct Notes : LoadVisitor {
    Status tenant(std::string_view) override { return Status::Ok(); }
    Status entity(uint64_t, std::string_view, std::string_view, std::string_view) override {
      EXPECT_EQ(seen.size(), 2u) << "notes come first";
      return Status::Ok();
    }
    Status note(std::string_view key, std::string_view value) override {
      seen[std::string(key)] = std::string(value);
      return Status::Ok();
    }
    std::map<std::string, std::string> seen;
  } notes;
  store_.reset();
  auto s = GetParam().open(dir_, memory_);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->load(notes).ok());
  EXPECT_EQ(notes.seen,
            (std::map<std::string, std::string>{{"contract.m", "x"}, {"contract.n", "3"}}));
}

TEST_P(StoreContract, RecordsArePutReplacedAndDeleted) {
  WriteBatch a;
  a.put_record("subscription", "", "urn:ngsi-ld:Subscription:1", R"({"v":1})");
  a.put_record("subscription", "", "urn:ngsi-ld:Subscription:2", R"({"v":2})");
  apply(std::move(a));
  expect_loads_model();
  WriteBatch b;
  b.put_record("subscription", "", "urn:ngsi-ld:Subscription:1", R"({"v":"1b"})");  // replaces
  b.delete_record("subscription", "", "urn:ngsi-ld:Subscription:2");
  apply(std::move(b));
  expect_loads_model();
  ASSERT_EQ(model_.records.size(), 1u);
  // A delete of a record that is not there (any longer, or ever) is no error.
  WriteBatch c;
  c.delete_record("subscription", "", "urn:ngsi-ld:Subscription:2");
  c.delete_record("subscription", "", "urn:ngsi-ld:Subscription:never");
  c.delete_record("nothing-of-this-kind", "", "k");
  apply(std::move(c));
  // Put, delete and put again within one batch: the last op wins.
  WriteBatch d;
  d.put_record("subscription", "", "k", "first");
  d.delete_record("subscription", "", "k");
  d.put_record("subscription", "", "k", "last");
  d.put_record("subscription", "", "gone", "x");
  d.delete_record("subscription", "", "gone");
  apply(std::move(d));
  expect_loads_model();
  EXPECT_EQ(model_.records.at({"subscription", "", "k"}), "last");
  EXPECT_EQ(model_.records.count({"subscription", "", "gone"}), 0u);
}

TEST_P(StoreContract, RecordsAreKeptApartByKindAndTenant) {
  WriteBatch a;
  for (const char* kind : {"subscription", "registration"}) {
    for (const char* tenant : {"", "大阪", "t"}) {
      a.put_record(kind, tenant, "urn:same",
                   std::string(kind) + "/" + tenant + " \xf0\x9f\x8c\x8a \"q\"\n");
    }
  }
  a.put_record("subscription", "t", "", "an empty key");
  a.put_record("a", "", "urn:same", "");  // an empty document
  apply(std::move(a));
  expect_loads_model();
  WriteBatch b;
  b.delete_record("subscription", "大阪", "urn:same");  // that one only
  b.put_record("registration", "", "urn:same", "replaced");
  apply(std::move(b));
  Loaded loaded = reopen();
  EXPECT_EQ(loaded.records, model_.record_list());
  EXPECT_EQ(loaded.records.size(), 7u);
  // A visitor finds one kind's records together: the kinds come in order.
  std::vector<std::string> kinds;
  for (const auto& [address, doc] : loaded.records) {
    if (kinds.empty() || kinds.back() != std::get<0>(address))
      kinds.push_back(std::get<0>(address));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"a", "registration", "subscription"}));
}

// A batch is one transaction whatever it mixes: entity and record ops load back together.
TEST_P(StoreContract, EntityAndRecordOpsCommitInOneBatch) {
  WriteBatch a;
  a.create_tenant("t");
  a.insert_entity(1, "t", "urn:ngsi-ld:E:1", "e1");
  a.put_record("registration", "t", "urn:ngsi-ld:ContextSourceRegistration:1", "r1");
  a.insert_entity(2, "t", "urn:ngsi-ld:E:2", "e2");
  apply(std::move(a));
  WriteBatch b;
  b.update_entity(1, "e1b");
  b.delete_record("registration", "t", "urn:ngsi-ld:ContextSourceRegistration:1");
  b.put_record("audit", "t", "000001", "entity 1 updated");
  b.delete_entity(2);
  apply(std::move(b));
  Loaded loaded = reopen();
  EXPECT_EQ(loaded.lines, model_.lines());
  EXPECT_EQ(loaded.records, model_.record_list());
  ASSERT_EQ(loaded.records.size(), 1u);
  // The views form too (the fold writes records into the checkpoint through it).
  ASSERT_TRUE(store_
                  ->apply_views({{WriteBatch::OpKind::kUpdateEntity, 1, {}, {}, "e1c"},
                                 {WriteBatch::OpKind::kPutRecord, 0, "t", "k", "v", "audit"}})
                  .ok());
  loaded = reopen();
  EXPECT_EQ(loaded.lines, (std::vector<std::string>{"1 [t] urn:ngsi-ld:E:1 e1c"}));
  ASSERT_EQ(loaded.records.size(), 2u);
  EXPECT_EQ(loaded.records[1], std::make_pair(RecordAddress{"audit", "t", "k"}, std::string("v")));
}

// Records written, replaced and deleted across reopenings and (embedded_folding) folds: some
// states are in the checkpoint, newer ones only in the log, and a delete in the log hides a
// record the checkpoint holds, or one the log itself put.
TEST_P(StoreContract, RecordsSurviveReopeningAndFolds) {
  for (int round = 0; round < 4; ++round) {
    WriteBatch b;
    const std::string r = std::to_string(round);
    b.put_record("subscription", "", "s" + r, "round " + r);
    b.put_record("subscription", "", "kept", "round " + r);
    if (round > 0) b.delete_record("subscription", "", "s" + std::to_string(round - 1));
    b.put_record("subscription", "", "logged-then-deleted", "x");
    apply(std::move(b));
    WriteBatch c;
    c.delete_record("subscription", "", "logged-then-deleted");
    // Large enough to start a fold on the embedded store that folds every 2 KiB.
    c.put_entity(1, "", "urn:ngsi-ld:E:1", std::string(3000, 'a' + static_cast<char>(round)));
    apply(std::move(c));
    expect_loads_model();
  }
  EXPECT_EQ(model_.records.size(), 2u);
}

// Transient records (Store::declare_transient) load back like any other while unsettled, through
// reopenings and (embedded_folding) folds; a deletion always holds; a settled record whose
// deletion never came may be forgotten, and nothing else is.
TEST_P(StoreContract, TransientRecordsKeepEveryUnsettledOne) {
  struct Settled {
    std::mutex mu;
    std::set<std::string> keys;
    bool has(std::string_view key) {
      std::lock_guard lock(mu);
      return keys.count(std::string(key)) != 0;
    }
  };
  auto settled = std::make_shared<Settled>();
  before_load_ = [settled](Store& s) {
    return s.declare_transient(
        "outbox", [settled](std::string_view, std::string_view key) { return settled->has(key); });
  };
  reopen();
  for (int round = 0; round < 6; ++round) {
    const std::string r = std::to_string(round);
    WriteBatch b;
    // Large enough to start a fold on the embedded store that folds every 2 KiB.
    b.put_record("outbox", "t", "k" + r, r + std::string(3000, 'o'));
    b.put_record("outbox", "", "short-lived" + r, "x");
    b.put_record("subscription", "", "s" + r, "not transient " + r);
    apply(std::move(b));
    {
      std::lock_guard lock(settled->mu);
      settled->keys.insert("short-lived" + r);
      if (round >= 1) settled->keys.insert("k" + std::to_string(round - 1));
    }
    WriteBatch c;
    c.delete_record("outbox", "", "short-lived" + r);
    if (round >= 3) c.delete_record("outbox", "t", "k" + std::to_string(round - 3));
    apply(std::move(c));
    Loaded loaded = reopen();
    std::map<RecordAddress, std::string> seen(loaded.records.begin(), loaded.records.end());
    for (const auto& [address, doc] : model_.records) {
      const bool may_go = std::get<0>(address) == "outbox" && settled->has(std::get<2>(address));
      auto it = seen.find(address);
      if (may_go && it == seen.end()) continue;
      ASSERT_NE(it, seen.end()) << "unsettled, yet lost: " << std::get<2>(address);
      EXPECT_EQ(it->second, doc) << std::get<2>(address);
    }
    for (const auto& [address, doc] : seen)
      EXPECT_EQ(model_.records.count(address), 1u)
          << "deleted, yet loaded: " << std::get<2>(address);
  }
}

// Many batches of every kind, with reopenings between them, against the model.
TEST_P(StoreContract, RandomBatchesLoadAsTheModelSays) {
  std::mt19937 rng(15);
  uint64_t next_row = 1;
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 60; ++i) {
      WriteBatch b;
      const std::string tenant = "t" + std::to_string(rng() % 3);
      if (rng() % 5 == 0) b.create_tenant(tenant);
      const int ops = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < ops; ++k) {
        const std::string doc = std::string(rng() % 300, 'a' + static_cast<char>(rng() % 26));
        Model peek = model_;
        peek.apply(b);  // the rows this batch has left so far
        const bool any = !peek.rows.empty();
        auto some_row = [&] {
          auto it = peek.rows.begin();
          std::advance(it, rng() % peek.rows.size());
          return it->first;
        };
        switch (rng() % 7) {
          case 0:
          case 1: {
            const uint64_t row = next_row++;
            b.insert_entity(row, tenant, "urn:ngsi-ld:E:" + std::to_string(row), doc);
            break;
          }
          case 2:
            if (any) b.update_entity(some_row(), doc);
            break;
          case 3:
            if (any) b.delete_entity(some_row());
            break;
          case 4: {
            const uint64_t row = any && rng() % 2 ? some_row() : next_row++;
            b.put_entity(row, tenant, "urn:ngsi-ld:P:" + std::to_string(row), doc);
            break;
          }
          case 5:
          case 6: {
            // Few addresses, so that puts replace and deletes find something (or not).
            const std::string kind = rng() % 2 ? "subscription" : "registration";
            const std::string key = "urn:ngsi-ld:Subscription:" + std::to_string(rng() % 8);
            if (rng() % 3 == 0) {
              b.delete_record(kind, tenant, key);
            } else {
              b.put_record(kind, tenant, key, doc);
            }
            break;
          }
        }
      }
      apply(std::move(b));
    }
    expect_loads_model();
  }
}

// The time of minute `m` of the test series.
int64_t minute(int64_t m) {
  return th::kHistoryStart + m * th::kMinute;
}

// Every instance time of `v`, and one microsecond on either side.
std::vector<int64_t> edges_of(const std::vector<Instance>& v) {
  std::vector<int64_t> out;
  for (const Instance& in : v)
    for (int64_t d : {-1, 0, 1})
      out.push_back(in.time() + d);
  return out;
}

// Instances come back in time order (then seq), whatever order they were appended in: within a
// chunk, across batches, late ones between earlier ones or before them all, several at one time.
TEST_P(StoreContract, HistoryAppendsInAnyOrderReadBackInTimeOrder) {
  std::vector<Instance> first;
  for (int i = 9; i >= 0; --i)  // newest first
    first.push_back(th::reading(i, minute(2 * i), 20 + i / 10.0));
  WriteBatch a;
  a.append_history(1, th::chunk_of(first));
  a.append_history(2, th::chunk_of(std::vector{th::reading(0, minute(1), 5)}));
  apply(std::move(a));
  expect_history(1);
  WriteBatch b;
  b.append_history(
      1, th::chunk_of(std::vector{th::reading(10, minute(30), 1), th::reading(11, minute(31), 2)}));
  // Late: between the first ones, before them all, and at a time an instance has already.
  b.append_history(
      1, th::chunk_of(std::vector{th::reading(12, minute(3), 3), th::reading(13, minute(-5), 4),
                                  th::reading(14, minute(4), 5)}));
  b.append_history(
      1, th::chunk_of(std::vector{th::reading(16, minute(4), 7), th::reading(15, minute(4), 6)}));
  apply(std::move(b));
  std::vector<Instance> all = model_.history.read(1, {}, 0);
  ASSERT_EQ(all.size(), 17u);
  expect_history_between(1, edges_of(all));
  expect_history(1, {minute(4), minute(4) + 1});  // the three at one time, by seq
  expect_history(1, {minute(4), minute(4)});      // empty
  expect_history(1, {minute(5), minute(4)});      // backwards: empty
  expect_history(1, {}, 100);
  expect_history(3);  // never appended to
  reopen();
  expect_history_between(1, edges_of(all));
}

// Thousands of instances: more than a chunk holds, appended as a fold appends them (many at
// once, then a few at a time) and late among them, read whole, in ranges and from the end.
TEST_P(StoreContract, HistoryOfThousandsOfInstancesReadsBackAcrossChunks) {
  uint64_t seq = 0;
  auto next = [&](int64_t t) {
    Instance in = th::reading(seq, t, static_cast<double>(seq % 97) / 10);
    ++seq;
    return in;
  };
  for (int b = 0; b < 60; ++b) {
    std::vector<Instance> v;
    for (int i = 0; i < 100; ++i)
      v.push_back(next(minute(static_cast<int64_t>(seq))));
    WriteBatch batch;
    batch.append_history(7, th::chunk_of(v));
    apply(std::move(batch));
  }
  for (int b = 0; b < 20; ++b) {
    WriteBatch batch;
    batch.append_history(7, th::chunk_of(std::vector{next(minute(static_cast<int64_t>(seq))),
                                                     next(minute(static_cast<int64_t>(seq) + 1))}));
    apply(std::move(batch));
  }
  // Late: half a minute after every seventh minute, newest first, 100 a batch; and a second
  // instance at the time of every 500th.
  std::vector<Instance> late;
  for (int64_t m = 6000; m >= 0; m -= 7)
    late.push_back(next(minute(m) + th::kMinute / 2));
  for (int64_t m = 0; m <= 6000; m += 500)
    late.push_back(next(minute(m)));
  for (size_t i = 0; i < late.size(); i += 100) {
    WriteBatch batch;
    batch.append_history(
        7, th::chunk_of(std::span(late).subspan(i, std::min<size_t>(100, late.size() - i))));
    apply(std::move(batch));
  }
  const std::vector<Instance> all = model_.history.read(7, {}, 0);
  ASSERT_GT(all.size(), 6800u);
  expect_history(7);
  // Ranges starting and ending around every 250th instance (where chunks of 1,000 or their
  // halves end), and single instances there.
  std::vector<int64_t> edges;
  for (size_t i = 0; i < all.size(); i += 250)
    for (size_t j = i > 2 ? i - 2 : 0; j <= i + 2 && j < all.size(); ++j)
      edges.push_back(all[j].time());
  for (size_t i = 0; i + 1 < edges.size(); ++i) {
    expect_history(7, {edges[i], edges[i + 1]});
    expect_history(7, {edges[i], edges[i] + 1});
    expect_history(7, {edges[i] - 1, edges[std::min(i + 12, edges.size() - 1)]}, 7);
    if (HasFatalFailure()) return;
  }
  for (size_t last_n : {1, 2, 999, 1000, 1001, 2500, 6000}) {
    expect_history(7, {}, last_n);
    expect_history(7, {minute(1000), minute(4000)}, last_n);
    expect_history(7, {INT64_MIN, minute(2000) + 1}, last_n);
  }
  expect_history(7, {}, all.size());
  expect_history(7, {}, all.size() + 1);
  reopen();
  expect_history(7);
  expect_history(7, {minute(1000), minute(4000)}, 1500);
}

// A drop forgets the series; a drop and an append in one batch rewrite it (what the engine does
// when one instance is modified or deleted), and appends after a drop start it again.
TEST_P(StoreContract, HistoryDropsAndRewrites) {
  std::vector<Instance> v;
  for (uint64_t i = 0; i < 1500; ++i)
    v.push_back(th::reading(i, minute(static_cast<int64_t>(i)), 1));
  WriteBatch a;
  a.append_history(1, th::chunk_of(v));
  a.append_history(2, th::chunk_of(std::span(v).first(10)));
  a.append_history(3, th::chunk_of(std::span(v).first(10)));
  apply(std::move(a));
  WriteBatch b;
  b.drop_history(2);
  b.drop_history(99);      // never appended to: no error
  v[700].number = 42;      // modified
  v.erase(v.begin() + 3);  // deleted
  b.drop_history(1);
  b.append_history(1, th::chunk_of(v));
  b.append_history(3, th::chunk_of(std::vector{th::reading(10, minute(10), 2)}));
  b.drop_history(3);  // after an append in the same batch: forgets it too
  b.append_history(3, th::chunk_of(std::vector{th::reading(11, minute(11), 3)}));
  apply(std::move(b));
  EXPECT_EQ(model_.history.series.count(2), 0u);
  for (uint64_t s : {1, 2, 3, 99})
    expect_history(s);
  expect_history(1, {minute(690), minute(710)});
  WriteBatch c;
  c.append_history(2, th::chunk_of(std::vector{th::reading(50, minute(50), 9)}));
  apply(std::move(c));
  reopen();
  for (uint64_t s : {1, 2, 3, 99})
    expect_history(s);
  expect_history(1, {}, 1);
}

// Retention: a trim forgets what the series holds before its cutoff at that point of the batch,
// across chunks and inside one, in the checkpoint or only in the log; appends after it stay.
TEST_P(StoreContract, HistoryTrimsForgetWhatCameBefore) {
  std::vector<Instance> v;
  for (uint64_t i = 0; i < 2500; ++i)
    v.push_back(th::reading(i, minute(static_cast<int64_t>(i)), 1));
  WriteBatch a;
  a.append_history(1, th::chunk_of(v));
  a.append_history(2, th::chunk_of(std::span(v).first(20)));
  apply(std::move(a));
  WriteBatch b;
  b.trim_history(1, minute(1234));  // inside a chunk, after whole ones
  b.append_history(2, th::chunk_of(std::vector{th::reading(20, minute(3), 5)}));
  b.trim_history(2, minute(10));  // after an append in the batch: trims it too
  b.append_history(2, th::chunk_of(std::vector{th::reading(21, minute(4), 6)}));  // stays
  b.trim_history(3, minute(1));  // never appended to: no error
  apply(std::move(b));
  for (uint64_t s : {1, 2, 3})
    expect_history(s);
  expect_history(1, {minute(1200), minute(1300)});
  expect_history(1, {}, 7);
  WriteBatch c;
  c.trim_history(1, minute(5000));  // after everything
  c.append_history(1, th::chunk_of(std::vector{th::reading(3000, minute(3000), 2)}));
  apply(std::move(c));
  reopen();
  for (uint64_t s : {1, 2, 3})
    expect_history(s);
  WriteBatch d;
  d.trim_history(2, minute(15));
  apply(std::move(d));
  reopen();
  for (uint64_t s : {1, 2})
    expect_history(s);
}

// A batch whose chunk is damaged is refused whole: its entity, record and other history ops
// with it.
TEST_P(StoreContract, HistoryBatchWithADamagedChunkChangesNothing) {
  std::vector<Instance> v{th::reading(0, minute(0), 1), th::reading(1, minute(1), 2)};
  WriteBatch a;
  a.insert_entity(1, "", "urn:ngsi-ld:E:1", "e1");
  a.append_history(1, th::chunk_of(v));
  a.append_history(2, th::chunk_of(v));
  apply(std::move(a));
  std::string damaged = th::chunk_of(std::vector{th::reading(2, minute(2), 3)});
  damaged[damaged.size() / 2] ^= 0x10;
  for (const std::string& bad : {damaged, std::string("not a chunk")}) {
    WriteBatch b;
    b.create_tenant("t");
    b.insert_entity(2, "t", "urn:ngsi-ld:E:2", "e2");
    b.update_entity(1, "e1b");
    b.put_record("subscription", "t", "urn:s", "s");
    b.append_history(1, th::chunk_of(std::vector{th::reading(3, minute(3), 4)}));
    b.drop_history(2);
    b.append_history(3, bad);
    Status st = store_->apply(std::move(b));
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.kind(), ErrorKind::kInternalError) << st.detail();
    for (uint64_t s : {1, 2, 3})
      expect_history(s);
  }
  expect_loads_model();
  for (uint64_t s : {1, 2, 3})
    expect_history(s);
}

// History across reopenings and (embedded_folding) folds: some of it in the checkpoint, some
// only in the log, drops in either over appends in the other.
TEST_P(StoreContract, HistorySurvivesReopeningAndFolds) {
  std::mt19937 rng(17);
  std::map<uint64_t, uint64_t> next_seq;
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 12; ++i) {
      WriteBatch b;
      for (uint64_t series = 1; series <= 4; ++series) {
        if (rng() % 9 == 0) {
          b.drop_history(series);
          continue;
        }
        if (rng() % 11 == 0) {
          b.trim_history(series, minute(static_cast<int64_t>(next_seq[series] - rng() % 20)));
        }
        std::vector<Instance> v;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 5); ++k) {
          const uint64_t seq = next_seq[series]++;
          // Mostly in order, some late.
          const int64_t m = static_cast<int64_t>(seq) - (rng() % 4 == 0 ? rng() % 50 : 0);
          v.push_back(th::reading(seq, minute(m) + static_cast<int64_t>(rng() % 3),
                                  static_cast<double>(rng() % 1000) / 10));
        }
        b.append_history(series, th::chunk_of(v));
      }
      // Large enough to start a fold on the embedded store that folds every 2 KiB.
      b.put_entity(1, "", "urn:ngsi-ld:E:1", std::string(1000 + rng() % 2000, 'a'));
      apply(std::move(b));
      if (i % 4 == 3) {
        for (uint64_t series = 1; series <= 4; ++series)
          expect_history(series, {minute(10), minute(60)}, 5);
      }
    }
    expect_loads_model();
    for (uint64_t series = 1; series <= 5; ++series) {
      expect_history(series);
      expect_history(series, {}, 3);
    }
  }
}

// read_history from other threads while batches are applied and (embedded_folding) folds run:
// every read is in order, holds each instance once, and holds every instance of the batches
// applied before it started, rewrites (a drop and an append in one batch) included.
TEST_P(StoreContract, HistoryReadsFromOtherThreadsSeeEveryAppliedBatch) {
  constexpr int kBatches = 300;
  constexpr uint64_t kSeries = 4;
  constexpr uint64_t kPerBatch = 3;
  std::vector<std::vector<Instance>> written(kSeries);
  auto instance = [](uint64_t seq) {
    // Every third instance arrives late, among earlier ones.
    const int64_t m = static_cast<int64_t>(seq) - (seq % 3 == 2 ? 40 : 0);
    return th::reading(seq, minute(m) + 1, static_cast<double>(seq));
  };
  std::atomic<int> applied{0};
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<bool> failed{false};
  std::mutex problems_mu;
  std::vector<std::string> problems;
  auto reader = [&](uint64_t tid) {
    while (!done.load()) {
      const uint64_t series = tid % kSeries;
      const int before = applied.load();
      std::vector<Instance> got;
      Status st = store_->read_history(series, {}, 0, got);
      std::string problem = st.ok() ? th::order_problem(got) : st.detail();
      std::set<uint64_t> seqs;
      for (const Instance& in : got)
        seqs.insert(in.seq);
      for (uint64_t seq = 0; problem.empty() && seq < before * kPerBatch; ++seq)
        if (seqs.count(seq) == 0) problem = "seq " + std::to_string(seq) + " missing";
      std::vector<Instance> last;
      if (problem.empty()) st = store_->read_history(series, {minute(100), INT64_MAX}, 5, last);
      if (problem.empty()) problem = st.ok() ? th::order_problem(last) : st.detail();
      if (problem.empty() && before * kPerBatch > 150 && last.size() != 5)
        problem = "a last 5 read gave " + std::to_string(last.size());
      if (!problem.empty()) {
        std::lock_guard lock(problems_mu);
        problems.push_back("series " + std::to_string(series) + " after " + std::to_string(before) +
                           " batches: " + problem);
        failed.store(true);
        return;
      }
      ++tid;
      ++reads;
    }
  };
  std::thread r1(reader, 0), r2(reader, 1);
  for (int b = 0; b < kBatches; ++b) {
    WriteBatch batch;
    for (uint64_t series = 0; series < kSeries; ++series) {
      std::vector<Instance> v;
      for (uint64_t k = 0; k < kPerBatch; ++k)
        v.push_back(instance(static_cast<uint64_t>(b) * kPerBatch + k));
      written[series].insert(written[series].end(), v.begin(), v.end());
      if (series == 0 && b % 10 == 9) {
        // A rewrite: every instance again, one of them modified.
        written[series][static_cast<size_t>(b)].number = -1;
        batch.drop_history(series);
        batch.append_history(series, th::chunk_of(written[series]));
      } else {
        batch.append_history(series, th::chunk_of(v));
      }
    }
    // Large enough to start a fold on the embedded store that folds every 2 KiB.
    batch.put_entity(1, "", "urn:ngsi-ld:E:1", std::string(2500, 'a' + static_cast<char>(b % 26)));
    Status st = store_->apply(std::move(batch));
    if (!st.ok()) {
      ADD_FAILURE() << st.detail();
      break;
    }
    applied.store(b + 1);
    // Reads and batches take turns: at least one read between two batches.
    const int seen = reads.load();
    while (reads.load() == seen && !failed.load())
      std::this_thread::yield();
  }
  // Let the readers see the last state too.
  const int seen = reads.load();
  while (reads.load() < seen + 10 && !failed.load())
    std::this_thread::yield();
  done.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(problems, std::vector<std::string>{});
  for (uint64_t series = 0; series < kSeries; ++series) {
    std::vector<Instance> got;
    ASSERT_TRUE(store_->read_history(series, {}, 0, got).ok());
    std::vector<Instance> want = written[series];
    std::stable_sort(want.begin(), want.end(), [](const Instance& a, const Instance& b) {
      return a.time() != b.time() ? a.time() < b.time() : a.seq < b.seq;
    });
    EXPECT_EQ(th::lines(got), th::lines(want)) << "series " << series;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tsunagu::store
