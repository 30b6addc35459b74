// The only door to persistence. The engine hands a Store batches of changes that must become
// durable atomically before any of them is acknowledged, and reads everything back at start.
// A store keeps entities (by row), records of other kinds (small documents by kind, tenant and
// key: subscriptions, later registrations, catalog records, audit) and notes (its users'
// bookkeeping). Documents are opaque text here (the engine's stored entity form, a record's own
// form); no NGSI-LD knowledge below this line. Backends: log/ over sqlite/ (the embedded
// default), sqlite/, memory/ (tests); docs/storage.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "store/history/chunk_codec.hpp"

namespace tsunagu::store {

// One atomic, durable unit of change. Entities are addressed by a row number the engine assigns
// once per entity and keeps for its life: the engine, which holds every entity in memory,
// already guarantees that (tenant, id) is unique, so the store needs no index on it.
// Records are addressed by (record kind, tenant, key), which the store keeps unique: a put
// replaces the record with that address, a delete of one that is not there does nothing. Entity
// and record ops mix freely in one batch, so that a change to an entity and the record it goes
// with (a registration and its entity, an audit line and the change it records) are durable
// together or not at all.
struct WriteBatch {
  // The values are the change log's op kinds (docs/storage.md, "Record format"): new kinds are
  // added at the end, and none is renumbered.
  enum class OpKind : unsigned char {
    kCreateTenant,
    kInsertEntity,
    kUpdateEntity,
    kDeleteEntity,
    kPutEntity,  // insert or replace the row (idempotent: the change log's checkpoints use it)
    // Sets the store's note `id` to `doc`: bookkeeping kept in the same transaction as the data
    // it describes (the change log records in its checkpoint which of its segments the
    // checkpoint holds; a history would record how far it has indexed). Small values.
    kNote,
    kPutRecord = 6,     // insert or replace the record (record_kind, tenant, id) with `doc`
    kDeleteRecord = 7,  // remove the record (record_kind, tenant, id), if there is one
    // Attribute history (docs/temporal.md). `row` is the series: a number the engine assigns to
    // one (tenant, entity, attribute, datasetId) and keeps for its life, as an entity's row.
    kAppendHistory = 8,  // adds the instances of `doc`, one history chunk (encode_chunk)
    kDropHistory = 9,    // forgets every instance of the series
    // Forgets the instances whose time() is before the cutoff in `doc` (decimal microseconds)
    // that the series holds at this point of the batch; what later ops append stays. Retention.
    kTrimHistory = 10,
  };
  struct Op {
    OpKind kind;
    uint64_t row = 0;    // entity row (all entity ops)
    std::string tenant;  // kCreateTenant, kInsertEntity, kPutEntity, record ops
    std::string id;      // kInsertEntity, kPutEntity; the key of a note or a record
    std::string doc;     // kInsertEntity, kUpdateEntity, kPutEntity, kNote, kPutRecord
    // Record ops: a short name ("subscription"). Defaulted, so that the entity ops' initializers
    // may leave it out.
    std::string record_kind = {};
  };
  std::vector<Op> ops;

  void create_tenant(std::string tenant) {
    ops.push_back({OpKind::kCreateTenant, 0, std::move(tenant), {}, {}});
  }
  void insert_entity(uint64_t row, std::string tenant, std::string id, std::string doc) {
    ops.push_back({OpKind::kInsertEntity, row, std::move(tenant), std::move(id), std::move(doc)});
  }
  void update_entity(uint64_t row, std::string doc) {
    ops.push_back({OpKind::kUpdateEntity, row, {}, {}, std::move(doc)});
  }
  void delete_entity(uint64_t row) { ops.push_back({OpKind::kDeleteEntity, row, {}, {}, {}}); }
  void put_entity(uint64_t row, std::string tenant, std::string id, std::string doc) {
    ops.push_back({OpKind::kPutEntity, row, std::move(tenant), std::move(id), std::move(doc)});
  }
  void put_record(std::string kind, std::string tenant, std::string key, std::string doc) {
    ops.push_back({OpKind::kPutRecord, 0, std::move(tenant), std::move(key), std::move(doc),
                   std::move(kind)});
  }
  void delete_record(std::string kind, std::string tenant, std::string key) {
    ops.push_back(
        {OpKind::kDeleteRecord, 0, std::move(tenant), std::move(key), {}, std::move(kind)});
  }
  // `chunk` is history::encode_chunk() of the instances to add: they may come in any order and
  // fall anywhere in the series' time (a gateway's late upload); each keeps the seq it has.
  void append_history(uint64_t series, std::string chunk) {
    ops.push_back({OpKind::kAppendHistory, series, {}, {}, std::move(chunk)});
  }
  void drop_history(uint64_t series) { ops.push_back({OpKind::kDropHistory, series, {}, {}, {}}); }
  void trim_history(uint64_t series, int64_t cutoff) {
    ops.push_back({OpKind::kTrimHistory, series, {}, {}, std::to_string(cutoff)});
  }
  bool empty() const { return ops.empty(); }
};

// The cutoff of a kTrimHistory op's document; nullopt when it is not a decimal integer.
std::optional<int64_t> trim_cutoff(std::string_view doc);

// A WriteBatch op whose strings are borrowed: from a WriteBatch, or from a mapped change log
// segment that a fold writes into the checkpoint without copying its documents.
struct OpView {
  WriteBatch::OpKind kind;
  uint64_t row = 0;
  std::string_view tenant, id, doc;
  std::string_view record_kind = {};
};

// Receives the stored state at start-up, in this order: every note, every tenant, every entity
// in row order, every record in (kind, tenant, key) order (bytewise), so that the records of one
// kind come together.
class LoadVisitor {
 public:
  virtual ~LoadVisitor() = default;
  virtual Status tenant(std::string_view name) = 0;
  virtual Status entity(uint64_t row, std::string_view tenant, std::string_view id,
                        std::string_view doc) = 0;
  // Every note, before the tenants. Most visitors need none.
  virtual Status note(std::string_view key, std::string_view value) { return Status::Ok(); }
  // Every record, after the entities. A visitor takes the kinds it knows and skips the others.
  virtual Status record(std::string_view kind, std::string_view tenant, std::string_view key,
                        std::string_view doc) {
    return Status::Ok();
  }
};

// Not thread-safe: the engine's writer calls apply() from one thread at a time (its commit
// thread, or whichever event loop commits); load() runs before any write.
class Store {
 public:
  virtual ~Store() = default;
  // Applies every op of `batch` in one transaction and makes it durable. On failure nothing
  // is applied (InternalError with the backend's reason).
  // The batch is taken by value: a store may keep its documents without copying them.
  virtual Status apply(WriteBatch batch) = 0;
  // The same, for ops whose strings the caller keeps alive until it returns. The default copies
  // them into a WriteBatch.
  virtual Status apply_views(const std::vector<OpView>& ops) {
    WriteBatch batch;
    for (const OpView& op : ops) {
      batch.ops.push_back({op.kind, op.row, std::string(op.tenant), std::string(op.id),
                           std::string(op.doc), std::string(op.record_kind)});
    }
    return apply(std::move(batch));
  }
  // Declares the records of `kind` transient: short-lived, each kept only until `settled` says
  // its owner is done with it (docs/storage.md, "Transient records"). Its owner still deletes
  // every record it puts, but a store may forget a settled record before that deletion is
  // durable: losing it in a crash loses nothing. `settled(tenant, key)` answers for the record
  // the store last saw put at that address; it may be called from the store's own threads for as
  // long as the store lives, must answer true only when the record is settled, and stays true
  // until the address is put again. Before load(). The default keeps transient records as any
  // other (what SQLite and memory do: they write a record's put and delete where they are).
  using SettledFn = std::function<bool(std::string_view tenant, std::string_view key)>;
  virtual Status declare_transient(std::string kind, SettledFn settled) { return Status::Ok(); }
  // Visits everything stored, in the order LoadVisitor states (entities in the order they were
  // created). Stops at the first error the visitor returns, and returns it.
  virtual Status load(LoadVisitor& visitor) = 0;
  // The value last set for note `key` by an OpKind::kNote op, or nullopt when none was. Like
  // load(), before any write.
  virtual Result<std::optional<std::string>> note(std::string_view key) = 0;
  // Appends to `out` the instances of history series `series` whose time() lies in `range`, in
  // time order (then seq); with last_n > 0, only the last last_n of them. Unlike every other
  // member, any thread may call it at any time after load(), concurrently with apply() and the
  // store's own threads; it sees at least every batch whose apply() has returned. A series never
  // appended to (or dropped) has no instances.
  virtual Status read_history(uint64_t series, const history::TimeRange& range, size_t last_n,
                              std::vector<history::Instance>& out) = 0;
  // "sqlite:/var/lib/tsunagu/tsunagu.db", for logs and /health.
  virtual std::string describe() const = 0;
};

enum class SyncMode : unsigned char {
  kFull,    // fsync on every commit: survives power loss
  kNormal,  // WAL written on every commit, fsync at checkpoints: survives a killed process
};

// The embedded default: the change log (store/log/) in front of the SQLite checkpoint.
struct EmbeddedOptions {
  std::string dir;  // the data directory
  SyncMode sync = SyncMode::kFull;
  uint64_t checkpoint_bytes = 64ull << 20;  // fold the log into SQLite once it holds this much
  // A start that finds a file of the store missing or damaged stops with a message saying what
  // is missing (docs/storage.md, "Missing files"); with this, it starts from what is left, logs
  // what was lost, and records the store as complete again.
  bool accept_missing = false;
};
Result<std::unique_ptr<Store>> open_embedded(const EmbeddedOptions& options);

struct SqliteOptions {
  std::string path;  // the database file; its directory must exist
  SyncMode sync = SyncMode::kFull;
  // WAL lets readers run beside the writer but writes every page twice (log, then database).
  // A database with one writer and no concurrent readers, such as the change log's checkpoint,
  // does better with a rollback journal: pages appended by inserts are written once.
  bool wal = true;
  // Page reads through a memory map instead of a pread() each. The mapped pages are the OS's
  // file cache, but they count in the process's RSS once touched (a start reads them all).
  uint64_t mmap_bytes = 1ull << 30;
};

// Opens (creating or migrating) the embedded SQLite store.
Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options);

}  // namespace tsunagu::store
