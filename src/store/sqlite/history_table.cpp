#include "store/sqlite/history_table.hpp"

#include <algorithm>
#include <utility>

namespace tsunagu::store {
namespace {

using history::Instance;

bool before(const Instance& a, const Instance& b) {
  const int64_t ta = a.time(), tb = b.time();
  return ta != tb ? ta < tb : a.seq < b.seq;
}

// The largest n <= want at which sorted `v` may be cut (v[n - 1] and v[n] differ in time, or n
// is its size), or 0.
size_t cut_at_or_before(std::span<const Instance> v, size_t want) {
  if (want >= v.size()) return v.size();
  size_t n = want;
  while (n > 0 && v[n - 1].time() == v[n].time())
    --n;
  return n;
}

// The smallest cut: after the instances at v[0]'s time.
size_t first_cut(std::span<const Instance> v) {
  size_t n = 1;
  while (n < v.size() && v[n].time() == v[0].time())
    ++n;
  return n;
}

// The codec's refusal (a damaged chunk, more instances at one time than a chunk holds), as the
// store reports it.
Status series_error(uint64_t series, const Status& st) {
  return Status::Internal("sqlite: history series " + std::to_string(series) + ": " + st.detail());
}

struct Packed {
  size_t count;
  std::string data;
};

// Cuts sorted `v` into chunks within kChunkInstances and kChunkBytes. Filling takes as many
// instances as fit into each chunk in turn: what appends at the end of a series do, so that the
// chunks behind it are full. Even cuts into as few chunks of equal count as fit: a chunk in the
// middle of a series that late instances made overflow is split into halves, leaving room for
// the next late ones where a filled chunk and a chunk of one would leave none. A chunk's
// instance count is only a guess at its size, so a chunk over kChunkBytes makes a smaller guess
// and encodes again.
Status pack(std::span<const Instance> v, bool even, std::vector<Packed>& out) {
  if (!even) {
    while (!v.empty()) {
      const size_t least = first_cut(v);
      size_t n = std::max(cut_at_or_before(v, kChunkInstances), least);
      for (;;) {
        auto data = history::encode_chunk(v.first(n));
        if (!data.ok()) return data.status();
        if (data->size() <= kChunkBytes || n == least) {
          out.push_back({n, std::move(*data)});
          break;
        }
        const size_t want = n * kChunkBytes / data->size() * 97 / 100;
        n = std::max(cut_at_or_before(v, std::min(want, n - 1)), least);
      }
      v = v.subspan(n);
    }
    return Status::Ok();
  }
  size_t parts = (v.size() + kChunkInstances - 1) / kChunkInstances;
  for (;;) {
    std::vector<Packed> packed;
    size_t largest = 0;  // bytes of the largest chunk over kChunkBytes that could be smaller
    for (size_t i = 1, at = 0; at < v.size(); ++i) {
      const auto rest = v.subspan(at);
      const size_t end = v.size() * std::min(i, parts) / parts;
      const size_t least = first_cut(rest);
      const size_t n = std::max(cut_at_or_before(rest, end > at ? end - at : 0), least);
      auto data = history::encode_chunk(rest.first(n));
      if (!data.ok()) return data.status();
      if (data->size() > kChunkBytes && n > least) largest = std::max(largest, data->size());
      packed.push_back({n, std::move(*data)});
      at += n;
    }
    if (largest == 0) {
      for (auto& p : packed)
        out.push_back(std::move(p));
      return Status::Ok();
    }
    parts = std::max(parts + 1, parts * largest / kChunkBytes + 1);
  }
}

}  // namespace

Status HistoryWriter::prepare(sqlite3* db, std::string path) {
  db_ = db;
  path_ = std::move(path);
  // The last chunk starting at or before a time: the only one that may hold it.
  TSUNAGU_RETURN_IF_ERROR(last_before_.prepare(
      db,
      "SELECT rowid, first_time, last_time, count, data FROM history_chunks "
      "WHERE series = ?1 AND first_time <= ?2 ORDER BY first_time DESC LIMIT 1"));
  TSUNAGU_RETURN_IF_ERROR(starting_within_.prepare(
      db,
      "SELECT rowid, first_time, last_time, count, data FROM history_chunks "
      "WHERE series = ?1 AND first_time > ?2 AND first_time <= ?3 ORDER BY first_time"));
  TSUNAGU_RETURN_IF_ERROR(
      insert_.prepare(db,
                      "INSERT INTO history_chunks (series, first_time, last_time, count, data) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)"));
  TSUNAGU_RETURN_IF_ERROR(update_.prepare(
      db, "UPDATE history_chunks SET last_time = ?2, count = ?3, data = ?4 WHERE rowid = ?1"));
  TSUNAGU_RETURN_IF_ERROR(delete_.prepare(db, "DELETE FROM history_chunks WHERE rowid = ?1"));
  TSUNAGU_RETURN_IF_ERROR(
      trim_whole_.prepare(db, "DELETE FROM history_chunks WHERE series = ?1 AND last_time < ?2"));
  // After trim_whole_, the one chunk that may still start before the cutoff.
  TSUNAGU_RETURN_IF_ERROR(
      cut_.prepare(db,
                   "SELECT rowid, first_time, last_time, count, data FROM history_chunks "
                   "WHERE series = ?1 AND first_time < ?2"));
  TSUNAGU_RETURN_IF_ERROR(recut_.prepare(
      db, "UPDATE history_chunks SET first_time = ?2, count = ?3, data = ?4 WHERE rowid = ?1"));
  Statement max;
  TSUNAGU_RETURN_IF_ERROR(max.prepare(db, "SELECT max(series) FROM history_chunks"));
  if (max.step() == SQLITE_ROW) max_series_ = static_cast<uint64_t>(max.int64(0));
  return drop_.prepare(db, "DELETE FROM history_chunks WHERE series = ?1");
}

void HistoryWriter::add(const OpView& op) {
  SeriesOps& s = pending_[op.row];
  if (op.kind == WriteBatch::OpKind::kDropHistory) {
    s.drop = true;
    s.chunks.clear();
    s.trim = INT64_MIN;
    s.trimmed_chunks = 0;
  } else if (op.kind == WriteBatch::OpKind::kTrimHistory) {
    // A cutoff that does not read is taken as none: apply() checked it (log store), and a
    // trim that does nothing loses nothing.
    s.trim = std::max(s.trim, trim_cutoff(op.doc).value_or(INT64_MIN));
    s.trimmed_chunks = s.chunks.size();
  } else {
    s.chunks.push_back(op.doc);
  }
}

// One series at a time, with every instance the batch appends to it at once: a fold holds many
// appends to each series, and the series' last chunk is then decoded and encoded once, not once
// per append. Only one series' instances are decoded at a time.
Status HistoryWriter::write() {
  auto pending = std::exchange(pending_, {});
  trimmed_ = false;
  std::vector<Instance> add;
  for (auto& [series, ops] : pending) {
    if (ops.drop) {
      drop_.bind(1, static_cast<int64_t>(series));
      TSUNAGU_RETURN_IF_ERROR(run(drop_, "drop history"));
    }
    add.clear();
    if (ops.trim != INT64_MIN) {
      trimmed_ = true;
      TSUNAGU_RETURN_IF_ERROR(trim(series, ops.trim));
      // The appends before the trim keep only what it leaves of them.
      for (size_t i = 0; i < ops.trimmed_chunks; ++i) {
        if (Status st = history::decode_chunk(ops.chunks[i], add, {ops.trim, INT64_MAX});
            !st.ok()) {
          return series_error(series, st);
        }
      }
      ops.chunks.erase(ops.chunks.begin(),
                       ops.chunks.begin() + static_cast<ptrdiff_t>(ops.trimmed_chunks));
    }
    if (series > max_series_ && add.empty() && ops.chunks.size() == 1) {
      // A new series' first chunk, as the engine encoded it, when it is within the limits: the
      // common case of an entity's creation, written without being decoded and encoded again.
      std::string_view chunk = ops.chunks.front();
      auto info = history::read_chunk_info(chunk);
      if (!info.ok()) return series_error(series, info.status());
      if (info->count > 0 && info->count <= kChunkInstances && chunk.size() <= kChunkBytes) {
        insert_.bind(1, static_cast<int64_t>(series));
        insert_.bind(2, info->first_time);
        insert_.bind(3, info->last_time);
        insert_.bind(4, static_cast<int64_t>(info->count));
        insert_.bind_blob(5, chunk);
        TSUNAGU_RETURN_IF_ERROR(run(insert_, "insert history chunk"));
        max_series_ = series;
        continue;
      }
    }
    for (std::string_view chunk : ops.chunks) {
      if (Status st = history::decode_chunk(chunk, add); !st.ok()) return series_error(series, st);
    }
    if (add.empty()) continue;
    if (series > max_series_) {
      // No chunk of it yet: nothing to look up or merge with.
      std::stable_sort(add.begin(), add.end(), before);
      TSUNAGU_RETURN_IF_ERROR(insert(series, add, false));
      continue;
    }
    TSUNAGU_RETURN_IF_ERROR(merge(series, add));
  }
  return Status::Ok();
}

Status HistoryWriter::trim(uint64_t series, int64_t cutoff) {
  trim_whole_.bind(1, static_cast<int64_t>(series));
  trim_whole_.bind(2, cutoff);
  TSUNAGU_RETURN_IF_ERROR(run(trim_whole_, "trim history"));
  cut_.bind(1, static_cast<int64_t>(series));
  cut_.bind(2, cutoff);
  std::vector<Row> straddling;
  TSUNAGU_RETURN_IF_ERROR(read_rows(cut_, straddling));
  for (const Row& row : straddling) {
    std::vector<Instance> kept;
    if (Status st = history::decode_chunk(row.data, kept, {cutoff, INT64_MAX}); !st.ok()) {
      return series_error(series, st);
    }
    if (kept.empty()) {
      delete_.bind(1, row.rowid);
      TSUNAGU_RETURN_IF_ERROR(run(delete_, "trim history chunk"));
      continue;
    }
    auto data = history::encode_chunk(kept);
    if (!data.ok()) return series_error(series, data.status());
    recut_.bind(1, row.rowid);
    recut_.bind(2, kept.front().time());
    recut_.bind(3, static_cast<int64_t>(kept.size()));
    recut_.bind_blob(4, *data);
    TSUNAGU_RETURN_IF_ERROR(run(recut_, "trim history chunk"));
  }
  return Status::Ok();
}

Status HistoryWriter::merge(uint64_t series, std::vector<Instance>& add) {
  std::stable_sort(add.begin(), add.end(), before);
  const int64_t lo = add.front().time(), hi = add.back().time();
  std::vector<Row> last, inside;
  last_before_.bind(1, static_cast<int64_t>(series));
  last_before_.bind(2, lo);
  TSUNAGU_RETURN_IF_ERROR(read_rows(last_before_, last));
  starting_within_.bind(1, static_cast<int64_t>(series));
  starting_within_.bind(2, lo);
  starting_within_.bind(3, hi);
  TSUNAGU_RETURN_IF_ERROR(read_rows(starting_within_, inside));
  if (inside.empty() && (last.empty() || last[0].last < lo)) {
    // Every new instance comes after the chunk before them (the common case: after the series'
    // last chunk), or before the whole series: that chunk takes what it has room for, without
    // touching any other, and the rest start chunks of their own.
    size_t taken = 0;
    if (!last.empty()) TSUNAGU_RETURN_IF_ERROR(fill(series, last[0], add, taken));
    return insert(series, std::span<const Instance>(add).subspan(taken), false);
  }
  // Late instances among older ones: the chunks they fall into are decoded, merged with them,
  // and written again, so that chunks never overlap and readers never merge.
  if (!last.empty() && last[0].last >= lo) inside.insert(inside.begin(), std::move(last[0]));
  std::vector<Instance> merged;
  for (const Row& row : inside) {
    if (Status st = history::decode_chunk(row.data, merged); !st.ok())
      return series_error(series, st);
    delete_.bind(1, row.rowid);
    TSUNAGU_RETURN_IF_ERROR(run(delete_, "rewrite history chunk"));
  }
  const auto middle = static_cast<ptrdiff_t>(merged.size());
  merged.insert(merged.end(), std::make_move_iterator(add.begin()),
                std::make_move_iterator(add.end()));
  std::inplace_merge(merged.begin(), merged.begin() + middle, merged.end(), before);
  return insert(series, merged, true);
}

Status HistoryWriter::fill(uint64_t series, const Row& last, std::span<const Instance> add,
                           size_t& taken) {
  taken = 0;
  if (last.count >= static_cast<int64_t>(kChunkInstances)) return Status::Ok();
  const size_t n = cut_at_or_before(add, kChunkInstances - static_cast<size_t>(last.count));
  if (n == 0) return Status::Ok();
  auto data = history::append_to_chunk(last.data, add.first(n));
  if (!data.ok()) return series_error(series, data.status());
  if (data->size() > kChunkBytes) return Status::Ok();  // full: it stays as it is
  update_.bind(1, last.rowid);
  update_.bind(2, add[n - 1].time());
  update_.bind(3, last.count + static_cast<int64_t>(n));
  update_.bind_blob(4, *data);
  TSUNAGU_RETURN_IF_ERROR(run(update_, "append to history chunk"));
  taken = n;
  return Status::Ok();
}

Status HistoryWriter::insert(uint64_t series, std::span<const Instance> v, bool even) {
  max_series_ = std::max(max_series_, series);
  std::vector<Packed> packed;
  if (Status st = pack(v, even, packed); !st.ok()) return series_error(series, st);
  for (const Packed& p : packed) {
    insert_.bind(1, static_cast<int64_t>(series));
    insert_.bind(2, v.front().time());
    insert_.bind(3, v[p.count - 1].time());
    insert_.bind(4, static_cast<int64_t>(p.count));
    insert_.bind_blob(5, p.data);
    TSUNAGU_RETURN_IF_ERROR(run(insert_, "insert history chunk"));
    v = v.subspan(p.count);
  }
  return Status::Ok();
}

Status HistoryWriter::read_rows(Statement& q, std::vector<Row>& out) {
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    out.push_back({q.int64(0), q.int64(1), q.int64(2), q.int64(3), std::string(q.bytes(4))});
  }
  q.reset();
  if (rc != SQLITE_DONE) return error("read history chunks");
  return Status::Ok();
}

Status HistoryWriter::run(Statement& s, const char* what) {
  int rc = s.step();
  s.reset();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return error(what);
  return Status::Ok();
}

Status HistoryWriter::error(const std::string& what) const {
  return Status::Internal("sqlite: '" + path_ + "': " + what + " failed: " + sqlite3_errmsg(db_));
}

// A read connection and its two queries. Both start at the last chunk starting at or before
// `from` (through the index: max() of an index range is one lookup) and go on while chunks
// start before `until`: forward for a range, backward for the last instances of it.
struct HistoryReaders::Connection {
  ~Connection() {
    // Deferred by SQLite until the statements (members, finalized after this body) are gone.
    sqlite3_close_v2(db);
  }
  sqlite3* db = nullptr;
  Statement forward, backward;
};

HistoryReaders::HistoryReaders(std::string path, uint64_t mmap_bytes, int busy_ms)
    : path_(std::move(path)), mmap_bytes_(mmap_bytes), busy_ms_(busy_ms) {}

HistoryReaders::~HistoryReaders() = default;

Status HistoryReaders::open(std::unique_ptr<Connection>& c) const {
  c = std::make_unique<Connection>();
  if (int rc = sqlite3_open_v2(path_.c_str(), &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                               nullptr);
      rc != SQLITE_OK) {
    return Status::Internal("sqlite: cannot open '" + path_ + "' for reading history: " +
                            (c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc)));
  }
  const std::string pragmas =
      "PRAGMA query_only=1; PRAGMA busy_timeout=" + std::to_string(busy_ms_) +
      "; PRAGMA cache_size=-2048; " + "PRAGMA mmap_size=" + std::to_string(mmap_bytes_);
  if (sqlite3_exec(c->db, pragmas.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Status::Internal("sqlite: '" + path_ + "': " + sqlite3_errmsg(c->db));
  }
  constexpr const char* kFrom =
      "SELECT last_time, data FROM history_chunks WHERE series = ?1 AND first_time < ?3 AND "
      "first_time >= coalesce((SELECT max(first_time) FROM history_chunks "
      "WHERE series = ?1 AND first_time <= ?2), ?2) ORDER BY first_time";
  TSUNAGU_RETURN_IF_ERROR(c->forward.prepare(c->db, kFrom));
  return c->backward.prepare(c->db, (std::string(kFrom) + " DESC").c_str());
}

Status HistoryReaders::read(uint64_t series, const history::TimeRange& range, size_t last_n,
                            std::vector<Instance>& out) {
  if (range.from >= range.until) return Status::Ok();
  std::unique_ptr<Connection> c;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (c == nullptr) TSUNAGU_RETURN_IF_ERROR(open(c));
  Statement& q = last_n > 0 ? c->backward : c->forward;
  q.bind(1, static_cast<int64_t>(series));
  q.bind(2, range.from);
  q.bind(3, range.until);
  // Chunk by chunk in the query's order; backward, until last_n instances are in.
  std::vector<std::vector<Instance>> chunks;
  size_t have = 0;
  Status st;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    if (q.int64(0) < range.from) continue;  // the chunk before `from` ends before it
    chunks.emplace_back();
    st = history::decode_chunk(q.bytes(1), chunks.back(), range);
    if (!st.ok()) break;
    have += chunks.back().size();
    if (last_n > 0 && have >= last_n) break;
  }
  if (st.ok() && rc != SQLITE_ROW && rc != SQLITE_DONE) {
    st = Status::Internal("sqlite: '" + path_ + "': read history failed: " + sqlite3_errmsg(c->db));
  }
  q.reset();
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
  }
  if (!st.ok()) return st;
  if (last_n == 0) {
    for (auto& chunk : chunks)
      out.insert(out.end(), std::make_move_iterator(chunk.begin()),
                 std::make_move_iterator(chunk.end()));
    return Status::Ok();
  }
  size_t skip = have > last_n ? have - last_n : 0;  // the oldest of the chunks read
  for (auto chunk = chunks.rbegin(); chunk != chunks.rend(); ++chunk) {
    const size_t drop = std::min(skip, chunk->size());
    skip -= drop;
    out.insert(out.end(), std::make_move_iterator(chunk->begin() + static_cast<ptrdiff_t>(drop)),
               std::make_move_iterator(chunk->end()));
  }
  return Status::Ok();
}

}  // namespace tsunagu::store
