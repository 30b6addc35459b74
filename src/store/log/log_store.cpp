// The embedded store: every batch is appended to a change log (one sequential write and one
// fdatasync per group commit), and a background thread folds the logged changes into the SQLite
// checkpoint once the log has grown, then deletes the folded log files. Reading back at start
// is the checkpoint overlaid with the logs. Design and crash analysis: docs/storage.md.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "common/memory.hpp"
#include "common/metrics.hpp"
#include "common/time.hpp"
#include "store/document_files.hpp"
#include "store/log/change_log.hpp"
#include "store/log/history_tail.hpp"
#include "store/store.hpp"

namespace tsunagu::store {
namespace {

using OpKind = WriteBatch::OpKind;

// The latest logged state of one entity row not yet in the checkpoint. The strings point into
// the mapped log segments of the Changes that hold it.
struct Pending {
  enum class Kind : unsigned char { kPut, kUpdate, kDelete } kind;
  std::string_view tenant, id;  // kPut (an entity whose insert is in the log)
  std::string_view doc;         // kPut, kUpdate
};

// A record's address: (record kind, tenant, key). Ordered as the checkpoint orders its records
// (bytewise, field by field), so that the two can be merged at load.
using RecordKey = std::tuple<std::string_view, std::string_view, std::string_view>;
// The same, owned.
using RecordAddress = std::tuple<std::string, std::string, std::string>;
using HeldRecords = std::set<RecordAddress, std::less<>>;
using TransientKinds = std::map<std::string, Store::SettledFn, std::less<>>;

// Logged changes not yet folded into the checkpoint.
struct Changes {
  std::map<uint64_t, Pending> rows;
  std::set<std::string> tenants;
  std::map<std::string, std::string, std::less<>> notes;  // the latest value of each
  // The latest logged state of each record: its document, or nullopt when it was deleted (it
  // may be in the checkpoint, or nowhere: a delete is idempotent). Views, like `rows`.
  std::map<RecordKey, std::optional<std::string_view>> records;
  // The history ops, every one in log order with the segment it came from: unlike the other
  // changes they do not replace each other (an append adds to what is there).
  std::vector<std::pair<uint64_t, OpView>> history;
  uint64_t segment = 0;  // the segment add() is reading
  // The segments read, kept mapped while the views above are in use: documents go from the
  // file's pages to the checkpoint without a copy (or an allocation) each.
  std::vector<ChangeLog::Mapping> segments;

  void add(const OpView& op) {
    switch (op.kind) {
      case OpKind::kCreateTenant:
        tenants.emplace(op.tenant);
        return;
      case OpKind::kInsertEntity:
      case OpKind::kPutEntity:
        rows[op.row] = {Pending::Kind::kPut, op.tenant, op.id, op.doc};
        return;
      case OpKind::kUpdateEntity: {
        auto [it, fresh] = rows.try_emplace(op.row);
        if (fresh || it->second.kind == Pending::Kind::kDelete) {
          it->second = {Pending::Kind::kUpdate, {}, {}, op.doc};
        } else {
          it->second.doc = op.doc;  // a put stays a put, with the newer document
        }
        return;
      }
      case OpKind::kDeleteEntity:
        rows[op.row] = {Pending::Kind::kDelete, {}, {}, {}};
        return;
      case OpKind::kNote:
        notes[std::string(op.id)] = std::string(op.doc);
        return;
      case OpKind::kPutRecord:
        records[{op.record_kind, op.tenant, op.id}] = op.doc;
        return;
      case OpKind::kDeleteRecord:
        records[{op.record_kind, op.tenant, op.id}] = std::nullopt;
        return;
      case OpKind::kAppendHistory:
      case OpKind::kDropHistory:
      case OpKind::kTrimHistory:
        history.emplace_back(segment, op);
        return;
    }
  }

  // Adds every intact record of log segment `seq` at `path` (see ChangeLog::replay).
  Status add_segment(const std::string& path, uint64_t seq, uint64_t& valid, bool& torn) {
    std::vector<OpView> ops;
    ChangeLog::Mapping mapping;
    segment = seq;
    TSUNAGU_RETURN_IF_ERROR(ChangeLog::replay(
        path, seq,
        [&](std::string_view payload) {
          ops.clear();
          TSUNAGU_RETURN_IF_ERROR(decode_ops(payload, ops));
          for (const OpView& op : ops)
            add(op);
          return Status::Ok();
        },
        valid, torn, &mapping));
    segments.push_back(std::move(mapping));
    return Status::Ok();
  }

  // The changes as ops for the checkpoint, tenants first; valid while these Changes live.
  std::vector<OpView> ops() const {
    std::vector<OpView> out;
    out.reserve(tenants.size() + rows.size() + notes.size() + records.size() + history.size());
    for (const auto& [key, value] : notes)
      out.push_back({OpKind::kNote, 0, {}, key, value});
    for (const auto& t : tenants)
      out.push_back({OpKind::kCreateTenant, 0, t, {}, {}});
    for (const auto& [row, p] : rows) {
      switch (p.kind) {
        case Pending::Kind::kPut:
          out.push_back({OpKind::kPutEntity, row, p.tenant, p.id, p.doc});
          break;
        case Pending::Kind::kUpdate:
          out.push_back({OpKind::kUpdateEntity, row, {}, {}, p.doc});
          break;
        case Pending::Kind::kDelete:
          out.push_back({OpKind::kDeleteEntity, row, {}, {}, {}});
          break;
      }
    }
    for (const auto& [key, doc] : records) {
      const auto& [kind, tenant, id] = key;
      out.push_back({doc ? OpKind::kPutRecord : OpKind::kDeleteRecord, 0, tenant, id,
                     doc.value_or(std::string_view()), kind});
    }
    // In log order: the checkpoint applies them one series at a time (HistoryWriter).
    for (const auto& [seq, op] : history)
      out.push_back(op);
    return out;
  }
  bool empty() const {
    return rows.empty() && tenants.empty() && notes.empty() && records.empty() && history.empty();
  }
};

std::string segment_name(uint64_t seq) {
  char buf[40];
  snprintf(buf, sizeof buf, "changes-%012llu.log", static_cast<unsigned long long>(seq));
  return buf;
}

// A folded segment kept to be written over by the next rotation (ChangeLog::reuse).
constexpr char kSpareName[] = "spare-segment.log";

// The checkpoint's note of the newest segment folded into it (and so every older one). Notes
// under "log." are the change log's own; the store's users may not set them.
constexpr char kFoldedNote[] = "log.folded_upto";
constexpr std::string_view kOwnNotes = "log.";

// Which files the store needs, kept beside them in the file STATE and rewritten whenever a
// segment starts: the checkpoint holds the log up to segment `folded` (at least), and segments
// `folded` + 1 to `newest` (at least) hold the rest. Missing files are found at start by
// comparing what is there with it and with the checkpoint's own note (docs/storage.md).
struct StoreState {
  uint64_t newest = 0;
  uint64_t folded = 0;
};
constexpr char kStateName[] = "STATE";

std::string state_error(const std::string& path, const std::string& why) {
  return path + " " + why +
         ". It records which files the store needs; restore it from a backup of the directory, "
         "or remove it to start from the files there are";
}

// The STATE file of `dir`; nullopt when there is none (a new store, or one an older version
// wrote).
Result<std::optional<StoreState>> read_state(const std::string& dir) {
  const std::string path = dir + "/" + kStateName;
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) {
    if (errno == ENOENT) return std::optional<StoreState>();
    return Status::Internal(state_error(path, std::string("cannot be read: ") + strerror(errno)));
  }
  StoreState st;
  bool newest = false, folded = false;
  char line[128];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long v;
    if (std::sscanf(line, "newest_segment %llu", &v) == 1) {
      st.newest = v;
      newest = true;
    } else if (std::sscanf(line, "folded_upto %llu", &v) == 1) {
      st.folded = v;
      folded = true;
    }
  }
  std::fclose(f);
  if (!newest || !folded) return Status::Internal(state_error(path, "is damaged"));
  return std::optional<StoreState>(st);
}

Status write_state(const std::string& dir, const StoreState& st) {
  std::string text = "# Which files this store needs (docs/storage.md, \"Missing files\")\n";
  text += "newest_segment " + std::to_string(st.newest) + "\n";
  text += "folded_upto " + std::to_string(st.folded) + "\n";
  return DocumentFiles(dir, "").put(kStateName, text, now_us());
}

// Sequence numbers of the log segments in `dir`, ascending.
std::vector<uint64_t> segments(const std::string& dir) {
  std::vector<uint64_t> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    unsigned long long seq;
    char tail[8];
    if (sscanf(e->d_name, "changes-%12llu.%3s", &seq, tail) == 2 && std::string(tail) == "log") {
      out.push_back(seq);
    }
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

metrics::Histogram& checkpoint_seconds() {
  static auto& h = metrics::registry()
                       .histogram("tsunagu_store_checkpoint_seconds",
                                  "Time to fold the change log into the SQLite checkpoint", {})
                       .with({});
  return h;
}

// An exclusive lock on the data directory for as long as the store is open: two servers on one
// directory would each acknowledge writes the other never sees, and leave a log the store then
// refuses to read. flock() locks are released by the kernel when the process dies, so a kill -9
// leaves nothing to clean up. The file holds the owner's pid, for the message.
class DirLock {
 public:
  static Result<std::unique_ptr<DirLock>> take(const std::string& dir) {
    std::string path = dir + "/LOCK";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status::Internal("cannot open " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      char pid[32] = {};
      ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      std::string owner = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
      while (!owner.empty() && (owner.back() == '\n' || owner.back() == ' '))
        owner.pop_back();
      if (err == EWOULDBLOCK) {
        return Status::Internal("the data directory " + dir +
                                " is in use by another Tsunagu process" +
                                (owner.empty() ? "" : " (pid " + owner + ")") +
                                "; stop it, or give this one another --data-dir");
      }
      return Status::Internal("cannot lock " + path + ": " + std::strerror(err));
    }
    std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
      // The lock holds all the same; only the message for a second process would lack the pid.
    }
    return std::unique_ptr<DirLock>(new DirLock(fd));
  }
  ~DirLock() { ::close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

class LogStore final : public Store {
 public:
  LogStore(std::unique_ptr<DirLock> lock, std::unique_ptr<Store> checkpoint,
           EmbeddedOptions options)
      : lock_(std::move(lock)), checkpoint_(std::move(checkpoint)), options_(std::move(options)) {}

  ~LogStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (folder_.joinable()) folder_.join();
    // A reused segment's old records after the new ones would only be cut at the next start.
    (void)log_.seal(options_.sync == SyncMode::kFull);
  }

  Status apply(WriteBatch batch) override {
    if (batch.empty()) return Status::Ok();
    if (!failure_.ok()) return failure_;
    for (const auto& op : batch.ops) {
      if (op.kind == OpKind::kNote && op.id.rfind(kOwnNotes, 0) == 0) {
        return Status::Internal("store: note '" + op.id + "' is the change log's own");
      }
      if (op.kind == OpKind::kTrimHistory && !trim_cutoff(op.doc)) {
        return Status::Internal("store: history series " + std::to_string(op.row) +
                                ": a trim without a cutoff");
      }
      // A damaged chunk would be logged and acknowledged, then fail every fold.
      if (op.kind == OpKind::kAppendHistory) {
        history_check_.clear();
        Status st = history::decode_chunk(op.doc, history_check_);
        if (!st.ok()) {
          return Status::Internal("store: history series " + std::to_string(op.row) + ": " +
                                  st.detail());
        }
      }
    }
    payload_.clear();
    encode_batch(batch, payload_);
    Status st = log_.append(payload_, options_.sync == SyncMode::kFull);
    if (!st.ok()) {
      // The log could not take the batch; if it cannot take more, every later write fails too
      // rather than being acknowledged on a log that may have lost it.
      log::error("change_log_append_failed", {{"detail", st.detail()}});
      if (!log_.is_open()) failure_ = st;
      return st;
    }
    {
      std::lock_guard lock(notes_mu_);
      for (auto& op : batch.ops) {
        if (op.kind == OpKind::kNote) notes_[std::move(op.id)] = std::move(op.doc);
      }
    }
    // Readable from here on, until the fold of this segment has written them.
    history_.add_batch(open_seq_, batch.ops);
    // Transient records' documents do not count towards the next fold (up to a bound): a fold
    // writes few of them, but the entity rows it writes cost SQLite page writes that fewer,
    // larger folds share between more updates (docs/storage.md, "Transient records").
    if (!transient_.empty()) {
      for (const auto& op : batch.ops) {
        if (op.kind == OpKind::kPutRecord && transient_.count(op.record_kind) != 0) {
          logged_transient_ += op.doc.size();
        }
      }
    }
    const uint64_t size = log_.size();
    if (size - std::min(size, logged_transient_) >= options_.checkpoint_bytes ||
        size >= kTransientBound * options_.checkpoint_bytes) {
      rotate();
    }
    return Status::Ok();
  }

  // Transient records (docs/storage.md, "Transient records") cost the fold nothing once
  // settled: a put settled by the time it is folded is not copied into the checkpoint, and the
  // deletion of a record the checkpoint does not hold is not applied to it.
  Status declare_transient(std::string kind, SettledFn settled) override {
    if (loaded_) {
      return Status::Internal("store: record kind '" + kind + "' declared transient after load");
    }
    transient_[std::move(kind)] = std::move(settled);
    return Status::Ok();
  }

  Status load(LoadVisitor& visitor) override {
    loaded_ = true;
    auto note = checkpoint_->note(kFoldedNote);
    if (!note.ok()) return note.status();
    const bool noted = note->has_value();
    uint64_t folded = noted ? std::strtoull((*note)->c_str(), nullptr, 10) : 0;
    auto state = read_state(options_.dir);
    if (!state.ok()) return state.status();
    std::vector<uint64_t> segs = segments(options_.dir);
    // A spare left by the last run is not needed to read anything; rotations make new ones.
    ::unlink(spare_path().c_str());
    // Segments the checkpoint holds, left by a fold that stopped before it deleted them: read
    // again, they would lay their older states over the checkpoint's newer ones.
    while (noted && !segs.empty() && segs.front() <= folded) {
      ::unlink((options_.dir + "/" + segment_name(segs.front())).c_str());
      segs.erase(segs.begin());
    }
    const std::string missing = missing_files(noted, folded, *state, segs);
    if (!missing.empty()) {
      if (!options_.accept_missing) {
        return Status::Internal(
            "the store in " + options_.dir + " is incomplete: " + missing +
            ". Restore the data directory from a backup, or start once with "
            "--missing-store-files accept to serve what is left (what the missing files held "
            "is lost; docs/storage.md, \"Missing files\")");
      }
      log::error("store_files_missing_accepted", {{"dir", options_.dir}, {"missing", missing}});
    }
    // Replay every segment into one set of changes; only the last may end in a torn record.
    uint64_t last_size = 0;
    Changes logged;
    for (size_t i = 0; i < segs.size(); ++i) {
      std::string path = options_.dir + "/" + segment_name(segs[i]);
      uint64_t valid = 0;
      bool torn = false;
      TSUNAGU_RETURN_IF_ERROR(logged.add_segment(path, segs[i], valid, torn));
      if (torn) {
        if (i + 1 != segs.size()) {
          return Status::Internal("change log '" + path + "' is damaged at byte " +
                                  std::to_string(valid) + " and is not the newest log");
        }
        log::warn("change_log_tail_cut", {{"path", path}, {"valid_bytes", valid}});
      }
      last_size = valid;
    }
    TSUNAGU_RETURN_IF_ERROR(stream(visitor, logged));
    // The logged history ops wait in memory for their fold, as those applied from now on.
    for (const auto& [seq, op] : logged.history) {
      history_.add(seq, op.row, op.kind, std::string(op.doc));
    }
    // From here on the checkpoint says what it holds: a store an older version wrote, or one
    // started with missing files accepted, is taken to be whole as it is.
    if (!noted || !missing.empty()) {
      if (!segs.empty()) folded = std::max(folded, segs.front() - 1);
      TSUNAGU_RETURN_IF_ERROR(note_folded(folded));
    }
    // Keep appending to the newest segment (cut to its valid prefix), or start the one after
    // the checkpoint.
    next_seq_ = segs.empty() ? folded + 1 : segs.back();
    TSUNAGU_RETURN_IF_ERROR(log_.open(options_.dir + "/" + segment_name(next_seq_), next_seq_,
                                      segs.empty() ? 0 : last_size));
    if (segs.empty()) (void)sync_dir(options_.dir);
    folded_ = folded;
    fold_reach_ = folded;
    open_seq_ = next_seq_;
    history_.start_segment(open_seq_);
    TSUNAGU_RETURN_IF_ERROR(write_state(options_.dir, {next_seq_, folded}));
    // Segments this process creates hold records of the current format only (a segment left by
    // an earlier version and appended to here may hold older ones).
    first_new_seq_ = segs.empty() ? next_seq_ : next_seq_ + 1;
    ++next_seq_;
    folder_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "tsunagu-fold");
      fold_loop();
    });
    if (log_.size() >= options_.checkpoint_bytes || segs.size() > 1) rotate();
    return Status::Ok();
  }

  // The checkpoint's instances with the history tail laid over them (docs/storage.md, "The
  // history tail"). The tail is taken first: taken after, it could miss ops that a fold
  // committing in between took out of it and wrote into the checkpoint after the checkpoint was
  // read.
  Status read_history(uint64_t series, const history::TimeRange& range, size_t last_n,
                      std::vector<history::Instance>& out) override {
    for (;;) {
      HistoryTail::Snapshot tail = history_.snapshot(series);
      std::vector<history::Instance> base;
      if (!tail.dropped) {
        TSUNAGU_RETURN_IF_ERROR(checkpoint_->read_history(series, range, last_n, base));
        // A fold of the segment the snapshot was taken in may have written ops logged after
        // it (a drop, which the tail's older appends laid over the checkpoint would undo).
        // Rare (a rotation within a read): read again.
        if (fold_reach_.load() >= tail.segment) continue;
      }
      return HistoryTail::overlay(tail, range, last_n, std::move(base), out);
    }
  }
  std::string describe() const override {
    return checkpoint_->describe() + " with change log in " + options_.dir;
  }

  // From memory: every note was read at load() and is kept up to date by apply() (the
  // checkpoint is the fold thread's meanwhile).
  Result<std::optional<std::string>> note(std::string_view key) override {
    std::lock_guard lock(notes_mu_);
    auto it = notes_.find(key);
    if (it == notes_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

 private:
  // What is missing from the store, in words, or "" when nothing is: `segs` are the segments
  // found after those the checkpoint holds (`folded`, when `noted`), `state` the STATE file.
  static std::string missing_files(bool noted, uint64_t folded,
                                   const std::optional<StoreState>& state,
                                   const std::vector<uint64_t>& segs) {
    std::string out;
    // (A checkpoint into which nothing was folded held nothing the log does not.)
    if (state && (noted ? folded < state->folded : state->folded > 0)) {
      out =
          "tsunagu.db is missing, emptied or older than the change log (the log was folded into "
          "it up to segment " +
          std::to_string(state->folded) +
          (noted ? ", it holds the log up to segment " + std::to_string(folded) : "") + ")";
    }
    // Every segment after those the checkpoint holds must be there, up to the newest one known.
    // Without a note or a STATE file (a store an older version wrote) only gaps can be told.
    uint64_t first = noted ? folded + 1 : state ? state->folded + 1 : segs.empty() ? 0 : segs[0];
    uint64_t last = std::max<uint64_t>(segs.empty() ? 0 : segs.back(), state ? state->newest : 0);
    if (noted) last = std::max(last, folded + 1);  // the segment written after the last fold
    size_t i = 0;
    for (uint64_t seq = first; first != 0 && seq <= last;) {
      while (i < segs.size() && segs[i] < seq)
        ++i;
      if (i < segs.size() && segs[i] == seq) {
        ++seq;
        continue;
      }
      uint64_t end = i < segs.size() ? segs[i] - 1 : last;  // missing: seq to end
      if (!out.empty()) out += "; ";
      out += end == seq ? "the change log segment " + segment_name(seq) + " is missing"
                        : "the change log segments " + segment_name(seq) + " to " +
                              segment_name(end) + " are missing";
      seq = end + 1;
    }
    return out;
  }

  // Records in the checkpoint that it holds the log up to segment `seq`.
  Status note_folded(uint64_t seq) {
    const std::string text = std::to_string(seq);
    return checkpoint_->apply_views({{OpKind::kNote, 0, {}, kFoldedNote, text}});
  }

  // The checkpoint's contents with the logged changes laid over them, in row order.
  Status stream(LoadVisitor& visitor, Changes& changes) {
    class Overlay final : public LoadVisitor {
     public:
      Overlay(LoadVisitor& out, Changes& changes,
              std::map<std::string, std::string, std::less<>>& notes,
              const TransientKinds& transient, HeldRecords& held)
          : out_(out), changes_(changes), notes_(notes), transient_(transient), held_(held) {}
      Status note(std::string_view key, std::string_view value) override {
        if (key.rfind(kOwnNotes, 0) != 0) notes_[std::string(key)] = std::string(value);
        return Status::Ok();
      }
      Status tenant(std::string_view name) override {
        changes_.tenants.erase(std::string(name));
        return out_.tenant(name);
      }
      Status entity(uint64_t row, std::string_view tenant, std::string_view id,
                    std::string_view doc) override {
        TSUNAGU_RETURN_IF_ERROR(flush_tenants());
        TSUNAGU_RETURN_IF_ERROR(flush_rows_before(row));
        auto it = changes_.rows.find(row);
        if (it == changes_.rows.end()) return out_.entity(row, tenant, id, doc);
        const Pending& p = it->second;
        if (p.kind == Pending::Kind::kDelete) return Status::Ok();
        emitted_.insert(row);
        // An update keeps the row's tenant and id; a put (the row deleted and reused, or
        // replaced) brings its own.
        if (p.kind == Pending::Kind::kPut) return out_.entity(row, p.tenant, p.id, p.doc);
        return out_.entity(row, tenant, id, p.doc);
      }
      // The checkpoint's records come after its entities, in RecordKey order; the logged ones
      // are merged in by that order, and replace or hide the checkpoint's of the same address.
      Status record(std::string_view kind, std::string_view tenant, std::string_view key,
                    std::string_view doc) override {
        TSUNAGU_RETURN_IF_ERROR(flush_entities());
        // Held by the checkpoint, whatever the log says of it since.
        if (transient_.count(kind) != 0) held_.emplace(kind, tenant, key);
        const RecordKey address{kind, tenant, key};
        TSUNAGU_RETURN_IF_ERROR(flush_records_before(&address));
        auto& next = *next_record_;
        if (next != changes_.records.end() && next->first == address) {
          const std::optional<std::string_view> logged = (next++)->second;
          if (!logged) return Status::Ok();
          return out_.record(kind, tenant, key, *logged);
        }
        return out_.record(kind, tenant, key, doc);
      }
      Status finish() {
        TSUNAGU_RETURN_IF_ERROR(flush_entities());
        return flush_records_before(nullptr);
      }

     private:
      Status flush_tenants() {
        if (tenants_done_) return Status::Ok();
        tenants_done_ = true;
        // The checkpoint's notes, with those logged since laid over them.
        for (const auto& [key, value] : changes_.notes)
          notes_[key] = value;
        for (const auto& [key, value] : notes_)
          TSUNAGU_RETURN_IF_ERROR(out_.note(key, value));
        for (const auto& t : changes_.tenants)
          TSUNAGU_RETURN_IF_ERROR(out_.tenant(t));
        return Status::Ok();
      }
      Status flush_entities() {
        if (next_record_) return Status::Ok();
        TSUNAGU_RETURN_IF_ERROR(flush_tenants());
        TSUNAGU_RETURN_IF_ERROR(flush_rows_before(UINT64_MAX));
        next_record_ = changes_.records.begin();
        return Status::Ok();
      }
      // Records put in the log whose address is before `address` (every one, for nullptr).
      Status flush_records_before(const RecordKey* address) {
        auto& it = *next_record_;
        for (; it != changes_.records.end() && (address == nullptr || it->first < *address); ++it) {
          if (!it->second) continue;
          const auto& [kind, tenant, key] = it->first;
          TSUNAGU_RETURN_IF_ERROR(out_.record(kind, tenant, key, *it->second));
        }
        return Status::Ok();
      }
      // Rows created in the log (not in the checkpoint) come in row order among the others.
      Status flush_rows_before(uint64_t row) {
        for (auto it = changes_.rows.lower_bound(next_);
             it != changes_.rows.end() && it->first < row; ++it) {
          if (it->second.kind == Pending::Kind::kPut && emitted_.count(it->first) == 0) {
            TSUNAGU_RETURN_IF_ERROR(
                out_.entity(it->first, it->second.tenant, it->second.id, it->second.doc));
          }
        }
        next_ = row;
        return Status::Ok();
      }
      LoadVisitor& out_;
      Changes& changes_;
      std::map<std::string, std::string, std::less<>>& notes_;
      const TransientKinds& transient_;
      HeldRecords& held_;
      std::set<uint64_t> emitted_;
      uint64_t next_ = 0;
      bool tenants_done_ = false;
      // The next logged record to merge; set once every entity has been visited.
      std::optional<std::map<RecordKey, std::optional<std::string_view>>::iterator> next_record_;
    };
    std::lock_guard lock(notes_mu_);
    Overlay overlay(visitor, changes, notes_, transient_, held_);
    TSUNAGU_RETURN_IF_ERROR(checkpoint_->load(overlay));
    return overlay.finish();
  }

  // Starts a new segment, over the spare when there is one, and asks the folding thread to
  // fold every older one.
  void rotate() {
    std::unique_lock lock(mu_);
    if (folding_) return;  // the current fold finishes first; the log keeps growing meanwhile
    const bool spare = std::exchange(spare_ready_, false);
    lock.unlock();
    const std::string path = options_.dir + "/" + segment_name(next_seq_);
    Status st = log_.seal(options_.sync == SyncMode::kFull);
    if (st.ok()) {
      st = spare && ::rename(spare_path().c_str(), path.c_str()) == 0
               ? log_.reuse(path, next_seq_)
               : log_.open(path, next_seq_, 0);
    }
    if (!st.ok()) {
      log::error("change_log_rotate_failed", {{"detail", st.detail()}});
      failure_ = st;
      return;
    }
    logged_transient_ = 0;
    open_seq_ = next_seq_;
    history_.start_segment(open_seq_);
    (void)sync_dir(options_.dir);
    lock.lock();
    const StoreState state{next_seq_, folded_};
    lock.unlock();
    // Before the fold can delete a segment, so that the file never names fewer than there are.
    st = write_state(options_.dir, state);
    if (!st.ok()) log::error("store_state_write_failed", {{"detail", st.detail()}});
    lock.lock();
    fold_upto_ = next_seq_ - 1;
    fold_reach_ = fold_upto_;
    ++next_seq_;
    folding_ = true;
    lock.unlock();
    cv_.notify_all();
  }

  // The folding thread: reads the closed segments back, keeps the latest state of each row,
  // writes it into the checkpoint in one transaction, then deletes those segments (keeping one
  // as the spare). The commit thread meanwhile appends to the newest segment, which is never
  // folded while open.
  void fold_loop() {
    std::unique_lock lock(mu_);
    bool release_due = false;
    for (;;) {
      // A fold reads tens of MiB back, needed once. Under a steady write load the next fold
      // would fault the same memory in again (measured: 4 % of the create rate), so free memory
      // goes back to the OS only once no fold has started for kReleaseDelay.
      if (release_due) {
        if (!cv_.wait_for(lock, kReleaseDelay, [&] { return stopping_ || folding_; })) {
          lock.unlock();
          release_free_memory();
          lock.lock();
          release_due = false;
          continue;
        }
      } else {
        cv_.wait(lock, [&] { return stopping_ || folding_; });
      }
      if (!folding_) return;
      uint64_t upto = fold_upto_;
      lock.unlock();
      auto t0 = std::chrono::steady_clock::now();
      Status st = fold(upto);
      checkpoint_seconds().observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      // On failure the segments stay and are folded with the next rotation.
      if (!st.ok()) log::error("checkpoint_failed", {{"detail", st.detail()}});
      lock.lock();
      folding_ = false;
      release_due = true;
      if (stopping_) return;
    }
  }

  Status fold(uint64_t upto) {
    std::vector<uint64_t> folded;
    {
      Changes changes;  // maps the segments until the checkpoint holds their changes
      for (uint64_t seq : segments(options_.dir)) {
        if (seq > upto) break;
        std::string path = options_.dir + "/" + segment_name(seq);
        uint64_t valid = 0;
        bool torn = false;
        TSUNAGU_RETURN_IF_ERROR(changes.add_segment(path, seq, valid, torn));
        if (torn) return Status::Internal("change log '" + path + "' is damaged");
        folded.push_back(seq);
      }
      // The changes, and the note of what the checkpoint now holds, in one transaction.
      std::vector<OpView> ops = changes.ops();
      std::vector<RecordAddress> put, deleted;
      settle_transient(ops, put, deleted);
      const std::string upto_text = std::to_string(upto);
      ops.push_back({OpKind::kNote, 0, {}, kFoldedNote, upto_text});
      TSUNAGU_RETURN_IF_ERROR(checkpoint_->apply_views(ops));
      history_.forget_upto(upto);
      for (auto& r : put)
        held_.insert(std::move(r));
      for (const auto& r : deleted)
        held_.erase(r);
    }
    {
      std::lock_guard lock(mu_);
      folded_ = upto;
    }
    // No rotation runs during a fold, so the segment after `upto` is the newest.
    Status st = write_state(options_.dir, {upto + 1, upto});
    if (!st.ok()) log::error("store_state_write_failed", {{"detail", st.detail()}});
    // The newest folded segment becomes the spare if there is none, unless this process did
    // not write it (it may hold records of the old format, whose CRC does not cover the
    // segment's number); the others go.
    bool keep;
    {
      std::lock_guard lock(mu_);
      keep = !spare_ready_;
    }
    bool kept = false;
    for (auto it = folded.rbegin(); it != folded.rend(); ++it) {
      const std::string path = options_.dir + "/" + segment_name(*it);
      if (keep && !kept && *it >= first_new_seq_ &&
          ::rename(path.c_str(), spare_path().c_str()) == 0) {
        kept = true;
        continue;
      }
      ::unlink(path.c_str());
    }
    (void)sync_dir(options_.dir);
    if (kept) {
      std::lock_guard lock(mu_);
      spare_ready_ = true;
    }
    return Status::Ok();
  }

  // Drops from a fold's `ops` what transient records need not cost the checkpoint: a put already
  // settled becomes a deletion (its owner's own deletion is merely not logged yet), and a
  // deletion of a record the checkpoint does not hold is left out (the record was put and
  // deleted or settled within the log). `put` and `deleted` receive the transient records the
  // checkpoint holds and no longer holds once `ops` are applied.
  void settle_transient(std::vector<OpView>& ops, std::vector<RecordAddress>& put,
                        std::vector<RecordAddress>& deleted) const {
    if (transient_.empty()) return;
    size_t kept = 0;
    for (OpView& op : ops) {
      const bool record = op.kind == OpKind::kPutRecord || op.kind == OpKind::kDeleteRecord;
      auto kind = record ? transient_.find(op.record_kind) : transient_.end();
      if (kind != transient_.end()) {
        if (op.kind == OpKind::kPutRecord && kind->second(op.tenant, op.id)) {
          op.kind = OpKind::kDeleteRecord;
          op.doc = {};
        }
        const RecordKey address{op.record_kind, op.tenant, op.id};
        const bool held = held_.find(address) != held_.end();
        if (op.kind == OpKind::kDeleteRecord) {
          if (!held) continue;
          deleted.emplace_back(op.record_kind, op.tenant, op.id);
        } else if (!held) {
          put.emplace_back(op.record_kind, op.tenant, op.id);
        }
      }
      ops[kept++] = op;
    }
    ops.resize(kept);
  }

  std::string spare_path() const { return options_.dir + "/" + kSpareName; }

  static constexpr std::chrono::seconds kReleaseDelay{2};
  // A segment holding transient records folds at checkpoint_bytes of other changes, or at this
  // many times checkpoint_bytes in all.
  static constexpr uint64_t kTransientBound = 4;

  std::unique_ptr<DirLock> lock_;  // first in, last out: held until everything is closed
  std::unique_ptr<Store> checkpoint_;
  EmbeddedOptions options_;
  ChangeLog log_;               // the committing thread
  std::string payload_;         // the committing thread: reused encoding buffer
  Status failure_;              // the committing thread: set when the log can no longer be written
  uint64_t next_seq_ = 1;       // next segment number
  uint64_t first_new_seq_ = 1;  // segments from this one on may be reused (set by load())
  bool loaded_ = false;
  uint64_t logged_transient_ = 0;  // the committing thread's: transient documents in the segment
  uint64_t open_seq_ = 0;          // the committing thread's: the segment log_ appends to
  std::vector<history::Instance> history_check_;  // the committing thread's: chunks decoded

  // History ops logged and perhaps not yet folded, for read_history().
  HistoryTail history_;
  // The newest segment a fold may have written into the checkpoint (set before the fold runs).
  std::atomic<uint64_t> fold_reach_{0};

  // Record kinds declared transient: set before load(), then read by the fold thread.
  TransientKinds transient_;
  // The records of transient kinds the checkpoint holds: found by load(), then kept by the
  // fold thread.
  HeldRecords held_;

  std::mutex notes_mu_;
  std::map<std::string, std::string, std::less<>> notes_;  // every note but the log's own

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t fold_upto_ = 0;  // segments <= this are to be folded
  bool folding_ = false;
  bool spare_ready_ = false;  // the spare file holds a folded segment
  uint64_t folded_ = 0;       // the checkpoint holds the log up to this segment
  bool stopping_ = false;
  std::thread folder_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_embedded(const EmbeddedOptions& options) {
  SqliteOptions so;
  so.path = options.dir + "/tsunagu.db";
  so.sync = options.sync;
  so.wal = false;  // only the fold thread writes the checkpoint, and nothing reads it meanwhile
  // Read once at start, then written: mapping it would only make every page count in the RSS.
  so.mmap_bytes = 0;
  auto lock = DirLock::take(options.dir);
  if (!lock.ok()) return lock.status();
  auto sqlite = open_sqlite(so);
  if (!sqlite.ok()) return sqlite.status();
  return std::unique_ptr<Store>(
      std::make_unique<LogStore>(std::move(*lock), std::move(*sqlite), options));
}

}  // namespace tsunagu::store
