// The audit log (docs/security.md, "Audit log"): records handed over by the request path are
// queued in a bounded buffer and written by a thread of the log's own to the day files of its
// folder (day_files.hpp), so that no event loop waits for the disk. The same thread deletes the
// day files past the retention period. Queries read the files (after the records queued before
// them are written).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/day_files.hpp"
#include "audit/record.hpp"
#include "common/status.hpp"

namespace tsunagu::audit {

// Owned by the app; record() and query() may be called from any thread between start() and
// stop().
class AuditLog {
 public:
  struct Options {
    std::string dir;             // the folder of the day files (made when missing)
    int64_t retention_days = 0;  // day files older than this are deleted; 0: kept for ever
    size_t capacity = 65536;     // records queued at most
    // How long record() waits for room in a full buffer before it drops the record.
    int64_t full_wait_ms = 100;
    // How long the thread, woken by a record, gathers more before it writes them all with one
    // write(2): what a kill -9 may lose at most (plus the write itself). flush() and a buffer
    // half full cut it short.
    int64_t batch_delay_ms = 10;
    // Written records reach the disk (fdatasync) at least this often.
    int64_t sync_interval_ms = 1000;
    int64_t retention_check_s = 3600;  // between retention passes (one runs at start too)
    std::function<int64_t()> clock;    // µs since the epoch; now_us() when empty (tests set it)
  };

  explicit AuditLog(Options options);
  ~AuditLog();  // stop()s
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Makes the folder, applies retention once and starts the writer thread. InternalError when
  // the folder cannot be made.
  Status start();
  // Writes what is queued, syncs the files and ends the thread. Records given later are dropped.
  void stop();

  // Queues one record. Returns at once unless the buffer is full: then it waits up to
  // full_wait_ms for room, and drops the record (counted, logged) if none comes.
  void record(Record&& r);
  // Returns once every record queued before the call is written to its file (or dropped).
  void flush();
  // flush(), then read_records() on the folder.
  Result<Page> query(const Filter& filter, Order order, size_t offset, size_t limit, bool count);
  // Deletes the day files older than the retention period now; returns how many.
  size_t apply_retention();

  int64_t now() const;
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run();
  void write(std::vector<Record>& batch);
  bool write_day(const std::string& day, const std::string& text);
  void sync_open_file();
  void drop(uint64_t n, const char* reason);

  Options options_;
  std::mutex mu_;
  std::condition_variable wake_;  // the writer: records queued, or stop
  std::condition_variable room_;  // record(): the buffer was emptied
  std::condition_variable done_;  // flush(): a batch was written
  std::vector<Record> queue_;
  uint64_t queued_seq_ = 0;   // records ever queued
  uint64_t written_seq_ = 0;  // records ever taken and written (or dropped) by the thread
  int flushing_ = 0;          // flush() calls waiting
  bool stopping_ = false;
  bool running_ = false;
  std::thread thread_;
  // The writer thread's: the file of the newest day written, kept open.
  std::string open_day_;
  int fd_ = -1;
  bool unsynced_ = false;
  bool torn_ = false;      // a failed write may have left a line without its '\n'
  int64_t synced_at_ = 0;  // steady µs
  std::atomic<uint64_t> written_{0}, dropped_{0};
};

}  // namespace tsunagu::audit
