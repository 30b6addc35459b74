// Micro-benchmarks of the SQLite store's history (store/sqlite/history_table.hpp) through the
// Store interface: what a fold pays to append a couple of instances to each of many series, what
// reading a day of one series costs, and how long reads wait beside a fold with a rollback
// journal and with WAL. Figures and commands: docs/temporal.md ("Measured"), docs/storage.md.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/test_random.hpp"
#include "store/store.hpp"

namespace tsunagu::bench {
namespace {

using store::history::Instance;
namespace fs = std::filesystem;

constexpr int64_t kStart = 1'780'000'000'000'000;  // 2026-05-28, microseconds
constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDay = 1440 * kMinute;

// Instance `i` of series `s`: a temperature in tenths every minute, observed with a few
// milliseconds of jitter and received about 80 ms later (as history_bench.cpp's series).
Instance temperature(uint64_t s, uint64_t i) {
  testing::Xorshift rng(((s + 1) << 32) ^ (i + 1));
  Instance in;
  in.seq = i;
  in.kind = Instance::Kind::kDouble;
  in.observed_at =
      kStart + kMinute * static_cast<int64_t>(i) + 1000 * static_cast<int64_t>(rng.below(5));
  in.created_at = in.observed_at + 80'000 + static_cast<int64_t>(rng.below(5000));
  in.modified_at = in.created_at;
  in.number = std::round((20 + 2 * std::sin(static_cast<double>(i) / 60 + s)) * 10) / 10;
  in.unit_code = "CEL";
  return in;
}

std::string chunk(uint64_t s, uint64_t from, uint64_t to) {
  std::vector<Instance> v;
  for (uint64_t i = from; i < to; ++i)
    v.push_back(temperature(s, i));
  return *store::history::encode_chunk(v);
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A database file in the temporary directory, removed with its journal before and after.
class TempDb {
 public:
  explicit TempDb(const std::string& name)
      : path_((fs::temp_directory_path() /
               ("tsunagu-" + name + "-" + std::to_string(getpid()) + ".db"))
                  .string()) {
    remove();
  }
  ~TempDb() { remove(); }
  const std::string& path() const { return path_; }

 private:
  void remove() {
    std::error_code ec;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"})
      fs::remove(path_ + suffix, ec);
  }
  std::string path_;
};

// The store as the change log's checkpoint opens it (no memory map), with `wal` or not.
std::unique_ptr<store::Store> open_store(const std::string& path, bool wal) {
  store::SqliteOptions o;
  o.path = path;
  o.wal = wal;
  o.mmap_bytes = 0;
  auto s = store::open_sqlite(o);
  return s.ok() ? std::move(*s) : nullptr;
}

// `series` series of `per_series` instances each.
bool fill(store::Store& s, uint64_t series, uint64_t per_series) {
  for (uint64_t first = 0; first < series; first += 1000) {
    store::WriteBatch b;
    for (uint64_t n = first; n < std::min(series, first + 1000); ++n)
      b.append_history(n, chunk(n, 0, per_series));
    if (!s.apply(std::move(b)).ok()) return false;
  }
  return true;
}

constexpr uint64_t kSeries = 20'000;
constexpr uint64_t kFilled = 500;  // a last chunk half full, as on average

// A fold's history work at one instance a minute per series and a fold every two minutes: one
// batch appending two instances to each of 20,000 series whose last chunk holds 500, applied
// through SqliteStore::apply (chunks encoded beforehand, as the fold reads them from the log).
// Reports the applying thread's CPU time and the wall-clock time per series.
void BM_HistoryStoreAppend(benchmark::State& state) {
  const bool wal = state.range(0) != 0;
  state.SetLabel(wal ? "wal" : "rollback journal");
  TempDb db("history-append");
  auto s = open_store(db.path(), wal);
  if (s == nullptr || !fill(*s, kSeries, kFilled)) {
    state.SkipWithError("cannot fill the store");
    return;
  }
  uint64_t next = kFilled;
  double cpu = 0, wall = 0;
  for (auto _ : state) {
    store::WriteBatch b;
    for (uint64_t n = 0; n < kSeries; ++n)
      b.append_history(n, chunk(n, next, next + 2));
    next += 2;
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    if (!s->apply(std::move(b)).ok()) state.SkipWithError("apply failed");
    cpu += thread_cpu_seconds() - c0;
    const double spent =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    wall += spent;
    state.SetIterationTime(spent);
  }
  const double appends = static_cast<double>(state.iterations() * kSeries);
  state.counters["cpu_us_per_series"] = cpu / appends * 1e6;
  state.counters["wall_us_per_series"] = wall / appends * 1e6;
}
BENCHMARK(BM_HistoryStoreAppend)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// Reading one series: a day of it (1,440 instances, in two or three chunks) at a random day of a
// week, or its last last_n instances. 100 series of a week each (10,080 instances).
void BM_HistoryStoreRead(benchmark::State& state) {
  const size_t last_n = static_cast<size_t>(state.range(0));
  TempDb db("history-read");
  auto s = open_store(db.path(), true);
  constexpr uint64_t kWeekSeries = 100;
  if (s == nullptr || !fill(*s, kWeekSeries, 7 * 1440)) {
    state.SkipWithError("cannot fill the store");
    return;
  }
  testing::Xorshift rng(7);
  std::vector<Instance> out;
  size_t read = 0;
  for (auto _ : state) {
    const int64_t day = kStart + static_cast<int64_t>(rng.below(6)) * kDay + kDay / 2;
    const store::history::TimeRange range =
        last_n == 0 ? store::history::TimeRange{day, day + kDay} : store::history::TimeRange{};
    out.clear();
    if (!s->read_history(rng.below(kWeekSeries), range, last_n, out).ok())
      state.SkipWithError("read failed");
    read += out.size();
  }
  state.SetLabel(last_n == 0 ? "a day" : "last " + std::to_string(last_n));
  state.counters["instances"] = static_cast<double>(read) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_HistoryStoreRead)->Arg(0)->Arg(1)->Arg(100)->Unit(benchmark::kMicrosecond);

// Reads beside a fold: one thread applies what the fold of a busy log segment writes while
// this one reads a day of a random series again and again (or does not, for the fold's cost
// alone). The fold either creates 20,000 entities (documents of 1.6 KB: new pages, which a
// rollback journal writes once and WAL twice) or updates 20,000 and appends two instances to
// each of 20,000 series whose last chunk holds 500 (a city's sensors reporting). Reports the
// fold's wall-clock and CPU time and how long the reads took (the longest, the 99th percentile,
// the median), with the checkpoint's rollback journal (readers wait while the writer holds the
// database's exclusive lock) and with WAL.
void BM_HistoryReadsBesideAFold(benchmark::State& state) {
  const bool wal = state.range(0) != 0;
  const bool history = state.range(1) != 0;
  const bool reads = state.range(2) != 0;
  state.SetLabel(std::string(wal ? "wal" : "rollback journal") +
                 (history ? ", updates and history" : ", creates") +
                 (reads ? ", reads beside" : ", no reads"));
  TempDb db("history-fold");
  auto s = open_store(db.path(), wal);
  constexpr uint64_t kEntities = 20'000;
  const uint64_t series = history ? kSeries : 0;
  testing::Xorshift rng(11);
  auto document = [&] {
    std::string doc(1600, ' ');
    for (char& c : doc)
      c = static_cast<char>('a' + rng.below(26));
    return doc;
  };
  store::WriteBatch entities;
  for (uint64_t row = 1; row <= kEntities; ++row)
    entities.insert_entity(row, "", "urn:ngsi-ld:E:" + std::to_string(row), document());
  if (s == nullptr || !fill(*s, series, kFilled) || !s->apply(std::move(entities)).ok()) {
    state.SkipWithError("cannot fill the store");
    return;
  }
  uint64_t next = kFilled, next_row = kEntities + 1;
  std::vector<double> latencies;
  double fold_wall = 0, fold_cpu = 0;
  for (auto _ : state) {
    store::WriteBatch fold;
    for (uint64_t row = 1; row <= kEntities; ++row) {
      if (history) {
        fold.update_entity(row, document());
      } else {
        fold.insert_entity(next_row, "", "urn:ngsi-ld:E:" + std::to_string(next_row), document());
        ++next_row;
      }
    }
    for (uint64_t n = 0; n < series; ++n)
      fold.append_history(n, chunk(n, next, next + 2));
    next += 2;
    std::atomic<bool> done{false}, failed{false};
    const auto t0 = std::chrono::steady_clock::now();
    std::thread folder([&] {
      const double c0 = thread_cpu_seconds();
      failed.store(!s->apply(std::move(fold)).ok());
      fold_cpu += thread_cpu_seconds() - c0;
      done.store(true);
    });
    std::vector<Instance> out;
    while (reads && !done.load()) {
      const int64_t day = kStart + static_cast<int64_t>(rng.below(300)) * kMinute;
      const auto r0 = std::chrono::steady_clock::now();
      out.clear();
      if (!s->read_history(rng.below(kSeries), {day, day + kDay}, 0, out).ok())
        state.SkipWithError("read failed");
      latencies.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count());
    }
    folder.join();
    if (failed.load()) state.SkipWithError("apply failed");
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fold_wall += wall;
    state.SetIterationTime(wall);
  }
  std::sort(latencies.begin(), latencies.end());
  const double n = static_cast<double>(state.iterations());
  state.counters["fold_wall_s"] = fold_wall / n;
  state.counters["fold_cpu_s"] = fold_cpu / n;
  if (!latencies.empty()) {
    state.counters["reads"] = static_cast<double>(latencies.size()) / n;
    state.counters["read_max_ms"] = latencies.back() * 1e3;
    state.counters["read_p99_ms"] = latencies[latencies.size() * 99 / 100] * 1e3;
    state.counters["read_median_ms"] = latencies[latencies.size() / 2] * 1e3;
  }
}
BENCHMARK(BM_HistoryReadsBesideAFold)
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

}  // namespace
}  // namespace tsunagu::bench
