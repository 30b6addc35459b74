// Micro-benchmarks of the history chunk codec (store/history/chunk_codec.hpp): bytes per
// instance of realistic attribute series, in chunks and on disk in SQLite with the intended
// one-row-per-chunk table, and how fast chunks are encoded, decoded whole, and decoded to
// (time, number) pairs for aggregation. Figures and commands: docs/temporal.md.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/test_random.hpp"
#include "store/history/chunk_codec.hpp"
#include "store/history/columns.hpp"

namespace tsunagu::bench {
namespace {

using store::history::Instance;
using Kind = Instance::Kind;
using testing::Xorshift;

constexpr int64_t kStart = 1'780'000'000'000'000;  // 2026-05-28, microseconds
constexpr int64_t kMinute = 60'000'000;

enum class Series {
  kTemperature,    // tenths of a degree, random walk, every 60 s
  kTemperatureMs,  // the same with createdAt/modifiedAt cut to whole milliseconds
  kCounter,        // an integer counter, +0..19 a minute
  kOccupancy,      // an integer 0..200, random walk of +-3
  kRandomDouble,   // uniform doubles: nothing to compress
  kStatus,         // one of four strings, changing one time in ten
  kJson,           // a small JSON object of three measurements
  kIrregular,      // hundredths, at exponential intervals (mean 5 min)
};

const char* series_name(Series s) {
  switch (s) {
    case Series::kTemperature:
      return "temperature";
    case Series::kTemperatureMs:
      return "temperature_ms_systimes";
    case Series::kCounter:
      return "counter";
    case Series::kOccupancy:
      return "occupancy";
    case Series::kRandomDouble:
      return "random_double";
    case Series::kStatus:
      return "status_string";
    case Series::kJson:
      return "json_object";
    case Series::kIrregular:
      return "irregular";
  }
  return "?";
}

// One series' generator: call next() for its instances in time order.
class Generator {
 public:
  Generator(Series kind, uint64_t seed) : kind_(kind), rng_(seed) {}

  Instance next() {
    Instance in;
    in.seq = seq_++;
    if (kind_ == Series::kIrregular) {
      // Exponential gaps of mean 5 min, in whole milliseconds.
      const double u = 1 - rng_.unit();
      t_ += 1000 * static_cast<int64_t>(-std::log(u) * 300'000);
      in.observed_at = t_;
    } else {
      // Every 60 s; a sensor clock in whole milliseconds with up to 4 ms of jitter.
      in.observed_at = kStart + kMinute * static_cast<int64_t>(in.seq) +
                       1000 * static_cast<int64_t>(rng_.below(5));
    }
    // Received 80 ms later, give or take a few, stamped by the broker's clock in microseconds.
    in.created_at = in.observed_at + 80'000 + static_cast<int64_t>(rng_.below(5000));
    if (kind_ == Series::kTemperatureMs) in.created_at -= in.created_at % 1000;
    in.modified_at = in.created_at;
    switch (kind_) {
      case Series::kTemperature:
      case Series::kTemperatureMs:
        level_ += static_cast<int64_t>(rng_.below(5)) - 2;
        in.kind = Kind::kDouble;
        in.number = static_cast<double>(level_) / 10;
        in.unit_code = "CEL";
        break;
      case Series::kCounter:
        level_ += static_cast<int64_t>(rng_.below(20));
        in.kind = Kind::kInt;
        in.integer = level_;
        break;
      case Series::kOccupancy:
        level_ = std::clamp<int64_t>(level_ + static_cast<int64_t>(rng_.below(7)) - 3, 0, 200);
        in.kind = Kind::kInt;
        in.integer = level_;
        break;
      case Series::kRandomDouble:
        in.kind = Kind::kDouble;
        in.number = rng_.unit() * 100;
        break;
      case Series::kStatus: {
        static const char* const kStatuses[] = {"free", "occupied", "reserved", "outOfService"};
        if (rng_.below(10) == 0) level_ = static_cast<int64_t>(rng_.below(4));
        in.kind = Kind::kString;
        in.text = kStatuses[level_ % 4];
        break;
      }
      case Series::kJson: {
        char buf[128];
        std::snprintf(buf, sizeof buf, R"({"averageSpeed":%.1f,"intensity":%d,"occupancy":%.2f})",
                      30 + rng_.unit() * 40, static_cast<int>(rng_.below(60)), rng_.unit());
        in.kind = Kind::kJson;
        in.text = buf;
        break;
      }
      case Series::kIrregular:
        level_ += static_cast<int64_t>(rng_.below(41)) - 20;
        in.kind = Kind::kDouble;
        in.number = static_cast<double>(level_) / 100;
        in.unit_code = "MTR";
        break;
    }
    return in;
  }

 private:
  Series kind_;
  Xorshift rng_;
  uint64_t seq_ = 0;
  int64_t t_ = kStart;
  int64_t level_ = 214;
};

constexpr size_t kChunk = 1000;  // instances per chunk

std::vector<Instance> chunk_of(Generator& g) {
  std::vector<Instance> v;
  v.reserve(kChunk);
  for (size_t i = 0; i < kChunk; ++i)
    v.push_back(g.next());
  return v;
}

// This thread's CPU time, in seconds: the machine the figures come from is shared, and a rate
// over wall-clock time would measure the other work too.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The table the store will keep (docs/temporal.md): one row per chunk, found by series and
// first time.
class ChunkTable {
 public:
  explicit ChunkTable(const std::string& path) : path_(path) {
    std::filesystem::remove(path_);
    sqlite3_open(path_.c_str(), &db_);
    exec("PRAGMA page_size=16384");
    exec("PRAGMA journal_mode=TRUNCATE");
    exec(
        "CREATE TABLE history_chunks(series INTEGER NOT NULL, first_time INTEGER NOT NULL, "
        "last_time INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL)");
    exec("CREATE INDEX history_chunks_by_series ON history_chunks(series, first_time)");
    exec("BEGIN");
    sqlite3_prepare_v2(db_, "INSERT INTO history_chunks VALUES(?,?,?,?,?)", -1, &insert_, nullptr);
  }
  ~ChunkTable() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + "-journal");
  }
  void add(int64_t series, const std::vector<Instance>& v, const std::string& chunk) {
    sqlite3_bind_int64(insert_, 1, series);
    sqlite3_bind_int64(insert_, 2, v.front().time());
    sqlite3_bind_int64(insert_, 3, v.back().time());
    sqlite3_bind_int64(insert_, 4, static_cast<int64_t>(v.size()));
    sqlite3_bind_blob(insert_, 5, chunk.data(), static_cast<int>(chunk.size()), SQLITE_STATIC);
    if (sqlite3_step(insert_) != SQLITE_DONE) std::fprintf(stderr, "%s\n", sqlite3_errmsg(db_));
    sqlite3_reset(insert_);
  }
  // Commits and returns the file's size.
  uintmax_t finish() {
    exec("COMMIT");
    return std::filesystem::file_size(path_);
  }

 private:
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::fprintf(stderr, "%s: %s\n", sql, err);
      sqlite3_free(err);
    }
  }
  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

// A chunk ends at 1,000 instances or at this many bytes, whichever comes first: four rows and
// their cell headers fill a 16 KiB page. (A 10 KB chunk left 6 KB of its page empty.)
constexpr size_t kChunkBytes = 3800;

// Encodes the first instances of `pending` as one chunk of at most kChunkBytes (fewer instances
// when 1,000 would not fit; the fold will guess from the series' last chunk, so only the last
// attempt is timed) and removes them. Returns the chunk and the instances it holds.
std::pair<std::string, std::vector<Instance>> take_chunk(std::vector<Instance>& pending,
                                                         double& encode_s) {
  size_t n = std::min(pending.size(), kChunk);
  for (;;) {
    const std::span<const Instance> v(pending.data(), n);
    const double t0 = cpu_seconds();
    auto chunk = store::history::encode_chunk(v);
    const double spent = cpu_seconds() - t0;
    if (chunk->size() <= kChunkBytes || n == 1) {
      encode_s += spent;
      std::vector<Instance> taken(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(n));
      pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(n));
      return {std::move(*chunk), std::move(taken)};
    }
    n = std::max<size_t>(1, n * kChunkBytes / chunk->size() * 97 / 100);
  }
}

// 10,000,000 instances of one kind of series: 1,000 series of 10,000 instances (a week at one a
// minute), in chunks of up to 1,000 instances and kChunkBytes, encoded and written to SQLite in
// time order as a fold would (the chunks of all series interleaved). Reports bytes per instance
// in chunks and on disk, and the rates of encoding, whole decoding and number decoding (the last
// two over the first 100 series, kept in memory) in this thread's CPU time. Generating the
// instances is not timed.
void BM_HistorySeries(benchmark::State& state) {
  const auto kind = static_cast<Series>(state.range(0));
  const size_t series = static_cast<size_t>(state.range(1));
  constexpr size_t kPerSeries = 10'000;
  constexpr size_t kKept = 100;
  state.SetLabel(series_name(kind));
  for (auto _ : state) {
    std::vector<Generator> gen;
    for (size_t s = 0; s < series; ++s)
      gen.emplace_back(kind, 1 + s);
    std::vector<std::vector<Instance>> pending(series);
    std::vector<size_t> generated(series, 0);
    ChunkTable table(std::filesystem::temp_directory_path() /
                     ("tsunagu-history-bench-" + std::to_string(getpid()) + ".db"));
    std::vector<std::string> kept;
    std::vector<std::vector<double>> kept_values;
    size_t chunk_bytes = 0, instances = 0, chunks = 0;
    double encode_s = 0;
    for (bool more = true; more;) {
      more = false;
      for (size_t s = 0; s < series; ++s) {
        while (pending[s].size() < kChunk && generated[s] < kPerSeries) {
          pending[s].push_back(gen[s].next());
          ++generated[s];
        }
        if (pending[s].empty()) continue;
        more = true;
        auto [chunk, v] = take_chunk(pending[s], encode_s);
        chunk_bytes += chunk.size();
        instances += v.size();
        ++chunks;
        table.add(static_cast<int64_t>(s), v, chunk);
        if (s < kKept) {
          kept.push_back(std::move(chunk));
          std::vector<double> values;
          for (const Instance& in : v)
            if (in.kind == Kind::kDouble || in.kind == Kind::kInt)
              values.push_back(in.kind == Kind::kInt ? static_cast<double>(in.integer) : in.number);
          kept_values.push_back(std::move(values));
        }
      }
    }
    const uintmax_t disk = table.finish();

    std::vector<Instance> out;
    size_t decoded = 0;
    double t0 = cpu_seconds();
    for (const std::string& chunk : kept) {
      out.clear();
      if (!store::history::decode_chunk(chunk, out).ok()) state.SkipWithError("decode failed");
      decoded += out.size();
    }
    const double decode_s = cpu_seconds() - t0;
    std::vector<store::history::TimedNumber> numbers;
    size_t numbered = 0;
    double sum = 0;
    t0 = cpu_seconds();
    for (const std::string& chunk : kept) {
      numbers.clear();
      if (!store::history::decode_numbers(chunk, numbers).ok()) state.SkipWithError("failed");
      for (const auto& n : numbers)
        sum += n.value;
      numbered += numbers.size();
    }
    const double numbers_s = cpu_seconds() - t0;
    benchmark::DoNotOptimize(sum);

    const double n = static_cast<double>(instances);
    state.counters["instances"] = n;
    state.counters["inst_per_chunk"] = n / static_cast<double>(chunks);
    state.counters["chunk_B_per_inst"] = static_cast<double>(chunk_bytes) / n;
    state.counters["sqlite_B_per_inst"] = static_cast<double>(disk) / n;
    state.counters["encode_Minst_s"] = n / encode_s / 1e6;
    state.counters["decode_Minst_s"] = static_cast<double>(decoded) / decode_s / 1e6;
    if (numbered > 0)
      state.counters["numbers_Minst_s"] = static_cast<double>(numbered) / numbers_s / 1e6;
    // The value column alone in each double form, as if every number were a JSON double.
    if (!kept_values.front().empty()) {
      size_t values = 0, decimal = 0, xored = 0;
      bool decimal_fits = true;
      for (const auto& v : kept_values) {
        std::string a, b;
        decimal_fits = store::history::encode_doubles(v, a, store::history::DoubleForm::kDecimal) &&
                       decimal_fits;
        (void)store::history::encode_doubles(v, b, store::history::DoubleForm::kXor);
        values += v.size();
        decimal += a.size();
        xored += b.size();
      }
      if (decimal_fits)
        state.counters["decimal_B_per_value"] = static_cast<double>(decimal) / values;
      state.counters["xor_B_per_value"] = static_cast<double>(xored) / values;
    }
  }
}
BENCHMARK(BM_HistorySeries)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {1000}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// One chunk of 1,000 instances, again and again: steadier rates than the run above.
std::vector<Instance> one_chunk(Series kind) {
  Generator g(kind, 42);
  return chunk_of(g);
}

void BM_HistoryEncodeChunk(benchmark::State& state) {
  const auto kind = static_cast<Series>(state.range(0));
  state.SetLabel(series_name(kind));
  const auto v = one_chunk(kind);
  for (auto _ : state) {
    auto chunk = store::history::encode_chunk(v);
    benchmark::DoNotOptimize(chunk);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * v.size()));
}
BENCHMARK(BM_HistoryEncodeChunk)->DenseRange(0, 7);

void BM_HistoryDecodeChunk(benchmark::State& state) {
  const auto kind = static_cast<Series>(state.range(0));
  state.SetLabel(series_name(kind));
  const std::string chunk = *store::history::encode_chunk(one_chunk(kind));
  std::vector<Instance> out;
  for (auto _ : state) {
    out.clear();
    if (!store::history::decode_chunk(chunk, out).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_HistoryDecodeChunk)->DenseRange(0, 7);

// The aggregation path: (time, number) pairs of the numeric series.
void BM_HistoryDecodeNumbers(benchmark::State& state) {
  const auto kind = static_cast<Series>(state.range(0));
  state.SetLabel(series_name(kind));
  const std::string chunk = *store::history::encode_chunk(one_chunk(kind));
  std::vector<store::history::TimedNumber> out;
  for (auto _ : state) {
    out.clear();
    if (!store::history::decode_numbers(chunk, out).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_HistoryDecodeNumbers)->Arg(0)->Arg(2)->Arg(3)->Arg(4)->Arg(7);

// What a fold pays to add two instances to a series' last chunk of 998: decode and encode again.
void BM_HistoryAppendTwo(benchmark::State& state) {
  auto v = one_chunk(Series::kTemperature);
  const std::vector<Instance> more(v.end() - 2, v.end());
  v.resize(v.size() - 2);
  const std::string chunk = *store::history::encode_chunk(v);
  for (auto _ : state) {
    auto merged = store::history::append_to_chunk(chunk, more);
    benchmark::DoNotOptimize(merged);
  }
}
BENCHMARK(BM_HistoryAppendTwo);

}  // namespace
}  // namespace tsunagu::bench
