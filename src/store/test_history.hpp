// For the tests of the stores' history (store_contract_test.cpp, log/log_store_test.cpp,
// sqlite/sqlite_store_test.cpp): instances of a reading series, chunks of them, a line of text
// per instance that shows every field (so that two reads compare as lists of lines), and the
// contract's meaning of the history ops to compare reads with.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace tsunagu::testing {

using store::history::Instance;

inline constexpr int64_t kHistoryStart = 1'780'000'000'000'000;  // 2026-05-28, microseconds
inline constexpr int64_t kMinute = 60'000'000;

// A temperature reading observed at `t`, received 80 ms later.
inline Instance reading(uint64_t seq, int64_t t, double value) {
  Instance in;
  in.kind = Instance::Kind::kDouble;
  in.number = value;
  in.seq = seq;
  in.observed_at = t;
  in.created_at = t + 80'000;
  in.modified_at = in.created_at;
  in.unit_code = "CEL";
  return in;
}

// Readings seq from..to-1, one a minute from kHistoryStart (seq s at minute s).
inline std::vector<Instance> readings(uint64_t from, uint64_t to) {
  std::vector<Instance> v;
  for (uint64_t seq = from; seq < to; ++seq)
    v.push_back(reading(seq, kHistoryStart + static_cast<int64_t>(seq) * kMinute,
                        static_cast<double>(seq) / 4));
  return v;
}

inline std::string chunk_of(std::span<const Instance> instances) {
  auto chunk = store::history::encode_chunk(instances);
  EXPECT_TRUE(chunk.ok()) << chunk.status().detail();
  return chunk.ok() ? *chunk : std::string();
}

inline std::string show(const Instance& in) {
  std::string s = "t=" + std::to_string(in.time()) + " seq=" + std::to_string(in.seq) +
                  " kind=" + std::to_string(static_cast<int>(in.kind));
  switch (in.kind) {
    case Instance::Kind::kNull:
      break;
    case Instance::Kind::kBool:
      s += in.boolean ? " true" : " false";
      break;
    case Instance::Kind::kInt:
      s += " " + std::to_string(in.integer);
      break;
    case Instance::Kind::kDouble:
      s += " bits=" + std::to_string(std::bit_cast<uint64_t>(in.number));
      break;
    case Instance::Kind::kString:
    case Instance::Kind::kJson:
      s += " '" + in.text + "'";
      break;
  }
  for (int64_t t : {in.observed_at, in.created_at, in.modified_at, in.deleted_at})
    s += " " + std::to_string(t);
  return s + " type=" + std::to_string(in.attr_type) + " id=" + in.instance_id +
         " unit=" + in.unit_code + " vt=" + in.value_type + " subs=" + in.subs;
}

inline std::vector<std::string> lines(const std::vector<Instance>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const Instance& in : v)
    out.push_back(show(in));
  return out;
}

// What the Store contract says a series holds after a sequence of history ops.
struct HistoryModel {
  std::map<uint64_t, std::vector<Instance>> series;

  void apply(const store::WriteBatch::Op& op) {
    if (op.kind == store::WriteBatch::OpKind::kDropHistory) {
      series.erase(op.row);
    } else if (op.kind == store::WriteBatch::OpKind::kTrimHistory) {
      const int64_t cutoff = store::trim_cutoff(op.doc).value_or(INT64_MIN);
      std::erase_if(series[op.row], [cutoff](const Instance& in) { return in.time() < cutoff; });
    } else if (op.kind == store::WriteBatch::OpKind::kAppendHistory) {
      auto& v = series[op.row];
      EXPECT_TRUE(store::history::decode_chunk(op.doc, v).ok());
      std::stable_sort(v.begin(), v.end(), [](const Instance& a, const Instance& b) {
        return a.time() != b.time() ? a.time() < b.time() : a.seq < b.seq;
      });
    }
  }
  std::vector<Instance> read(uint64_t s, const store::history::TimeRange& range,
                             size_t last_n) const {
    std::vector<Instance> out;
    auto it = series.find(s);
    if (it == series.end()) return out;
    for (const Instance& in : it->second)
      if (in.time() >= range.from && in.time() < range.until) out.push_back(in);
    if (last_n > 0 && out.size() > last_n)
      out.erase(out.begin(), out.end() - static_cast<ptrdiff_t>(last_n));
    return out;
  }
};

// The checks a read from another thread can make while batches are applied: instances in
// order, each seq once. Returns what is wrong, or "".
inline std::string order_problem(const std::vector<Instance>& v) {
  std::vector<uint64_t> seqs;
  for (size_t i = 0; i < v.size(); ++i) {
    seqs.push_back(v[i].seq);
    if (i > 0 && (v[i].time() < v[i - 1].time() ||
                  (v[i].time() == v[i - 1].time() && v[i].seq <= v[i - 1].seq))) {
      return "instance " + std::to_string(i) + " out of order: " + show(v[i - 1]) + " then " +
             show(v[i]);
    }
  }
  std::sort(seqs.begin(), seqs.end());
  auto dup = std::adjacent_find(seqs.begin(), seqs.end());
  if (dup != seqs.end()) return "seq " + std::to_string(*dup) + " read twice";
  return "";
}

}  // namespace tsunagu::testing
