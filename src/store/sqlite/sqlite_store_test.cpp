#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "store/sqlite/test_shell.hpp"
#include "store/store.hpp"

namespace tsunagu::store {
namespace {

namespace fs = std::filesystem;
using ::tsunagu::testing::Shell;

// Everything a store holds, in visiting order.
class Recorder : public LoadVisitor {
 public:
  Status tenant(std::string_view name) override {
    EXPECT_TRUE(entities.empty()) << "tenants must be visited before entities";
    tenants.emplace_back(name);
    return Status::Ok();
  }
  Status entity(uint64_t row, std::string_view tenant, std::string_view id,
                std::string_view doc) override {
    EXPECT_GT(row, last_row) << "entities must be visited in row order";
    last_row = row;
    entities[{std::string(tenant), std::string(id)}] = std::string(doc);
    rows[{std::string(tenant), std::string(id)}] = row;
    return Status::Ok();
  }
  std::vector<std::string> tenants;
  std::map<std::pair<std::string, std::string>, std::string> entities;
  std::map<std::pair<std::string, std::string>, uint64_t> rows;
  uint64_t last_row = 0;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (fs::path(dir_) / "tsunagu.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> open(SyncMode sync = SyncMode::kFull) {
    auto s = open_sqlite({path_, sync});
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static Recorder load(Store& s) {
    Recorder r;
    Status st = s.load(r);
    EXPECT_TRUE(st.ok()) << st.detail();
    return r;
  }

  std::string dir_, path_;
};

TEST_F(SqliteStoreTest, OpenCreatesTheDatabase) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(fs::exists(path_));
  EXPECT_EQ(s->describe(), "sqlite:" + path_);
  Recorder r = load(*s);
  EXPECT_TRUE(r.tenants.empty());
  EXPECT_TRUE(r.entities.empty());
  Shell sh(path_);
  EXPECT_EQ(sh.text("SELECT value FROM meta WHERE key = 'schema_version'"), "5");
}

// A version-1 database (SQLite-numbered rows, unique (tenant, id)) is migrated in place.
TEST_F(SqliteStoreTest, VersionOneIsMigrated) {
  {
    Shell sh(path_);
    sh.exec(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "CREATE TABLE tenants (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);"
        "CREATE TABLE entities (tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,"
        " UNIQUE (tenant, id));"
        "INSERT INTO tenants VALUES ('tokyo', 0);"
        "INSERT INTO entities VALUES ('tokyo', 'urn:a', 'A'), ('', 'urn:b', 'B');");
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  Recorder r = load(*s);
  EXPECT_EQ(r.tenants, std::vector<std::string>{"tokyo"});
  EXPECT_EQ((r.entities[{"tokyo", "urn:a"}]), "A");
  EXPECT_EQ((r.entities[{"", "urn:b"}]), "B");
  EXPECT_EQ((r.rows[{"tokyo", "urn:a"}]), 1u);
  EXPECT_EQ((r.rows[{"", "urn:b"}]), 2u);
  EXPECT_EQ(Shell(path_).text("SELECT value FROM meta WHERE key = 'schema_version'"), "5");
}

// A version-2 database has the tables of version 3 and documents it reads the same: only the
// number changes, and the rows stay as they were.
TEST_F(SqliteStoreTest, VersionTwoIsMigrated) {
  open();
  {
    Shell sh(path_);
    sh.exec(
        "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
        "INSERT INTO tenants VALUES ('tokyo', 0);"
        "INSERT INTO entities VALUES (7, 'tokyo', 'urn:a', 'A');");
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  Recorder r = load(*s);
  EXPECT_EQ((r.entities[{"tokyo", "urn:a"}]), "A");
  EXPECT_EQ((r.rows[{"tokyo", "urn:a"}]), 7u);
  EXPECT_EQ(Shell(path_).text("SELECT value FROM meta WHERE key = 'schema_version'"), "5");
}

TEST_F(SqliteStoreTest, WalModeIsOn) {
  for (SyncMode m : {SyncMode::kFull, SyncMode::kNormal}) {
    auto s = open(m);
    ASSERT_NE(s, nullptr);
    Shell sh(path_);
    EXPECT_EQ(sh.text("PRAGMA journal_mode"), "wal");
  }
}

// The change log's checkpoint runs without WAL. A database last written in WAL mode by a process
// that crashed keeps committed transactions only in its -wal file: opening it in rollback mode
// must bring them into the database, not lose them.
TEST_F(SqliteStoreTest, CommitsLeftInAWalFileSurviveTheSwitchToARollbackJournal) {
  const std::string copy_dir = dir_ + "/crashed";
  fs::create_directory(copy_dir);
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.create_tenant("tokyo");
    b.insert_entity(1, "tokyo", "urn:a", "A");
    b.insert_entity(2, "tokyo", "urn:b", "B");
    ASSERT_TRUE(s->apply(b).ok());
    // The files as a kill -9 would leave them, taken while the connection is still open.
    ASSERT_TRUE(fs::exists(path_ + "-wal"));
    ASSERT_GT(fs::file_size(path_ + "-wal"), 0u);
    fs::copy_file(path_, copy_dir + "/tsunagu.db");
    fs::copy_file(path_ + "-wal", copy_dir + "/tsunagu.db-wal");
  }
  SqliteOptions o;
  o.path = copy_dir + "/tsunagu.db";
  o.wal = false;
  auto s = open_sqlite(o);
  ASSERT_TRUE(s.ok()) << s.status().detail();
  EXPECT_FALSE(fs::exists(o.path + "-wal")) << "the WAL was not folded in and removed";
  WriteBatch more;
  more.update_entity(2, "B2");
  ASSERT_TRUE((*s)->apply(more).ok());
  Recorder r = load(**s);
  EXPECT_EQ(r.tenants, std::vector<std::string>{"tokyo"});
  EXPECT_EQ((r.entities[{"tokyo", "urn:a"}]), "A");
  EXPECT_EQ((r.entities[{"tokyo", "urn:b"}]), "B2");
  s->reset();
  EXPECT_FALSE(fs::exists(o.path + "-wal"));
}

TEST_F(SqliteStoreTest, ApplyAndLoad) {
  auto s = open();
  WriteBatch b;
  b.create_tenant("tokyo");
  b.create_tenant("osaka");
  b.insert_entity(1, "tokyo", "urn:a", R"({"id":"urn:a"})");
  b.insert_entity(2, "", "urn:b", R"({"id":"urn:b"})");
  b.insert_entity(3, "osaka", "urn:a", R"({"id":"urn:a","x":1})");
  ASSERT_TRUE(s->apply(b).ok());
  Recorder r = load(*s);
  EXPECT_EQ(r.tenants, (std::vector<std::string>{"osaka", "tokyo"}));
  EXPECT_EQ(r.entities.size(), 3u);
  EXPECT_EQ((r.entities[{"tokyo", "urn:a"}]), R"({"id":"urn:a"})");
  EXPECT_EQ((r.entities[{"osaka", "urn:a"}]), R"({"id":"urn:a","x":1})");
  EXPECT_EQ((r.entities[{"", "urn:b"}]), R"({"id":"urn:b"})");
}

TEST_F(SqliteStoreTest, UpdateReplacesAndDeleteRemoves) {
  auto s = open();
  WriteBatch b;
  b.insert_entity(1, "", "urn:a", "1");
  b.update_entity(1, "2");  // later ops in a batch win
  b.insert_entity(2, "", "urn:b", "b");
  ASSERT_TRUE(s->apply(b).ok());
  WriteBatch c;
  c.update_entity(1, "3");
  c.delete_entity(2);
  c.delete_entity(99);  // deleting what is not there is no error
  c.create_tenant("t");
  c.create_tenant("t");  // nor is creating a tenant twice
  ASSERT_TRUE(s->apply(c).ok());
  Recorder r = load(*s);
  EXPECT_EQ(r.entities.size(), 1u);
  EXPECT_EQ((r.entities[{"", "urn:a"}]), "3");
  EXPECT_EQ(r.tenants, std::vector<std::string>{"t"});
}

// Updating a row the store does not have is the engine's bug, never silently ignored.
TEST_F(SqliteStoreTest, UpdateOfAMissingRowFails) {
  auto s = open();
  WriteBatch b;
  b.update_entity(7, "x");
  Status st = s->apply(b);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("row 7"), std::string::npos) << st.detail();
}

TEST_F(SqliteStoreTest, EmptyBatchIsOk) {
  auto s = open();
  EXPECT_TRUE(s->apply(WriteBatch{}).ok());
}

TEST_F(SqliteStoreTest, DocumentsAreKeptByteForByte) {
  auto s = open();
  std::string big(1 << 20, 'x');
  std::string utf8 =
      "{\"name\":\"\xe4\xb8\x8a\xe9\x87\x8e\",\"q\":\"'\\\"; DROP TABLE entities;--\"}";
  WriteBatch b;
  b.insert_entity(1, "t\xc3\xa9", "urn:big", big);
  b.insert_entity(2, "t\xc3\xa9", "urn:utf8:\xe4\xb8\x8a", utf8);
  ASSERT_TRUE(s->apply(b).ok());
  Recorder r = load(*s);
  EXPECT_EQ((r.entities[{"t\xc3\xa9", "urn:big"}]), big);
  EXPECT_EQ((r.entities[{"t\xc3\xa9", "urn:utf8:\xe4\xb8\x8a"}]), utf8);
}

TEST_F(SqliteStoreTest, ReopenLoadsWhatWasCommitted) {
  {
    auto s = open();
    WriteBatch b;
    b.create_tenant("tokyo");
    for (int i = 0; i < 100; ++i) {
      b.insert_entity(i + 1, "tokyo", "urn:e:" + std::to_string(i), std::to_string(i));
    }
    ASSERT_TRUE(s->apply(b).ok());
    WriteBatch d;
    d.delete_entity(51);
    ASSERT_TRUE(s->apply(d).ok());
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  Recorder r = load(*s);
  EXPECT_EQ(r.tenants, std::vector<std::string>{"tokyo"});
  EXPECT_EQ(r.entities.size(), 99u);
  EXPECT_EQ((r.entities[{"tokyo", "urn:e:7"}]), "7");
  EXPECT_EQ(r.entities.count({"tokyo", "urn:e:50"}), 0u);
}

// A batch whose op fails leaves nothing behind, and the store keeps working.
TEST_F(SqliteStoreTest, FailingOpRollsBackTheWholeBatch) {
  auto s = open();
  WriteBatch before;
  before.insert_entity(1, "", "urn:keep", "old");
  before.insert_entity(2, "", "urn:doomed", "still here");
  ASSERT_TRUE(s->apply(before).ok());
  Shell(path_).exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON entities WHEN NEW.id = 'urn:fail' "
      "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END");
  WriteBatch b;
  b.create_tenant("new-tenant");
  b.update_entity(1, "new");
  b.delete_entity(2);
  b.insert_entity(3, "", "urn:fail", "x");
  b.insert_entity(4, "", "urn:after", "x");
  Status st = s->apply(b);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("refused by trigger"), std::string::npos) << st.detail();
  Recorder r = load(*s);
  EXPECT_TRUE(r.tenants.empty());
  EXPECT_EQ((r.entities[{"", "urn:keep"}]), "old");
  EXPECT_EQ((r.entities[{"", "urn:doomed"}]), "still here");
  EXPECT_EQ(r.entities.count({"", "urn:after"}), 0u);
  // The next batch is unaffected.
  WriteBatch next;
  next.update_entity(1, "newer");
  ASSERT_TRUE(s->apply(next).ok());
  EXPECT_EQ((load(*s).entities[{"", "urn:keep"}]), "newer");
  // And a reopened store sees the same.
  s.reset();
  auto again = open();
  Recorder r2 = load(*again);
  EXPECT_EQ((r2.entities[{"", "urn:keep"}]), "newer");
  EXPECT_EQ(r2.entities.count({"", "urn:fail"}), 0u);
}

TEST_F(SqliteStoreTest, MissingTableFailsTheBatchAtomically) {
  auto s = open();
  Shell(path_).exec("DROP TABLE entities");
  WriteBatch b;
  b.create_tenant("t");
  b.insert_entity(1, "t", "urn:a", "x");
  Status st = s->apply(b);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  Shell sh(path_);
  EXPECT_EQ(sh.text("SELECT count(*) FROM tenants"), "0");
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  open();
  Shell(path_).exec("UPDATE meta SET value = '6' WHERE key = 'schema_version'");
  auto s = open_sqlite({path_, SyncMode::kFull});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().kind(), ErrorKind::kInternalError);
  EXPECT_NE(s.status().detail().find("schema version 6"), std::string::npos) << s.status().detail();
  // Nothing was changed by the refused open.
  EXPECT_EQ(Shell(path_).text("SELECT value FROM meta WHERE key = 'schema_version'"), "6");
}

// A version-3 database (no records table) gains the table and keeps its rows and notes.
TEST_F(SqliteStoreTest, VersionThreeGainsTheRecordsTable) {
  open();
  {
    Shell sh(path_);
    sh.exec(
        "DROP TABLE records;"
        "DROP TABLE history_chunks;"
        "UPDATE meta SET value = '3' WHERE key = 'schema_version';"
        "INSERT INTO meta VALUES ('note.log.folded_upto', '4');"
        "INSERT INTO tenants VALUES ('tokyo', 0);"
        "INSERT INTO entities VALUES (7, 'tokyo', 'urn:a', 'A');");
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Shell(path_).text("SELECT value FROM meta WHERE key = 'schema_version'"), "5");
  EXPECT_EQ(s->note("log.folded_upto")->value_or("none"), "4");
  WriteBatch b;
  b.put_record("subscription", "tokyo", "urn:s", "S");
  ASSERT_TRUE(s->apply(std::move(b)).ok());
  struct Records : Recorder {
    Status record(std::string_view kind, std::string_view tenant, std::string_view key,
                  std::string_view doc) override {
      seen.push_back(std::string(kind) + "/" + std::string(tenant) + "/" + std::string(key) + "=" +
                     std::string(doc));
      return Status::Ok();
    }
    std::vector<std::string> seen;
  } r;
  ASSERT_TRUE(s->load(r).ok());
  EXPECT_EQ((r.rows[{"tokyo", "urn:a"}]), 7u);
  EXPECT_EQ(r.seen, std::vector<std::string>{"subscription/tokyo/urn:s=S"});
  EXPECT_EQ(Shell(path_).text("SELECT doc FROM records WHERE kind = 'subscription'"), "S");
}

// A version-4 database (no history) gains the history table and its index, and keeps the rest.
TEST_F(SqliteStoreTest, VersionFourGainsTheHistoryTable) {
  open();
  {
    Shell sh(path_);
    sh.exec(
        "DROP TABLE history_chunks;"
        "UPDATE meta SET value = '4' WHERE key = 'schema_version';"
        "INSERT INTO entities VALUES (7, '', 'urn:a', 'A');");
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  Shell sh(path_);
  EXPECT_EQ(sh.text("SELECT value FROM meta WHERE key = 'schema_version'"), "5");
  EXPECT_EQ(sh.text("SELECT count(*) FROM sqlite_master WHERE name = 'history_chunks_by_series'"),
            "1");
  EXPECT_EQ((load(*s).rows[{"", "urn:a"}]), 7u);
  history::Instance in;
  in.observed_at = 1;
  auto chunk = history::encode_chunk(std::vector{in});
  ASSERT_TRUE(chunk.ok());
  WriteBatch b;
  b.append_history(1, *chunk);
  ASSERT_TRUE(s->apply(std::move(b)).ok());
  EXPECT_EQ(sh.text("SELECT count FROM history_chunks WHERE series = 1"), "1");
}

// A failing op rolls back the record ops of its batch with everything else.
TEST_F(SqliteStoreTest, RecordOpsRollBackWithTheirBatch) {
  auto s = open();
  WriteBatch ok;
  ok.put_record("subscription", "", "kept", "1");
  ASSERT_TRUE(s->apply(std::move(ok)).ok());
  WriteBatch bad;
  bad.put_record("subscription", "", "kept", "2");
  bad.delete_record("subscription", "", "kept");
  bad.put_record("subscription", "", "new", "3");
  bad.update_entity(99, "{}");  // no such row: the batch fails
  EXPECT_FALSE(s->apply(std::move(bad)).ok());
  Shell sh(path_);
  EXPECT_EQ(sh.text("SELECT group_concat(key || '=' || doc) FROM records"), "kept=1");
}

// Notes (a layered store's bookkeeping) are written with the batch they come in, atomically.
TEST_F(SqliteStoreTest, NotesAreWrittenWithTheirBatch) {
  auto s = open();
  auto none = s->note("log.folded_upto");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(s->apply_views({{WriteBatch::OpKind::kInsertEntity, 1, "", "urn:a", "{}"},
                              {WriteBatch::OpKind::kNote, 0, {}, "log.folded_upto", "7"}})
                  .ok());
  // A batch that fails leaves the note as it was.
  EXPECT_FALSE(s->apply_views({{WriteBatch::OpKind::kNote, 0, {}, "log.folded_upto", "8"},
                               {WriteBatch::OpKind::kUpdateEntity, 99, {}, {}, "{}"}})
                   .ok());
  auto again = open();
  auto seven = again->note("log.folded_upto");
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(seven->value_or("none"), "7");
  EXPECT_EQ(load(*again).entities.size(), 1u);
}

// A file SQLite finds damaged: the error says so, and what to do.
TEST_F(SqliteStoreTest, ADamagedFileIsReportedWithAdvice) {
  {
    auto s = open();
    WriteBatch b;
    for (uint64_t row = 1; row <= 300; ++row)
      b.insert_entity(row, "", "urn:e:" + std::to_string(row), std::string(3000, 'x'));
    ASSERT_TRUE(s->apply(b).ok());
  }
  fs::resize_file(path_, fs::file_size(path_) / 2);
  auto s = open_sqlite({path_, SyncMode::kFull});
  Status st = s.ok() ? (*s)->load(*std::make_unique<Recorder>()) : s.status();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.detail().find("the file is damaged"), std::string::npos) << st.detail();
  EXPECT_NE(st.detail().find("--missing-store-files accept"), std::string::npos) << st.detail();
}

TEST_F(SqliteStoreTest, OpenFailures) {
  auto missing_dir =
      open_sqlite({(fs::path(dir_) / "no" / "such" / "dir.db").string(), SyncMode::kFull});
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.status().kind(), ErrorKind::kInternalError);
  {
    std::ofstream f(path_);
    f << "this is not an SQLite database, but a text file long enough to have a header";
  }
  auto garbage = open_sqlite({path_, SyncMode::kFull});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().kind(), ErrorKind::kInternalError);
}

TEST_F(SqliteStoreTest, VisitorErrorsStopTheLoad) {
  auto s = open();
  WriteBatch b;
  b.insert_entity(1, "", "urn:a", "x");
  b.insert_entity(2, "", "urn:b", "y");
  ASSERT_TRUE(s->apply(b).ok());
  class Refuser : public LoadVisitor {
   public:
    Status tenant(std::string_view) override { return Status::Ok(); }
    Status entity(uint64_t, std::string_view, std::string_view id, std::string_view) override {
      ++seen;
      return Status::Internal("cannot read " + std::string(id));
    }
    int seen = 0;
  } v;
  Status st = s->load(v);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(v.seen, 1);
  EXPECT_EQ(st.detail().rfind("cannot read urn:", 0), 0u);
}

}  // namespace
}  // namespace tsunagu::store
