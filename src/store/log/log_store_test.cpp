// Tests of the embedded store (store/log/log_store.cpp) through open_embedded: the change log laid
// over the SQLite checkpoint, folding, and recovery from what a crash leaves in the data directory.
// A fold is waited for by destroying the store, whose destructor finishes the fold in progress.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "store/log/change_log.hpp"
#include "store/store.hpp"

namespace tsunagu::store {
namespace {

namespace fs = std::filesystem;
using OpKind = WriteBatch::OpKind;

constexpr uint64_t kNoFold = 1ull << 40;  // a checkpoint threshold never reached
constexpr size_t kHeader = 12;            // a change log record's header

struct Row {
  uint64_t row = 0;
  std::string tenant, id, doc;
};

std::string show(const Row& r) {
  std::string doc = r.doc.size() <= 80 ? r.doc
                                       : "<" + std::to_string(r.doc.size()) + " bytes #" +
                                             std::to_string(std::hash<std::string>{}(r.doc)) + ">";
  return "row " + std::to_string(r.row) + " [" + r.tenant + "] " + r.id + " = " + doc;
}

// Everything a load visits, and every breach of the visiting order.
class Recorder final : public LoadVisitor {
 public:
  Status tenant(std::string_view name) override {
    if (!entities.empty()) problems.push_back("tenant '" + std::string(name) + "' after an entity");
    tenants.emplace_back(name);
    return Status::Ok();
  }
  Status entity(uint64_t row, std::string_view tenant, std::string_view id,
                std::string_view doc) override {
    if (!entities.empty() && row <= entities.back().row) {
      problems.push_back("row " + std::to_string(row) + " after row " +
                         std::to_string(entities.back().row));
    }
    if (!records.empty()) problems.push_back("row " + std::to_string(row) + " after a record");
    entities.push_back({row, std::string(tenant), std::string(id), std::string(doc)});
    return Status::Ok();
  }
  Status record(std::string_view kind, std::string_view tenant, std::string_view key,
                std::string_view doc) override {
    std::string line = "record " + std::string(kind) + " [" + std::string(tenant) + "] " +
                       std::string(key) + " = " + std::string(doc);
    std::tuple<std::string, std::string, std::string> address{kind, tenant, key};
    if (!records.empty() && !(last_record < address)) problems.push_back(line + " out of order");
    records.push_back(line);
    last_record = std::move(address);
    return Status::Ok();
  }
  // Tenants sorted (their order among themselves is not part of the contract; a duplicate shows),
  // then the entities in visiting order.
  std::vector<std::string> lines() const {
    std::vector<std::string> t(tenants.begin(), tenants.end());
    std::sort(t.begin(), t.end());
    std::vector<std::string> out;
    for (const auto& name : t)
      out.push_back("tenant [" + name + "]");
    for (const auto& r : entities)
      out.push_back(show(r));
    out.insert(out.end(), records.begin(), records.end());
    return out;
  }
  std::vector<std::string> tenants;
  std::vector<Row> entities;
  std::vector<std::string> records;  // in visiting order
  std::tuple<std::string, std::string, std::string> last_record;
  std::vector<std::string> problems;
};

// What the store must hold: the batches applied in order, by the Store contract.
struct Model {
  std::set<std::string> tenants;
  std::map<uint64_t, Row> rows;
  std::map<std::tuple<std::string, std::string, std::string>, std::string> records;

  void apply(const WriteBatch& b) {
    for (const auto& op : b.ops) {
      switch (op.kind) {
        case OpKind::kCreateTenant:
          tenants.insert(op.tenant);
          break;
        case OpKind::kInsertEntity:
        case OpKind::kPutEntity:
          rows[op.row] = {op.row, op.tenant, op.id, op.doc};
          break;
        case OpKind::kUpdateEntity:
          rows.at(op.row).doc = op.doc;
          break;
        case OpKind::kDeleteEntity:
          rows.erase(op.row);
          break;
        case OpKind::kNote:  // bookkeeping, not data
          break;
        case OpKind::kPutRecord:
          records[{op.record_kind, op.tenant, op.id}] = op.doc;
          break;
        case OpKind::kDeleteRecord:
          records.erase({op.record_kind, op.tenant, op.id});
          break;
        case OpKind::kAppendHistory:  // history_tail_test.cpp checks history
        case OpKind::kDropHistory:
        case OpKind::kTrimHistory:
          break;
      }
    }
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& t : tenants)
      out.push_back("tenant [" + t + "]");
    for (const auto& [row, r] : rows)
      out.push_back(show(r));
    for (const auto& [address, doc] : records) {
      const auto& [kind, tenant, key] = address;
      out.push_back("record " + kind + " [" + tenant + "] " + key + " = " + doc);
    }
    return out;
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir(); }
  void TearDown() override {
    std::error_code ec;
    for (const auto& d : dirs_)
      fs::remove_all(d, ec);
  }

  std::string temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-logstore-XXXXXX").string();
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    dirs_.push_back(tmpl);
    return tmpl;
  }

  // Opens and loads the store in `dir` (default: the test's), recording the load in `into`.
  std::unique_ptr<Store> open(uint64_t checkpoint_bytes = kNoFold, SyncMode sync = SyncMode::kFull,
                              Recorder* into = nullptr, std::string dir = {}) {
    EmbeddedOptions o;
    o.dir = dir.empty() ? dir_ : dir;
    o.sync = sync;
    o.checkpoint_bytes = checkpoint_bytes;
    auto s = open_embedded(o);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    if (!s.ok()) return nullptr;
    if (!settled_.empty()) {
      Status st = (*s)->declare_transient("outbox", [this](std::string_view, std::string_view key) {
        std::lock_guard lock(settled_mu_);  // asked by the fold thread
        return settled_.count(std::string(key)) != 0;
      });
      EXPECT_TRUE(st.ok()) << st.detail();
    }
    Recorder scratch;
    Status st = (*s)->load(into != nullptr ? *into : scratch);
    EXPECT_TRUE(st.ok()) << st.detail();
    if (!st.ok()) return nullptr;
    return std::move(*s);
  }

  void apply(Store& s, const WriteBatch& b) {
    model_.apply(b);
    Status st = s.apply(b);
    EXPECT_TRUE(st.ok()) << st.detail();
  }

  // Opens the directory, loads it and compares what is visited with `model`.
  void expect_loads(const Model& model, uint64_t checkpoint_bytes = kNoFold, std::string dir = {}) {
    Recorder r;
    auto s = open(checkpoint_bytes, SyncMode::kFull, &r, dir);
    EXPECT_EQ(r.problems, std::vector<std::string>{});
    EXPECT_EQ(r.lines(), model.lines());
  }

  // Folds every logged change into the checkpoint: a threshold of one byte makes load() rotate a
  // non-empty newest segment, and the destructor waits for the fold.
  void fold_now() { open(1).reset(); }

  // What the SQLite checkpoint alone holds.
  Recorder checkpoint_only(std::string dir = {}) {
    SqliteOptions o;
    o.path = (dir.empty() ? dir_ : dir) + "/tsunagu.db";
    auto s = open_sqlite(o);
    Recorder r;
    EXPECT_TRUE(s.ok()) << s.status().detail();
    if (s.ok()) {
      Status st = (*s)->load(r);
      EXPECT_TRUE(st.ok()) << st.detail();
    }
    EXPECT_EQ(r.problems, std::vector<std::string>{});
    return r;
  }

  std::vector<uint64_t> segments() const {
    std::vector<uint64_t> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      unsigned long long seq;
      std::string name = e.path().filename().string();
      if (name.rfind("changes-", 0) == 0) {
        EXPECT_EQ(std::sscanf(name.c_str(), "changes-%llu.log", &seq), 1) << name;
        out.push_back(seq);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string segment(uint64_t seq) const {
    char buf[40];
    std::snprintf(buf, sizeof buf, "changes-%012llu.log", static_cast<unsigned long long>(seq));
    return dir_ + "/" + buf;
  }
  // Writes `batches` as a segment the way the store would have (a crash before its fold).
  void write_segment(uint64_t seq, const std::vector<WriteBatch>& batches) {
    ChangeLog log;
    ASSERT_TRUE(log.open(segment(seq), seq, 0).ok());
    for (const auto& b : batches) {
      std::string payload;
      encode_batch(b, payload);
      ASSERT_TRUE(log.append(payload, true).ok());
      model_.apply(b);
    }
  }

  void settle(const std::string& key) {
    std::lock_guard lock(settled_mu_);
    settled_.insert(key);
  }

  std::string dir_;
  std::vector<std::string> dirs_;
  Model model_;
  // When not empty, open() declares records of kind "outbox" transient, settled when their key
  // is in here ("" stands for none, so that the declaration can be made before any settles).
  std::mutex settled_mu_;
  std::set<std::string> settled_;
};

WriteBatch inserts(uint64_t from, uint64_t to, const std::string& tenant, const std::string& tag) {
  WriteBatch b;
  for (uint64_t row = from; row <= to; ++row) {
    b.insert_entity(row, tenant, "urn:ngsi-ld:E:" + std::to_string(row),
                    "{\"v\":\"" + tag + std::to_string(row) + "\"}");
  }
  return b;
}

TEST_F(LogStoreTest, FreshDirectoryLoadsNothing) {
  Recorder r;
  auto s = open(kNoFold, SyncMode::kFull, &r);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(r.tenants.empty());
  EXPECT_TRUE(r.entities.empty());
  EXPECT_NE(s->describe().find(dir_), std::string::npos) << s->describe();
}

// Issue 14: two servers on one directory both acknowledged writes, each saw half, and the store
// then refused to start. The second open is refused, naming the directory and the owner's pid.
TEST_F(LogStoreTest, ADirectoryInUseIsRefused) {
  auto first = open();
  ASSERT_NE(first, nullptr);
  EmbeddedOptions o;
  o.dir = dir_;
  auto second = open_embedded(o);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().detail().find("in use by another Tsunagu process"), std::string::npos)
      << second.status().detail();
  EXPECT_NE(second.status().detail().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.status().detail();
  first.reset();
  EXPECT_NE(open(), nullptr);  // closed, the directory is free again
}

TEST_F(LogStoreTest, ApplyThenLoadRoundTrips) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b = inserts(1, 3, "", "a");
    b.create_tenant("");
    apply(*s, b);
    WriteBatch c;
    c.create_tenant("city");
    c.insert_entity(4, "city", "urn:ngsi-ld:E:4", std::string("bin\0\xff", 5));
    c.update_entity(2, "{\"v\":\"b2\"}");
    c.delete_entity(3);
    apply(*s, c);
  }
  expect_loads(model_);
  // Nothing was folded: the changes are in the first segment only.
  EXPECT_EQ(segments(), std::vector<uint64_t>{1});
  EXPECT_GT(fs::file_size(segment(1)), 0u);
  EXPECT_TRUE(checkpoint_only().entities.empty());
}

TEST_F(LogStoreTest, NormalSyncRoundTrips) {
  {
    auto s = open(kNoFold, SyncMode::kNormal);
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 5, "t", "n"));
  }
  expect_loads(model_);
}

TEST_F(LogStoreTest, EmptyBatchWritesNothing) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->apply(WriteBatch{}).ok());
  EXPECT_EQ(fs::file_size(segment(1)), 0u);
}

TEST_F(LogStoreTest, EntitiesAreVisitedInRowOrderAfterEveryTenant) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(9, 9, "a", "x"));
    apply(*s, inserts(2, 2, "a", "x"));
    apply(*s, inserts(5, 6, "b", "x"));
    WriteBatch late;
    late.create_tenant("z-late");
    late.insert_entity(1, "z-late", "urn:first", "{}");
    apply(*s, late);
  }
  expect_loads(model_);
  fold_now();
  // Checkpoint rows 1 2 5 6 9, logged rows 0 3 7 12 and a tenant created in the log.
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(12, 12, "a", "y"));
    apply(*s, inserts(7, 7, "b", "y"));
    WriteBatch b;
    b.create_tenant("m-logged");
    b.insert_entity(3, "m-logged", "urn:three", "{}");
    b.insert_entity(0, "m-logged", "urn:zero", "{}");
    apply(*s, b);
  }
  expect_loads(model_);
}

TEST_F(LogStoreTest, TenantsAreVisitedOnceWhetherCheckpointedOrLogged) {
  {
    auto s = open(1);
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.create_tenant("");
    b.create_tenant("a");
    apply(*s, b);
  }
  ASSERT_EQ(checkpoint_only().tenants.size(), 2u);
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.create_tenant("a");  // again: already in the checkpoint
    b.create_tenant("b");  // a tenant without entities
    b.insert_entity(1, "a", "urn:x", "{}");
    apply(*s, b);
  }
  expect_loads(model_);
}

TEST_F(LogStoreTest, LoggedChangesOverlayTheCheckpoint) {
  {
    auto s = open(1);  // every batch rotates; the destructor finishes the fold
    ASSERT_NE(s, nullptr);
    WriteBatch b = inserts(1, 6, "a", "v1-");
    b.create_tenant("a");
    apply(*s, b);
  }
  const Model folded = model_;
  EXPECT_EQ(segments(), std::vector<uint64_t>{2}) << "the first segment is folded and deleted";
  EXPECT_EQ(checkpoint_only().lines(), folded.lines());
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.update_entity(2, "{\"v\":\"v2-2\"}");
    b.delete_entity(3);
    b.put_entity(4, "a", "urn:ngsi-ld:E:4", "{\"v\":\"put-4\"}");
    apply(*s, b);
    WriteBatch c;
    c.delete_entity(1);
    c.update_entity(2, "{\"v\":\"v3-2\"}");
    c.insert_entity(7, "a", "urn:ngsi-ld:E:7", "{\"v\":\"v1-7\"}");
    c.create_tenant("late");
    c.insert_entity(8, "late", "urn:ngsi-ld:E:8", "{\"v\":\"v1-8\"}");
    apply(*s, c);
    WriteBatch d;
    d.update_entity(7, "{\"v\":\"v2-7\"}");
    d.update_entity(6, "{\"v\":\"v2-6\"}");
    apply(*s, d);
  }
  // The changes are only in the log: the checkpoint still holds the folded state.
  EXPECT_EQ(checkpoint_only().lines(), folded.lines());
  expect_loads(model_);
  fold_now();
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
  expect_loads(model_);
}

// Records follow the entities' rules through the log: the latest logged state of each address
// replaces the checkpoint's, a logged delete hides it, and a record put and deleted within the
// log (never folded) never appears; the fold carries all of it into the checkpoint.
TEST_F(LogStoreTest, LoggedRecordsOverlayTheCheckpoint) {
  {
    auto s = open(1);  // every batch rotates; the destructor finishes the fold
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    for (const char* key : {"a", "b", "c", "d"})
      b.put_record("subscription", "", key, std::string("v1-") + key);
    b.put_record("registration", "t", "a", "reg");
    apply(*s, b);
  }
  const Model folded = model_;
  EXPECT_EQ(checkpoint_only().lines(), folded.lines());
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.put_record("subscription", "", "b", "v2-b");    // replaces a folded one
    b.delete_record("subscription", "", "c");         // hides a folded one
    b.put_record("subscription", "", "0", "before");  // new, ordered before every folded one
    b.put_record("subscription", "", "e", "logged");  // new, in the log only
    b.put_record("zzz", "", "a", "after");            // new, after every folded one
    apply(*s, b);
    WriteBatch c;
    c.delete_record("subscription", "", "e");  // in the log only: deleted before any fold
    c.delete_record("subscription", "", "never-put");
    c.put_record("subscription", "", "b", "v3-b");
    apply(*s, c);
  }
  EXPECT_EQ(checkpoint_only().lines(), folded.lines());
  expect_loads(model_);
  fold_now();
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
  expect_loads(model_);
}

TEST_F(LogStoreTest, EntityInsertedAndDeletedWithinTheLogNeverAppears) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 1, "", "keep"));
    apply(*s, inserts(5, 5, "", "gone"));
    WriteBatch same;  // inserted and deleted in one batch
    same.insert_entity(6, "", "urn:six", "{}");
    same.delete_entity(6);
    apply(*s, same);
    WriteBatch upd;
    upd.update_entity(5, "{}");
    upd.insert_entity(7, "", "urn:seven", "{}");
    upd.update_entity(7, "{\"u\":1}");
    apply(*s, upd);
    WriteBatch del;
    del.delete_entity(5);
    del.delete_entity(7);
    apply(*s, del);
  }
  ASSERT_EQ(model_.rows.size(), 1u);
  expect_loads(model_);
  fold_now();
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
  expect_loads(model_);
}

TEST_F(LogStoreTest, LargeDocumentsSurviveTheLogAndTheFold) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.insert_entity(1, "", "urn:big", std::string(1 << 20, 'a'));
    apply(*s, b);
    WriteBatch u;
    u.update_entity(1, std::string((1 << 20) + 1, 'b'));
    apply(*s, u);
  }
  expect_loads(model_);
  fold_now();
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
}

// A copy of the data directory taken while the store runs is what a kill -9 at that moment
// leaves behind: it holds every batch whose apply() returned.
TEST_F(LogStoreTest, CopyOfTheDirectoryWhileRunningHoldsEveryAppliedBatch) {
  std::vector<std::pair<std::string, Model>> snapshots;
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    for (uint64_t i = 1; i <= 6; ++i) {
      WriteBatch b = inserts(i * 10, i * 10 + 2, "t" + std::to_string(i % 2), "v");
      if (i > 1) b.update_entity((i - 1) * 10, "{\"updated\":" + std::to_string(i) + "}");
      if (i > 2) b.delete_entity((i - 2) * 10 + 1);
      b.put_record("subscription", "t" + std::to_string(i % 2), "s" + std::to_string(i % 3),
                   "{\"batch\":" + std::to_string(i) + "}");
      if (i > 3) b.delete_record("subscription", "t" + std::to_string(i % 2), "s0");
      apply(*s, b);
      if (i == 2 || i == 6) {
        std::string copy = temp_dir();
        fs::copy(dir_, copy, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
        snapshots.emplace_back(copy, model_);
      }
    }
  }
  for (const auto& [copy, model] : snapshots) {
    SCOPED_TRACE(copy);
    expect_loads(model, kNoFold, copy);
  }
  // The first copy again, with an append that was in flight (never acknowledged) torn at the end.
  const auto& [copy, model] = snapshots.front();
  {
    std::ofstream out(copy + "/changes-000000000001.log", std::ios::binary | std::ios::app);
    std::string partial;
    WriteBatch b = inserts(99, 99, "", "in-flight");
    encode_batch(b, partial);
    out.write("\x31\x4c\x53\x54", 4);  // the record magic, then a length and half a payload
    uint32_t len = static_cast<uint32_t>(partial.size());
    out.write(reinterpret_cast<const char*>(&len), 4);
    out.write("\0\0\0\0", 4);
    out.write(partial.data(), static_cast<std::streamsize>(partial.size() / 2));
  }
  expect_loads(model, kNoFold, copy);
  // And the running store's own directory, closed without a fold.
  expect_loads(model_);
}

// A folded segment is kept as the spare and the next rotation writes over it; its old records
// (older states of the same rows) stay in the file after the new ones until the segment is
// sealed. A copy of the directory at that moment (what kill -9 leaves) must load exactly the
// batches applied, none of the old records.
TEST_F(LogStoreTest, AReusedSegmentNeverBringsBackItsOldRecords) {
  for (SyncMode sync : {SyncMode::kNormal, SyncMode::kFull}) {
    SCOPED_TRACE(sync == SyncMode::kFull ? "sync full" : "sync normal");
    dir_ = temp_dir();
    model_ = Model{};
    apply(*open(kNoFold, sync), inserts(1, 5, "", "first"));
    std::vector<std::pair<std::string, Model>> snapshots;
    {
      auto s = open(4096, sync);
      ASSERT_NE(s, nullptr);
      uint64_t newest = segments().back();
      for (int g = 0; g < 3000 && snapshots.size() < 3; ++g) {
        WriteBatch b;
        for (uint64_t row = 1; row <= 5; ++row)
          b.update_entity(row, "{\"g\":" + std::to_string(g) + ",\"pad\":\"" +
                                   std::string(150, static_cast<char>('a' + g % 26)) + "\"}");
        apply(*s, b);
        const uint64_t now = segments().back();
        if (now != newest && fs::file_size(segment(now)) > 0) {
          // Rotated onto the spare: the segment holds no record yet, only the old bytes.
          EXPECT_GE(fs::file_size(segment(now)), 4096u);
          apply(*s, inserts(100 + g, 100 + g, "", "after-reuse"));
          // The rotation started a fold of the segment before; it ends by making that one the
          // spare. Nothing changes in the directory after that until the next rotation.
          const std::string spare = dir_ + "/spare-segment.log";
          for (int wait = 0; wait < 5000 && !fs::exists(spare); ++wait)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          ASSERT_TRUE(fs::exists(spare));
          std::string copy = temp_dir();
          fs::copy(dir_, copy, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
          snapshots.emplace_back(copy, model_);
        }
        newest = now;
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // let folds finish
      }
      ASSERT_EQ(snapshots.size(), 3u) << "no rotation wrote over a spare";
    }
    for (const auto& [copy, model] : snapshots) {
      SCOPED_TRACE(copy);
      expect_loads(model, kNoFold, copy);
    }
    // Closed cleanly, the newest segment was sealed: it holds its own records only.
    const uint64_t last = segments().back();
    uint64_t valid = 0;
    bool torn = true;
    ASSERT_TRUE(ChangeLog::replay(
                    segment(last), last, [](std::string_view) { return Status::Ok(); }, valid, torn)
                    .ok());
    EXPECT_FALSE(torn);
    expect_loads(model_);
  }
}

TEST_F(LogStoreTest, TornNewestSegmentIsCutAndLaterAppendsAreKept) {
  Model before_last;
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 2, "", "a"));
    apply(*s, inserts(3, 4, "", "b"));
    before_last = model_;
    apply(*s, inserts(5, 6, "", "c"));  // torn below, as if the crash came before its fsync
  }
  model_ = before_last;
  const uint64_t full = fs::file_size(segment(1));
  fs::resize_file(segment(1), full - 7);
  {
    Recorder r;
    auto s = open(kNoFold, SyncMode::kFull, &r);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(r.lines(), model_.lines());
    EXPECT_LT(fs::file_size(segment(1)), full - 7) << "the torn record is cut off at load";
    apply(*s, inserts(7, 7, "", "d"));
  }
  expect_loads(model_);
  // Zeros after the last record, as a file system may leave after a crash.
  {
    std::ofstream out(segment(1), std::ios::binary | std::ios::app);
    out.write(std::string(4096, '\0').data(), 4096);
  }
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(8, 8, "", "e"));
  }
  expect_loads(model_);
}

TEST_F(LogStoreTest, TornNewestSegmentAfterUnfoldedOnesIsCutAndEverythingFolds) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 2, "", "a"));
  }
  {
    ChangeLog log;  // segment 2 with a kept record and a torn one
    ASSERT_TRUE(log.open(segment(2), 2, 0).ok());
    std::string kept, torn;
    encode_batch(inserts(3, 3, "", "b"), kept);
    encode_batch(inserts(4, 4, "", "torn"), torn);
    ASSERT_TRUE(log.append(kept, true).ok());
    ASSERT_TRUE(log.append(torn, true).ok());
    model_.apply(inserts(3, 3, "", "b"));
  }
  fs::resize_file(segment(2), fs::file_size(segment(2)) - 3);
  expect_loads(model_);  // this load rotates to segment 3 and folds 1 and 2
  EXPECT_EQ(segments(), std::vector<uint64_t>{3});
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(4, 4, "", "again"));
  }
  expect_loads(model_);
}

TEST_F(LogStoreTest, DamagedOlderSegmentFailsTheLoad) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 2, "", "a"));
    apply(*s, inserts(3, 4, "", "b"));
  }
  write_segment(2, {inserts(5, 5, "", "c")});
  const std::string clean = read_file(segment(1));
  struct Damage {
    const char* what;
    std::string bytes;
  };
  std::string flipped = clean;
  flipped[clean.size() - 2] ^= 0x20;  // in the last record's payload
  for (const Damage& d :
       {Damage{"flipped byte", flipped}, Damage{"truncated", clean.substr(0, clean.size() - 5)},
        Damage{"garbage after", clean + "garbage"}}) {
    SCOPED_TRACE(d.what);
    write_file(segment(1), d.bytes);
    const uint64_t size1 = fs::file_size(segment(1)), size2 = fs::file_size(segment(2));
    EmbeddedOptions o;
    o.dir = dir_;
    auto s = open_embedded(o);
    ASSERT_TRUE(s.ok()) << s.status().detail();
    Recorder r;
    Status st = (*s)->load(r);
    EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
    EXPECT_NE(st.detail().find(segment(1)), std::string::npos) << st.detail();
    EXPECT_NE(st.detail().find("not the newest"), std::string::npos) << st.detail();
    EXPECT_TRUE(r.entities.empty()) << "nothing is visited from a store that fails to load";
    s->reset();
    // The evidence stays: neither segment is cut, folded or deleted.
    EXPECT_EQ(segments(), (std::vector<uint64_t>{1, 2}));
    EXPECT_EQ(fs::file_size(segment(1)), size1);
    EXPECT_EQ(fs::file_size(segment(2)), size2);
  }
}

// A crash after rotations but before any fold committed leaves several segments: load() reads
// them all and folds every one but the newest.
TEST_F(LogStoreTest, SegmentsLeftByACrashBeforeTheFoldAreReadAndFolded) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 3, "", "a"));
  }
  WriteBatch b2;
  b2.update_entity(1, "{\"seg\":2}");
  b2.delete_entity(2);
  write_segment(2, {b2, inserts(4, 4, "x", "b")});
  WriteBatch b3;
  b3.update_entity(4, "{\"seg\":3}");
  b3.put_entity(3, "", "urn:ngsi-ld:E:3", "{\"seg\":3}");
  write_segment(3, {b3});
  expect_loads(model_);
  EXPECT_EQ(segments(), std::vector<uint64_t>{4}) << "segments 1 to 3 are folded at start";
  EXPECT_EQ(fs::file_size(segment(4)), 0u);
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
  expect_loads(model_);
}

// A crash after a fold committed but before it deleted its segments: the checkpoint records
// which segments it holds, so they are deleted at start rather than read again.
TEST_F(LogStoreTest, SegmentsFoldedButNotDeletedAreDeletedAtStart) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch a = inserts(1, 5, "a", "v1-");
    a.create_tenant("a");
    a.update_entity(2, "{\"v\":\"v2-2\"}");
    a.delete_entity(3);
    apply(*s, a);
  }
  const std::string folded_segment = read_file(segment(1));
  fold_now();
  ASSERT_EQ(segments(), std::vector<uint64_t>{2});
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.update_entity(1, "{\"v\":\"v2-1\"}");
    b.delete_entity(2);
    b.insert_entity(6, "a", "urn:ngsi-ld:E:6", "{}");
    b.update_entity(4, "{\"v\":\"v2-4\"}");
    apply(*s, b);
  }
  write_file(segment(1), folded_segment);  // the unlink that the crash prevented
  expect_loads(model_);
  EXPECT_EQ(segments(), std::vector<uint64_t>{2});
  expect_loads(model_);
  fold_now();
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
}

// A fold deletes its segments newest first, so a crash among the deletions can leave an older
// folded segment without the newer ones: read again over the checkpoint, its states would hide
// the newer states the checkpoint holds (an acknowledged update undone at start).
TEST_F(LogStoreTest, AnOldFoldedSegmentLeftByACrashDoesNotUndoNewerStates) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 2, "", "v1-"));
  }
  const std::string old_segment = read_file(segment(1));
  WriteBatch b;
  b.update_entity(1, "{\"v\":\"v2-1\"}");
  write_segment(2, {b});
  fold_now();  // folds segments 1 and 2 together
  ASSERT_EQ(segments(), std::vector<uint64_t>{3});
  write_file(segment(1), old_segment);  // segment 2 was deleted, 1 not yet
  expect_loads(model_);
  EXPECT_EQ(segments(), std::vector<uint64_t>{3});
}

// Issue 14, item 6: a file of the store missing at start (deleted, lost with a disk, left out of
// a copy) stopped nothing: the server served the rest. Each case below must stop the load with a
// message naming what is missing and the way out, and start once that way is taken.
class MissingFilesTest : public LogStoreTest {
 protected:
  // Entities 1-10 folded into the checkpoint, 11-12 in segment 2 (the newest).
  void SetUp() override {
    LogStoreTest::SetUp();
    {
      auto s = open();
      ASSERT_NE(s, nullptr);
      apply(*s, inserts(1, 10, "", "a"));
    }
    fold_now();
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(11, 12, "", "b"));
    ASSERT_EQ(segments(), std::vector<uint64_t>{2});
  }

  // The load's error (empty when it loaded).
  std::string load_error(bool accept = false) {
    EmbeddedOptions o;
    o.dir = dir_;
    o.checkpoint_bytes = kNoFold;
    o.accept_missing = accept;
    auto s = open_embedded(o);
    if (!s.ok()) return s.status().detail();
    Recorder r;
    Status st = (*s)->load(r);
    loaded_ = r.lines();
    return st.ok() ? "" : st.detail();
  }
  void expect_refused(const std::string& what) {
    std::string e = load_error();
    EXPECT_NE(e.find(what), std::string::npos) << e;
    EXPECT_NE(e.find("--missing-store-files accept"), std::string::npos) << e;
    // Refusing changes nothing: refused again.
    EXPECT_NE(load_error().find(what), std::string::npos);
  }
  std::vector<std::string> loaded_;
};

TEST_F(MissingFilesTest, ACompleteStoreLoads) {
  EXPECT_EQ(load_error(), "");
  EXPECT_EQ(loaded_, model_.lines());
}

TEST_F(MissingFilesTest, ADeletedCheckpointStopsTheLoad) {
  fs::remove(dir_ + "/tsunagu.db");
  expect_refused("tsunagu.db is missing, emptied or older than the change log");
  // Accepted: what the log holds, and from then on a store that loads as it is.
  EXPECT_EQ(load_error(true), "");
  EXPECT_EQ(loaded_.size(), 2u);
  EXPECT_EQ(load_error(), "");
  EXPECT_EQ(loaded_.size(), 2u);
}

// Before the first fold the checkpoint holds nothing the log does not: losing it loses nothing.
TEST_F(LogStoreTest, ACheckpointIntoWhichNothingWasFoldedMayGo) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 3, "", "a"));
  }
  fs::remove(dir_ + "/tsunagu.db");
  expect_loads(model_);
}

TEST_F(MissingFilesTest, AnEmptiedCheckpointStopsTheLoad) {
  fs::resize_file(dir_ + "/tsunagu.db", 0);
  expect_refused("tsunagu.db is missing, emptied or older than the change log");
}

TEST_F(MissingFilesTest, ATruncatedCheckpointStopsTheLoad) {
  {
    auto s = open();
    WriteBatch big;
    for (uint64_t row = 100; row < 400; ++row)
      big.insert_entity(row, "", "urn:e:" + std::to_string(row), std::string(3000, 'x'));
    apply(*s, big);
  }
  fold_now();
  const std::string db = dir_ + "/tsunagu.db";
  fs::resize_file(db, fs::file_size(db) / 2);
  std::string e = load_error();
  EXPECT_NE(e.find("tsunagu.db"), std::string::npos) << e;
  EXPECT_NE(e.find("move the file away and start once with --missing-store-files accept"),
            std::string::npos)
      << e;
  // Moved away, as the message says: the start is refused as for a deleted checkpoint, and
  // accepted it serves what the log holds (entities 11-12; the rest was folded).
  fs::rename(db, db + ".damaged");
  expect_refused("tsunagu.db is missing");
  EXPECT_EQ(load_error(true), "");
  EXPECT_EQ(loaded_.size(), 0u);
}

TEST_F(MissingFilesTest, AnOlderCopyOfTheCheckpointStopsTheLoad) {
  const std::string older = read_file(dir_ + "/tsunagu.db");
  {
    auto s = open();
    apply(*s, inserts(13, 13, "", "c"));
  }
  fold_now();  // folds segment 2 (entities 11-13); segment 3 is the newest
  write_file(dir_ + "/tsunagu.db", older);
  expect_refused("it holds the log up to segment 1");
}

TEST_F(MissingFilesTest, TheDeletedNewestSegmentStopsTheLoad) {
  fs::remove(segment(2));
  expect_refused("the change log segment changes-000000000002.log is missing");
  EXPECT_EQ(load_error(true), "");
  EXPECT_EQ(loaded_.size(), 10u);
  EXPECT_EQ(load_error(), "");
}

TEST_F(MissingFilesTest, AMissingSegmentBetweenOthersStopsTheLoad) {
  WriteBatch b3, b4;
  b3.update_entity(1, "{}");
  b4.update_entity(2, "{}");
  write_segment(3, {b3});
  write_segment(4, {b4});
  fs::remove(segment(3));
  expect_refused("the change log segment changes-000000000003.log is missing");
  fs::remove(segment(2));
  expect_refused("segments changes-000000000002.log to changes-000000000003.log are missing");
  // Accepted, the remaining segments are folded at once, so the next start finds no gap.
  EXPECT_EQ(load_error(true), "");
  EXPECT_EQ(load_error(), "");
}

TEST_F(MissingFilesTest, TheStateFileDeletedToo) {
  // With STATE gone as well, the checkpoint's own note still tells that segment 2 is needed.
  fs::remove(dir_ + "/STATE");
  fs::remove(segment(2));
  expect_refused("changes-000000000002.log is missing");
}

TEST_F(MissingFilesTest, ADamagedStateFileStopsTheLoad) {
  write_file(dir_ + "/STATE", "garbage\n");
  std::string e = load_error();
  EXPECT_NE(e.find("STATE is damaged"), std::string::npos) << e;
}

// A store an older version wrote has no STATE and its checkpoint no note: it loads as it is, and
// is recorded so from then on.
TEST_F(LogStoreTest, AStoreWithoutItsRecordsLoadsAndIsRecorded) {
  write_segment(5, {inserts(1, 2, "", "a")});
  write_segment(6, {inserts(3, 3, "", "b")});
  expect_loads(model_);
  EXPECT_TRUE(fs::exists(dir_ + "/STATE"));
  // Two segments at start are folded at once; the newest is the one after them.
  EXPECT_EQ(segments(), std::vector<uint64_t>{7});
  fs::remove(segment(7));
  EmbeddedOptions o;
  o.dir = dir_;
  auto s = open_embedded(o);
  ASSERT_TRUE(s.ok());
  Recorder r;
  Status st = (*s)->load(r);
  EXPECT_NE(st.detail().find("changes-000000000007.log is missing"), std::string::npos)
      << st.detail();
}

TEST_F(LogStoreTest, FoldingLeavesOnlyTheNewestSegmentAndTheCheckpointHoldsTheRest) {
  // Four sessions of ~9 KiB each with a 2 KiB threshold: each rotates at least once (a rotation
  // is only skipped while a fold runs, and no fold runs before a session's first rotation, at
  // load or at its first crossing of the threshold). How many more is up to the fold thread.
  uint64_t row = 0;
  for (int session = 0; session < 4; ++session) {
    auto s = open(2048, SyncMode::kNormal);
    ASSERT_NE(s, nullptr);
    for (int i = 0; i < 30; ++i) {
      ++row;
      WriteBatch b = inserts(row, row, "", std::string(200, 'p'));
      if (row > 3) b.update_entity(row - 2, "{\"u\":" + std::to_string(row) + "}");
      if (row > 10 && row % 7 == 0) b.delete_entity(row - 9);
      apply(*s, b);
    }
    s.reset();
    std::vector<uint64_t> segs = segments();
    ASSERT_EQ(segs.size(), 1u) << "folded segments are deleted once the fold finishes";
    EXPECT_GE(segs.front(), static_cast<uint64_t>(session + 2));
  }
  EXPECT_GT(checkpoint_only().entities.size(), 0u);
  expect_loads(model_);
  fold_now();
  std::vector<uint64_t> segs = segments();
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(fs::file_size(segment(segs.front())), 0u);
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
}

TEST_F(LogStoreTest, RandomBatchesAcrossFoldsAndRestartsMatchAModel) {
  std::mt19937 rng(20240611);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> tenants = {"", "a", "b", "c"};
  uint64_t next_row = 1;
  int batches = 0;
  for (uint64_t threshold : {uint64_t{1}, uint64_t{700}, uint64_t{4096}, kNoFold, uint64_t{300}}) {
    SCOPED_TRACE("threshold " + std::to_string(threshold));
    Recorder r;
    auto s = open(threshold, SyncMode::kNormal, &r);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(r.problems, std::vector<std::string>{});
    ASSERT_EQ(r.lines(), model_.lines()) << "after " << batches << " batches";
    for (int i = 0; i < 150; ++i, ++batches) {
      Model draft = model_;
      WriteBatch b;
      for (size_t n = 1 + pick(5); n > 0; --n) {
        std::vector<uint64_t> rows;
        for (const auto& [row, _] : draft.rows)
          rows.push_back(row);
        size_t dice = pick(100);
        WriteBatch op;
        std::string doc = "{\"d\":\"" + std::string(pick(300), 'x') + std::to_string(rng()) + "\"}";
        if (dice < 10) {
          op.create_tenant(tenants[pick(tenants.size())]);
        } else if (dice < 20) {
          const std::string& tenant = tenants[pick(tenants.size())];
          const std::string key = "urn:s:" + std::to_string(pick(6));
          if (dice < 14) {
            op.delete_record(pick(2) ? "subscription" : "registration", tenant, key);
          } else {
            op.put_record(pick(2) ? "subscription" : "registration", tenant, key, doc);
          }
        } else if (dice < 45 || rows.empty()) {
          uint64_t row = next_row++;
          op.insert_entity(row, tenants[pick(tenants.size())], "urn:r:" + std::to_string(row), doc);
        } else {
          uint64_t row = rows[pick(rows.size())];
          if (dice < 70) {
            op.update_entity(row, doc);
          } else if (dice < 80) {
            op.put_entity(row, draft.rows[row].tenant, draft.rows[row].id, doc);
          } else {
            op.delete_entity(row);
          }
        }
        draft.apply(op);
        b.ops.push_back(op.ops.front());
      }
      apply(*s, b);
    }
  }
  expect_loads(model_);
  fold_now();
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
}

// Regression: the engine numbers new entities from the highest row it loaded, so a row freed by
// a delete is given to a new entity after a restart. With the deleted entity in the checkpoint
// and the delete and the new insert in the log, the load must give the new entity's tenant and
// id, not the old ones (the new entity would otherwise appear under the old id in the old
// tenant).
TEST_F(LogStoreTest, RowReusedAfterADeleteLoadsWithTheNewTenantAndId) {
  {
    auto s = open(1);
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.create_tenant("a");
    b.insert_entity(1, "a", "urn:keep", "{\"keep\":1}");
    b.insert_entity(2, "a", "urn:X", "{\"x\":1}");
    apply(*s, b);
  }
  ASSERT_EQ(checkpoint_only().entities.size(), 2u);
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch del;
    del.delete_entity(2);
    apply(*s, del);
  }
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.create_tenant("b");
    b.insert_entity(2, "b", "urn:Y", "{\"y\":1}");
    apply(*s, b);
  }
  expect_loads(model_);
  fold_now();
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
}

// Each append is fdatasynced before the next one starts, so a crash can only tear the last
// record of the newest segment. A damaged record followed by intact ones is damage to
// acknowledged data: the load must report it rather than silently cut every later record.
TEST_F(LogStoreTest, DamageBeforeIntactRecordsOfTheNewestSegmentFailsTheLoad) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    apply(*s, inserts(1, 1, "", "a"));
    apply(*s, inserts(2, 2, "", "b"));
    apply(*s, inserts(3, 3, "", "c"));
  }
  std::string data = read_file(segment(1));
  data[kHeader + 6] ^= 0x01;  // in the first record's payload
  write_file(segment(1), data);
  EmbeddedOptions o;
  o.dir = dir_;
  auto s = open_embedded(o);
  ASSERT_TRUE(s.ok()) << s.status().detail();
  Recorder r;
  Status st = (*s)->load(r);
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError)
      << "loaded " << r.entities.size() << " of 3 acknowledged entities without an error";
  s->reset();
  EXPECT_EQ(fs::file_size(segment(1)), data.size()) << "the damaged log must not be cut";
}

}  // namespace
}  // namespace tsunagu::store

namespace tsunagu::store {
namespace {

// Transient records (Store::declare_transient): a put settled by the time it is folded never
// reaches the checkpoint, nor does one put and deleted within the log; one still unsettled does,
// and its deletion follows it there, also when the deletion comes after a restart.
TEST_F(LogStoreTest, SettledTransientRecordsNeverReachTheCheckpoint) {
  settle("");
  const std::string big(3000, 'x');  // as an outbox record: worth not copying
  {
    auto s = open();
    WriteBatch a;
    a.put_record("outbox", "", "1", "settled " + big);
    a.put_record("outbox", "", "2", "waiting " + big);
    a.put_record("outbox", "t", "3", "deleted " + big);
    a.put_record("subscription", "", "1", "not transient");
    apply(*s, a);
    WriteBatch b;
    b.delete_record("outbox", "t", "3");
    apply(*s, b);
    settle("1");  // its notifications left; its deletion is not logged yet
    settle("3");
  }
  fold_now();
  EXPECT_EQ(segments(), std::vector<uint64_t>{2});
  EXPECT_EQ(checkpoint_only().records,
            (std::vector<std::string>{"record outbox [] 2 = waiting " + big,
                                      "record subscription [] 1 = not transient"}));
  // Settled and never deleted, record 1 is forgotten: a crash before its deletion would lose it
  // the same way, which its owner declared harmless.
  model_.records.erase({"outbox", "", "1"});
  expect_loads(model_);
  {
    auto s = open();
    WriteBatch c;
    c.delete_record("outbox", "", "1");  // the deletion logged at last: nothing to delete
    c.delete_record("outbox", "", "2");  // held by the checkpoint, which this start found
    apply(*s, c);
    settle("2");
  }
  fold_now();
  EXPECT_EQ(checkpoint_only().records,
            std::vector<std::string>{"record subscription [] 1 = not transient"});
  expect_loads(model_);
}

// An unsettled record is folded like any other, and settling it later changes nothing until its
// deletion: the checkpoint keeps it, and every start loads it.
TEST_F(LogStoreTest, UnsettledTransientRecordsAreFoldedAndKept) {
  settle("");
  {
    auto s = open(1);  // every batch rotates; the destructor finishes the fold
    for (int i = 0; i < 4; ++i) {
      WriteBatch b;
      b.put_record("outbox", "", std::to_string(i), "v" + std::to_string(i));
      if (i > 0) b.put_record("outbox", "", "0", "replaced " + std::to_string(i));
      apply(*s, b);
    }
  }
  fold_now();
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
  settle("1");
  expect_loads(model_);
  fold_now();  // nothing logged: the settled record stays where it is until it is deleted
  EXPECT_EQ(checkpoint_only().lines(), model_.lines());
}

// Transient documents do not bring the next fold closer, up to four times the threshold: a fold
// costs SQLite page writes per entity row, shared by more rows when folds are fewer.
TEST_F(LogStoreTest, TransientRecordsDoNotCountTowardsTheFold) {
  settle("");
  auto s = open(4096);
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 4; ++i) {
    WriteBatch b;
    b.put_record("outbox", "", std::to_string(i), std::string(3000, 'o'));
    apply(*s, b);
  }
  EXPECT_EQ(segments(), std::vector<uint64_t>{1}) << "12,000 bytes of transient records only";
  WriteBatch e;
  e.insert_entity(1, "", "urn:ngsi-ld:E:1", std::string(4096, 'e'));
  apply(*s, e);
  EXPECT_EQ(segments().back(), 2u) << "4,096 bytes of an entity start the next segment";
  // A rotation waits while a fold runs: let the fold of segment 1 end (it deletes the segment).
  for (int wait = 0; wait < 5000 && segments().front() == 1; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 4; i < 10; ++i) {
    WriteBatch b;
    b.put_record("outbox", "", std::to_string(i), std::string(3000, 'o'));
    apply(*s, b);
  }
  s.reset();  // the fold in progress, if any, finishes
  EXPECT_EQ(segments().back(), 3u) << "18,000 bytes of transient records are over the bound";
  expect_loads(model_);
}

TEST_F(LogStoreTest, TransientKindsAreDeclaredBeforeLoad) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  Status st =
      s->declare_transient("outbox", [](std::string_view, std::string_view) { return true; });
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace tsunagu::store
