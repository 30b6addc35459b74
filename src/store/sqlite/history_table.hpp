// The SQLite store's attribute history: the chunks of each series (history/chunk_codec.hpp) in
// the table history_chunks, one row each, found by (series, first_time). HistoryWriter applies a
// batch's history ops inside the batch's transaction on the store's write connection;
// HistoryReaders answers Store::read_history from any thread on connections of its own.
// Layout and why: docs/temporal.md ("History storage"), docs/storage.md.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/statement.hpp"
#include "store/store.hpp"

namespace tsunagu::store {

// A chunk ends at this many instances or this many bytes encoded, whichever comes first (four
// such rows fill a 16 KiB page), except that the instances of one time() are never split
// between two chunks: chunks of a series then cover disjoint time intervals, and the last chunk
// starting at or before a time is the only one that may hold it.
inline constexpr size_t kChunkInstances = 1000;
inline constexpr size_t kChunkBytes = 3800;

// Writes history ops into history_chunks. Owned by the SQLite store; its writing thread only.
class HistoryWriter {
 public:
  // Prepares the statements on `db`, the store's write connection, once the table exists.
  // `path` names the database in messages.
  Status prepare(sqlite3* db, std::string path);
  // Takes a kAppendHistory or kDropHistory op of the batch being applied. Its chunk is read by
  // write(), and must live until then.
  void add(const OpView& op);
  // Applies the ops taken since the last write() or clear() in the open transaction: for each
  // series, a drop if there was one (appends before it are forgotten), then every instance
  // appended after it. A damaged chunk gives InternalError; the caller then rolls back.
  Status write();
  void clear() { pending_.clear(); }
  // Whether the last write() trimmed a series (pages may have been freed).
  bool trimmed() const { return trimmed_; }

 private:
  struct SeriesOps {
    bool drop = false;
    std::vector<std::string_view> chunks;
    // Trims (retention): the latest cutoff, and how many of `chunks` came before it (a later
    // trim's cutoff is never earlier, so it applies to all of those).
    int64_t trim = INT64_MIN;
    size_t trimmed_chunks = 0;
  };
  struct Row {
    int64_t rowid = 0, first = 0, last = 0, count = 0;
    std::string data;
  };

  // Forgets the series' stored instances before `cutoff`: whole chunks are deleted, the one the
  // cutoff falls in is cut.
  Status trim(uint64_t series, int64_t cutoff);
  // Adds `add` (sorted by time, then seq) to the series' chunks.
  Status merge(uint64_t series, std::vector<history::Instance>& add);
  // Extends `last`, the chunk just before every instance of `add`, with as many of them as it
  // has room for; `taken` is how many it took.
  Status fill(uint64_t series, const Row& last, std::span<const history::Instance> add,
              size_t& taken);
  // Writes `v` as new chunks: filled in order (`even` false) or of equal size (`even` true).
  Status insert(uint64_t series, std::span<const history::Instance> v, bool even);
  Status read_rows(Statement& q, std::vector<Row>& out);
  Status run(Statement& s, const char* what);
  Status error(const std::string& what) const;

  sqlite3* db_ = nullptr;
  std::string path_;
  std::map<uint64_t, SeriesOps> pending_;  // by series: each is written once per batch
  // At least the highest series any chunk belongs to: the engine numbers series in increasing
  // order, so a series above it is new, and its first appends need no lookup.
  uint64_t max_series_ = 0;
  bool trimmed_ = false;
  Statement last_before_, starting_within_, insert_, update_, delete_, drop_;
  Statement trim_whole_, cut_, recut_;
};

// Reads the chunks of a series for Store::read_history. Thread-safe: each call takes an idle
// connection of its own (opening one when none is idle), so that reads run beside each other and
// beside the store's writer; each sees the database as of its last committed transaction.
class HistoryReaders {
 public:
  // `busy_ms`: how long a read waits for a writer's lock (rollback journal only; docs/storage.md,
  // "History reads beside the fold").
  HistoryReaders(std::string path, uint64_t mmap_bytes, int busy_ms);
  ~HistoryReaders();
  HistoryReaders(const HistoryReaders&) = delete;
  HistoryReaders& operator=(const HistoryReaders&) = delete;

  // Store::read_history: appends to `out` only when the whole read succeeded.
  Status read(uint64_t series, const history::TimeRange& range, size_t last_n,
              std::vector<history::Instance>& out);

 private:
  struct Connection;
  Status open(std::unique_ptr<Connection>& c) const;

  std::string path_;
  uint64_t mmap_bytes_;
  int busy_ms_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace tsunagu::store
