// The embedded store: one SQLite file in WAL mode, written by a single thread. Each WriteBatch is
// one transaction, so the engine's group commit makes many requests durable with one fsync.
// History reads run on connections of their own (history_table.hpp). Schema and versioning:
// docs/storage.md.
#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "store/sqlite/history_table.hpp"
#include "store/sqlite/statement.hpp"
#include "store/store.hpp"

namespace tsunagu::store {
namespace {

// What an operator can do about a checkpoint SQLite cannot read.
constexpr const char* kUnreadable =
    ": the file is damaged. Restore the data directory from a backup, or move the file away and "
    "start once with --missing-store-files accept to serve what the change log holds "
    "(docs/storage.md, \"Missing files\")";

// The advice to add to an error of SQLite's, for the result codes of a damaged file.
const char* advice(int rc) {
  rc &= 0xff;
  return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? kUnreadable : "";
}

constexpr int kSchemaVersion = 5;

// How long a history read waits for the writer's lock: with a rollback journal, for a commit
// (docs/storage.md, "History reads beside the fold"); with WAL, never.
constexpr int kReadBusyMs = 30000;

// The page cache. With a rollback journal, a writer whose changed pages outgrow it writes them
// into the database before its commit and holds the exclusive lock from then on: history reads
// on other connections would wait for the rest of a fold (seconds) instead of its commit. So
// the change log's checkpoint (the one user of a rollback journal) has a cache that holds the
// pages a fold of a default segment changes, and gives back what its reads and writes left in
// it after each commit (docs/storage.md, "History reads beside the fold").
constexpr int kCacheKiB = 16384;
constexpr int kJournalCacheKiB = 131072;

// Notes (WriteBatch::OpKind::kNote) share the meta table under this prefix.
constexpr std::string_view kNotePrefix = "note.";

// Version 5: the tables of version 4 and `history_chunks`, the attribute history: one row per
// chunk of a series (WriteBatch's history ops), found by (series, first_time). An older
// Tsunagu refuses the database rather than serve it without its history.
// Version 4: the tables of version 3 and `records`, documents of other kinds than entities
// (WriteBatch's record ops), keyed by (kind, tenant, key): the key's order is the order load()
// visits them in, and the documents are small, so the table has no rowid of its own. An older
// Tsunagu refuses the database rather than serve it without its records.
// Version 3: the tables of version 2; a document leaves out an attribute's createdAt and
// modifiedAt where they equal its holder's (docs/storage.md). Version 2 documents read the same,
// so migrating records the number only, and an older Tsunagu refuses the database instead of
// reading attributes without times.
// Version 2: entities keyed by the engine's row number; no index on (tenant, id), which every
// insert had to update at a random place.
constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
  row INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL,
  tenant TEXT NOT NULL,
  key TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (kind, tenant, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history_chunks (
  series INTEGER NOT NULL,
  first_time INTEGER NOT NULL,
  last_time INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS history_chunks_by_series ON history_chunks (series, first_time);
)SQL";

// Version 1 kept (tenant, id) unique in SQLite and let SQLite number the rows.
constexpr const char* kMigrateV1toV2 = R"SQL(
ALTER TABLE entities RENAME TO entities_v1;
CREATE TABLE entities (
  row INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL
);
INSERT INTO entities (row, tenant, id, doc) SELECT rowid, tenant, id, doc FROM entities_v1;
DROP TABLE entities_v1;
)SQL";

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(SqliteOptions options) : options_(std::move(options)) {}
  // sqlite3_close_v2 defers the close until the statements (members) are finalized. The read
  // connections close first, so that the writer's close is the last (it then folds a WAL file
  // into the database and removes it).
  ~SqliteStore() override {
    readers_.reset();
    sqlite3_close_v2(db_);
  }

  Status open() {
    int rc =
        sqlite3_open_v2(options_.path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      return Status::Internal("sqlite: cannot open '" + options_.path +
                              "': " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(db_, 1);
    // Entity documents are 1-4 KB: on the default 4 KiB pages most take a page of their own and
    // leave the rest empty. Takes effect only when the database is created.
    TSUNAGU_RETURN_IF_ERROR(exec("PRAGMA page_size=16384"));
    // Free pages can be given back (history retention, docs/temporal.md); like page_size, this
    // takes effect only when the database is created.
    TSUNAGU_RETURN_IF_ERROR(exec("PRAGMA auto_vacuum=INCREMENTAL"));
    TSUNAGU_RETURN_IF_ERROR(
        exec(options_.wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=TRUNCATE"));
    TSUNAGU_RETURN_IF_ERROR(exec(options_.sync == SyncMode::kFull ? "PRAGMA synchronous=FULL"
                                                                  : "PRAGMA synchronous=NORMAL"));
    TSUNAGU_RETURN_IF_ERROR(exec("PRAGMA foreign_keys=OFF"));
    // Another process (a backup, the sqlite3 shell) may hold the lock for a moment.
    TSUNAGU_RETURN_IF_ERROR(exec("PRAGMA busy_timeout=5000"));
    TSUNAGU_RETURN_IF_ERROR(
        exec(("PRAGMA cache_size=-" + std::to_string(options_.wal ? kCacheKiB : kJournalCacheKiB))
                 .c_str()));
    TSUNAGU_RETURN_IF_ERROR(
        exec(("PRAGMA mmap_size=" + std::to_string(options_.mmap_bytes)).c_str()));
    TSUNAGU_RETURN_IF_ERROR(migrate());
    TSUNAGU_RETURN_IF_ERROR(insert_.prepare(
        db_, "INSERT INTO entities (row, tenant, id, doc) VALUES (?1, ?2, ?3, ?4)"));
    TSUNAGU_RETURN_IF_ERROR(update_.prepare(db_, "UPDATE entities SET doc = ?2 WHERE row = ?1"));
    TSUNAGU_RETURN_IF_ERROR(
        put_.prepare(db_,
                     "INSERT INTO entities (row, tenant, id, doc) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (row) DO UPDATE SET tenant = excluded.tenant, id = excluded.id, "
                     "doc = excluded.doc"));
    TSUNAGU_RETURN_IF_ERROR(del_.prepare(db_, "DELETE FROM entities WHERE row = ?1"));
    TSUNAGU_RETURN_IF_ERROR(tenant_.prepare(
        db_, "INSERT OR IGNORE INTO tenants (name, created_at) VALUES (?1, strftime('%s','now'))"));
    TSUNAGU_RETURN_IF_ERROR(
        note_.prepare(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)"));
    TSUNAGU_RETURN_IF_ERROR(put_record_.prepare(
        db_, "INSERT OR REPLACE INTO records (kind, tenant, key, doc) VALUES (?1, ?2, ?3, ?4)"));
    TSUNAGU_RETURN_IF_ERROR(delete_record_.prepare(
        db_, "DELETE FROM records WHERE kind = ?1 AND tenant = ?2 AND key = ?3"));
    TSUNAGU_RETURN_IF_ERROR(begin_.prepare(db_, "BEGIN IMMEDIATE"));
    TSUNAGU_RETURN_IF_ERROR(commit_.prepare(db_, "COMMIT"));
    TSUNAGU_RETURN_IF_ERROR(history_.prepare(db_, options_.path));
    readers_ = std::make_unique<HistoryReaders>(options_.path, options_.mmap_bytes, kReadBusyMs);
    return Status::Ok();
  }

  Status apply(WriteBatch batch) override {
    std::vector<OpView> views;
    views.reserve(batch.ops.size());
    for (const auto& op : batch.ops)
      views.push_back({op.kind, op.row, op.tenant, op.id, op.doc, op.record_kind});
    return apply_views(views);
  }

  Status apply_views(const std::vector<OpView>& ops) override {
    if (ops.empty()) return Status::Ok();
    TSUNAGU_RETURN_IF_ERROR(run(begin_, "BEGIN"));
    for (const auto& op : ops) {
      Status st;
      switch (op.kind) {
        case WriteBatch::OpKind::kCreateTenant:
          tenant_.bind(1, op.tenant);
          st = run(tenant_, "insert tenant");
          break;
        case WriteBatch::OpKind::kInsertEntity:
          insert_.bind(1, static_cast<int64_t>(op.row));
          insert_.bind(2, op.tenant);
          insert_.bind(3, op.id);
          insert_.bind(4, op.doc);
          st = run(insert_, "insert entity");
          break;
        case WriteBatch::OpKind::kUpdateEntity:
          update_.bind(1, static_cast<int64_t>(op.row));
          update_.bind(2, op.doc);
          st = run(update_, "update entity");
          if (st.ok() && sqlite3_changes(db_) != 1) {
            st = Status::Internal("sqlite: entity row " + std::to_string(op.row) + " is missing");
          }
          break;
        case WriteBatch::OpKind::kPutEntity:
          put_.bind(1, static_cast<int64_t>(op.row));
          put_.bind(2, op.tenant);
          put_.bind(3, op.id);
          put_.bind(4, op.doc);
          st = run(put_, "write entity");
          break;
        case WriteBatch::OpKind::kDeleteEntity:
          del_.bind(1, static_cast<int64_t>(op.row));
          st = run(del_, "delete entity");
          break;
        case WriteBatch::OpKind::kNote: {
          std::string key = std::string(kNotePrefix).append(op.id);
          note_.bind(1, key);
          note_.bind(2, op.doc);
          st = run(note_, "write note");
          break;
        }
        case WriteBatch::OpKind::kPutRecord:
          put_record_.bind(1, op.record_kind);
          put_record_.bind(2, op.tenant);
          put_record_.bind(3, op.id);
          put_record_.bind(4, op.doc);
          st = run(put_record_, "write record");
          break;
        case WriteBatch::OpKind::kDeleteRecord:
          delete_record_.bind(1, op.record_kind);
          delete_record_.bind(2, op.tenant);
          delete_record_.bind(3, op.id);
          st = run(delete_record_, "delete record");
          break;
        case WriteBatch::OpKind::kAppendHistory:
        case WriteBatch::OpKind::kDropHistory:
        case WriteBatch::OpKind::kTrimHistory:
          history_.add(op);  // written below, each series once
          break;
      }
      if (!st.ok()) {
        history_.clear();
        (void)exec("ROLLBACK");
        return st;
      }
    }
    Status st = history_.write();
    if (!st.ok()) {
      (void)exec("ROLLBACK");
      return st;
    }
    st = run(commit_, "COMMIT");
    if (!st.ok()) (void)exec("ROLLBACK");
    // Pages that trimmed history left free go back to the file system (a database created
    // before auto_vacuum was set keeps them for its next rows instead).
    if (st.ok() && history_.trimmed()) (void)exec("PRAGMA incremental_vacuum");
    if (!options_.wal) sqlite3_db_release_memory(db_);
    return st;
  }

  Status load(LoadVisitor& visitor) override {
    Statement notes;
    TSUNAGU_RETURN_IF_ERROR(
        notes.prepare(db_, "SELECT key, value FROM meta WHERE key >= 'note.' AND key < 'note/'"));
    int rc;
    while ((rc = notes.step()) == SQLITE_ROW) {
      TSUNAGU_RETURN_IF_ERROR(
          visitor.note(text(notes.get(), 0).substr(kNotePrefix.size()), text(notes.get(), 1)));
    }
    if (rc != SQLITE_DONE) return error("read notes");
    Statement tenants;
    TSUNAGU_RETURN_IF_ERROR(tenants.prepare(db_, "SELECT name FROM tenants ORDER BY name"));
    while ((rc = tenants.step()) == SQLITE_ROW) {
      TSUNAGU_RETURN_IF_ERROR(visitor.tenant(text(tenants.get(), 0)));
    }
    if (rc != SQLITE_DONE) return error("read tenants");
    Statement rows;
    TSUNAGU_RETURN_IF_ERROR(
        rows.prepare(db_, "SELECT row, tenant, id, doc FROM entities ORDER BY row"));
    while ((rc = rows.step()) == SQLITE_ROW) {
      TSUNAGU_RETURN_IF_ERROR(
          visitor.entity(static_cast<uint64_t>(sqlite3_column_int64(rows.get(), 0)),
                         text(rows.get(), 1), text(rows.get(), 2), text(rows.get(), 3)));
    }
    if (rc != SQLITE_DONE) return error("read entities");
    Statement records;
    TSUNAGU_RETURN_IF_ERROR(records.prepare(
        db_, "SELECT kind, tenant, key, doc FROM records ORDER BY kind, tenant, key"));
    while ((rc = records.step()) == SQLITE_ROW) {
      TSUNAGU_RETURN_IF_ERROR(visitor.record(text(records.get(), 0), text(records.get(), 1),
                                             text(records.get(), 2), text(records.get(), 3)));
    }
    if (rc != SQLITE_DONE) return error("read records");
    if (!options_.wal) sqlite3_db_release_memory(db_);  // every page was read once
    return Status::Ok();
  }

  Result<std::optional<std::string>> note(std::string_view key) override {
    return meta(std::string(kNotePrefix).append(key));
  }

  // On connections of its own, from any thread (HistoryReaders).
  Status read_history(uint64_t series, const history::TimeRange& range, size_t last_n,
                      std::vector<history::Instance>& out) override {
    return readers_->read(series, range, last_n, out);
  }
  std::string describe() const override { return "sqlite:" + options_.path; }

 private:
  static std::string_view text(sqlite3_stmt* s, int col) {
    const char* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
    return p == nullptr ? std::string_view() : std::string_view(p, sqlite3_column_bytes(s, col));
  }

  // The value of meta row `key`, if there is one.
  Result<std::optional<std::string>> meta(const std::string& key) {
    Statement q;
    TSUNAGU_RETURN_IF_ERROR(q.prepare(db_, "SELECT value FROM meta WHERE key = ?1"));
    q.bind(1, key);
    int rc = q.step();
    if (rc == SQLITE_ROW) return std::optional<std::string>(std::string(text(q.get(), 0)));
    if (rc != SQLITE_DONE) return error("read meta '" + key + "'");
    return std::optional<std::string>();
  }

  Status error(const std::string& what) {
    return Status::Internal("sqlite: '" + options_.path + "': " + what + " failed: " +
                            sqlite3_errmsg(db_) + advice(sqlite3_extended_errcode(db_)));
  }

  Status exec(const char* sql) {
    char* msg = nullptr;
    if (int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg); rc != SQLITE_OK) {
      std::string m = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return Status::Internal("sqlite: '" + options_.path + "': '" + sql + "' failed: " + m +
                              advice(rc));
    }
    return Status::Ok();
  }

  Status run(Statement& s, const char* what) {
    int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return error(what);
    return Status::Ok();
  }

  Status migrate() {
    TSUNAGU_RETURN_IF_ERROR(
        exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
    Statement q;
    TSUNAGU_RETURN_IF_ERROR(q.prepare(db_, "SELECT value FROM meta WHERE key = 'schema_version'"));
    int version = 0;
    if (q.step() == SQLITE_ROW) version = std::atoi(std::string(text(q.get(), 0)).c_str());
    q.reset();  // an active statement would keep DROP TABLE from running
    if (version > kSchemaVersion) {
      return Status::Internal("sqlite: '" + options_.path + "' has schema version " +
                              std::to_string(version) + ", newer than this Tsunagu understands (" +
                              std::to_string(kSchemaVersion) + ")");
    }
    if (version == kSchemaVersion) return Status::Ok();
    TSUNAGU_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
    // Every older version gains what it lacks from kSchema (IF NOT EXISTS); version 1 first
    // moves its entities to the table of version 2.
    Status st = version == 1 ? exec(kMigrateV1toV2) : Status::Ok();
    if (st.ok()) st = exec(kSchema);
    if (st.ok()) {
      st = exec(("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', '" +
                 std::to_string(kSchemaVersion) + "')")
                    .c_str());
    }
    if (!st.ok()) {
      (void)exec("ROLLBACK");
      return st;
    }
    return exec("COMMIT");
  }

  SqliteOptions options_;
  sqlite3* db_ = nullptr;
  Statement insert_, update_, put_, del_, tenant_, note_, put_record_, delete_record_, begin_,
      commit_;
  HistoryWriter history_;
  std::unique_ptr<HistoryReaders> readers_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options) {
  auto store = std::make_unique<SqliteStore>(options);
  Status st = store->open();
  if (!st.ok()) return st;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace tsunagu::store
