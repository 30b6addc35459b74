#include "audit/audit_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/time.hpp"

namespace tsunagu::audit {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;

metrics::Counter& written_metric() {
  static auto& c = metrics::registry()
                       .counter("tsunagu_audit_records_written_total",
                                "Audit records written to the day files", {})
                       .with({});
  return c;
}

metrics::Counter& dropped_metric(const char* reason) {
  static auto& family = metrics::registry().counter(
      "tsunagu_audit_records_dropped_total",
      "Audit records lost: the buffer stayed full (buffer_full), a write failed (write_failed), "
      "or the log had stopped (stopped)",
      {"reason"});
  return family.with({reason});
}

// Midnight UTC of the day `us` falls in.
int64_t day_start(int64_t us) {
  int64_t d = us / kDayUs;
  if (us % kDayUs < 0) --d;
  return d * kDayUs;
}

// Writes all of `text`; false (errno set) when the file takes less.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

AuditLog::AuditLog(Options options) : options_(std::move(options)) {}

AuditLog::~AuditLog() {
  stop();
}

int64_t AuditLog::now() const {
  return options_.clock ? options_.clock() : now_us();
}

Status AuditLog::start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) {
    return Status::Internal("cannot make the audit folder " + options_.dir + ": " + ec.message());
  }
  apply_retention();
  std::lock_guard lock(mu_);
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return Status::Ok();
}

void AuditLog::stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  room_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  running_ = false;
  done_.notify_all();
}

void AuditLog::record(Record&& r) {
  std::unique_lock lock(mu_);
  if (!running_ || stopping_) {
    lock.unlock();
    return drop(1, "stopped");
  }
  if (queue_.size() >= options_.capacity &&
      !room_.wait_for(lock, std::chrono::milliseconds(options_.full_wait_ms),
                      [this] { return queue_.size() < options_.capacity || stopping_; })) {
    lock.unlock();
    return drop(1, "buffer_full");
  }
  queue_.push_back(std::move(r));
  ++queued_seq_;
  const bool first = queue_.size() == 1;
  lock.unlock();
  // Only the first record of a batch wakes the writer; the others find it gathering.
  if (first) wake_.notify_one();
}

void AuditLog::flush() {
  std::unique_lock lock(mu_);
  if (!running_) return;
  const uint64_t target = queued_seq_;
  ++flushing_;
  wake_.notify_one();
  done_.wait(lock, [&] { return written_seq_ >= target || !running_ || stopping_; });
  --flushing_;
}

Result<Page> AuditLog::query(const Filter& filter, Order order, size_t offset, size_t limit,
                             bool count) {
  flush();
  return read_records(options_.dir, filter, order, offset, limit, count);
}

size_t AuditLog::apply_retention() {
  if (options_.retention_days <= 0) return 0;
  const std::string oldest_kept = day_of(now() - options_.retention_days * kDayUs);
  auto removed = remove_days_before(options_.dir, oldest_kept);
  for (const auto& day : removed) {
    log::info("audit_day_deleted",
              {{"day", day}, {"retention_days", options_.retention_days}, {"dir", options_.dir}});
  }
  return removed.size();
}

void AuditLog::run() {
  std::vector<Record> batch;
  int64_t next_retention = steady_us() + options_.retention_check_s * 1'000'000;
  std::unique_lock lock(mu_);
  while (true) {
    // Sleep until records come, or a sync or a retention pass is due.
    int64_t due = next_retention;
    if (unsynced_) due = std::min(due, synced_at_ + options_.sync_interval_ms * 1000);
    wake_.wait_for(lock, std::chrono::microseconds(std::max<int64_t>(0, due - steady_us())),
                   [this] { return !queue_.empty() || stopping_; });
    // Gather for a moment: one write(2) for many records.
    if (!queue_.empty() && !stopping_ && flushing_ == 0) {
      wake_.wait_for(lock, std::chrono::milliseconds(options_.batch_delay_ms), [this] {
        return stopping_ || flushing_ > 0 || queue_.size() >= options_.capacity / 2;
      });
    }
    batch.swap(queue_);
    const uint64_t taken = queued_seq_;
    const bool stopping = stopping_;
    lock.unlock();
    room_.notify_all();
    if (!batch.empty()) write(batch);
    batch.clear();
    const int64_t t = steady_us();
    if (unsynced_ && (stopping || t - synced_at_ >= options_.sync_interval_ms * 1000))
      sync_open_file();
    if (t >= next_retention) {
      apply_retention();
      next_retention = t + options_.retention_check_s * 1'000'000;
    }
    lock.lock();
    written_seq_ = taken;
    done_.notify_all();
    if (stopping && queue_.empty()) break;
  }
  lock.unlock();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void AuditLog::write(std::vector<Record>& batch) {
  // Each record goes to the file of its own day; nearly always one day per batch.
  std::map<int64_t, std::pair<std::string, size_t>> by_day;  // midnight -> lines, records
  int64_t begin = 0, end = 0;
  std::pair<std::string, size_t>* current = nullptr;
  for (const Record& r : batch) {
    if (current == nullptr || r.time < begin || r.time >= end) {
      begin = day_start(r.time);
      end = begin + kDayUs;
      current = &by_day[begin];
    }
    append_line(r, current->first);
    ++current->second;
  }
  for (auto& [midnight, lines] : by_day) {
    if (write_day(day_of(midnight), lines.first)) {
      written_.fetch_add(lines.second, std::memory_order_relaxed);
      written_metric().inc(lines.second);
    } else {
      drop(lines.second, "write_failed");
    }
  }
}

bool AuditLog::write_day(const std::string& day, const std::string& text) {
  // The newest day's file stays open; a record of an earlier day (answered before midnight,
  // written after) is appended to its own file, opened for it.
  int fd = fd_;
  const bool newest = open_day_.empty() || day >= open_day_;
  if (day != open_day_) {
    const std::string path = day_path(options_.dir, day);
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      log::error("audit_write_failed", {{"path", path}, {"detail", std::strerror(errno)}});
      return false;
    }
    if (newest) {
      sync_open_file();
      if (fd_ >= 0) ::close(fd_);
      fd_ = fd;
      open_day_ = day;
    }
  }
  const std::string_view out = text;
  bool ok = (!torn_ || write_all(fd, "\n")) && write_all(fd, out);
  if (!ok) {
    log::error("audit_write_failed", {{"day", day}, {"detail", std::strerror(errno)}});
    torn_ = true;  // the next write starts on a fresh line
  } else {
    torn_ = false;
  }
  if (fd != fd_) {
    ::fdatasync(fd);
    ::close(fd);
  } else {
    unsynced_ = true;
  }
  return ok;
}

void AuditLog::sync_open_file() {
  if (fd_ >= 0 && unsynced_) ::fdatasync(fd_);
  unsynced_ = false;
  synced_at_ = steady_us();
}

void AuditLog::drop(uint64_t n, const char* reason) {
  dropped_.fetch_add(n, std::memory_order_relaxed);
  dropped_metric(reason).inc(n);
  // One line a second at most: a full disk must not also flood the log.
  static std::atomic<int64_t> last_logged{0};
  const int64_t t = steady_us();
  int64_t last = last_logged.load(std::memory_order_relaxed);
  if (t - last >= 1'000'000 && last_logged.compare_exchange_strong(last, t)) {
    log::error(
        "audit_records_dropped",
        {{"reason", reason}, {"records", n}, {"dropped_in_all", dropped()}, {"dir", options_.dir}});
  }
}

}  // namespace tsunagu::audit
