#include "store/history/chunk_codec.hpp"

#include <gtest/gtest.h>
#include <isa-l/crc.h>

#include <algorithm>
#include <bit>
#include <fstream>
#include <iterator>

#include "common/test_random.hpp"

namespace tsunagu::store::history {
namespace {

using testing::Xorshift;
using Kind = Instance::Kind;

constexpr int64_t kStart = 1'780'000'000'000'000;  // 2026-05-28, in microseconds

void expect_same(const Instance& a, const Instance& b, size_t i) {
  SCOPED_TRACE("instance " + std::to_string(i));
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.boolean, b.boolean);
  EXPECT_EQ(a.integer, b.integer);
  EXPECT_EQ(std::bit_cast<uint64_t>(a.number), std::bit_cast<uint64_t>(b.number));
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.attr_type, b.attr_type);
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.observed_at, b.observed_at);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.modified_at, b.modified_at);
  EXPECT_EQ(a.deleted_at, b.deleted_at);
  EXPECT_EQ(a.instance_id, b.instance_id);
  EXPECT_EQ(a.unit_code, b.unit_code);
  EXPECT_EQ(a.value_type, b.value_type);
  EXPECT_EQ(a.subs, b.subs);
}

void expect_same(const std::vector<Instance>& a, const std::vector<Instance>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    expect_same(a[i], b[i], i);
}

// A random instance of a random kind, with every optional field sometimes set.
Instance random_instance(Xorshift& rng, uint64_t seq, int64_t t) {
  Instance in;
  in.seq = seq;
  in.kind = static_cast<Kind>(rng.below(6));
  switch (in.kind) {
    case Kind::kNull:
      break;
    case Kind::kBool:
      in.boolean = rng.below(2) == 1;
      break;
    case Kind::kInt:
      in.integer = static_cast<int64_t>(rng()) >> rng.below(64);
      break;
    case Kind::kDouble:
      in.number = rng.below(2) ? static_cast<double>(rng.below(10000)) / 100 - 50
                               : std::bit_cast<double>(rng() & ~(uint64_t{0x7ff} << 52));
      break;
    case Kind::kString:
      in.text = rng.below(2) ? "urn:ngsi-ld:Device:" + std::to_string(rng.below(5))
                             : std::string(rng.below(300), static_cast<char>('a' + rng.below(26)));
      break;
    case Kind::kJson:
      in.text = R"({"type":"Point","coordinates":[139.88,)" + std::to_string(rng.below(100)) + "]}";
      break;
  }
  in.attr_type = static_cast<uint8_t>(rng.below(3) == 0 ? rng.below(8) : 0);
  if (rng.below(5) != 0) in.observed_at = t;
  if (rng.below(6) != 0) in.created_at = t + static_cast<int64_t>(rng.below(1'000'000));
  if (rng.below(6) != 0) in.modified_at = in.created_at + static_cast<int64_t>(rng.below(3));
  if (rng.below(10) == 0) in.deleted_at = t + 5;
  if (rng.below(10) == 0) in.instance_id = "urn:ngsi-ld:Instance:" + std::to_string(rng());
  if (rng.below(3) == 0) in.unit_code = rng.below(2) ? "CEL" : "KEL";
  if (rng.below(8) == 0) in.value_type = "https://example.org/Celsius";
  if (rng.below(12) == 0) in.subs = R"({"https://example.org/accuracy":{"value":0.5}})";
  return in;
}

// `v` sorted as a chunk orders it.
std::vector<Instance> in_time_order(std::vector<Instance> v) {
  std::stable_sort(v.begin(), v.end(), [](const Instance& a, const Instance& b) {
    return a.time() != b.time() ? a.time() < b.time() : a.seq < b.seq;
  });
  return v;
}

std::vector<Instance> decoded(const std::string& chunk, TimeRange range = {}) {
  std::vector<Instance> out;
  Status st = decode_chunk(chunk, out, range);
  EXPECT_TRUE(st.ok()) << st.detail();
  return out;
}

std::string encoded(const std::vector<Instance>& v) {
  auto chunk = encode_chunk(v);
  EXPECT_TRUE(chunk.ok()) << chunk.status().detail();
  return chunk.ok() ? *chunk : std::string();
}

TEST(HistoryChunk, RandomSeriesOfEveryKindRoundTrip) {
  Xorshift rng(2026);
  for (int round = 0; round < 40; ++round) {
    std::vector<Instance> v;
    int64_t t = kStart;
    const size_t n = 1 + rng.below(round < 20 ? 50 : 3000);
    for (size_t i = 0; i < n; ++i) {
      t += static_cast<int64_t>(rng.below(4) == 0 ? 0 : rng.below(120'000'000));
      v.push_back(random_instance(rng, i, t));
    }
    const std::string chunk = encoded(v);
    expect_same(decoded(chunk), in_time_order(v));
    auto info = read_chunk_info(chunk);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->count, n);
    EXPECT_EQ(info->first_time, in_time_order(v).front().time());
    EXPECT_EQ(info->last_time, in_time_order(v).back().time());
  }
}

TEST(HistoryChunk, OutOfOrderInstancesComeOutInTimeOrderThenSeq) {
  std::vector<Instance> v;
  for (int i = 0; i < 6; ++i) {
    Instance in;
    in.kind = Kind::kInt;
    in.integer = i;
    in.seq = static_cast<uint64_t>(10 - i);
    in.observed_at = kStart + (i % 3) * 1000;  // three times, two instances each
    v.push_back(in);
  }
  const auto out = decoded(encoded(v));
  std::vector<int64_t> values;
  for (const Instance& in : out)
    values.push_back(in.integer);
  // Time first; at equal times the lower seq (the later arrival here) first.
  EXPECT_EQ(values, (std::vector<int64_t>{3, 0, 4, 1, 5, 2}));
  expect_same(out, in_time_order(v));
}

TEST(HistoryChunk, DeletionsKeepTheirTimesAndNoValue) {
  std::vector<Instance> v(3);
  v[0].kind = Kind::kDouble;
  v[0].number = 21.5;
  v[0].observed_at = kStart;
  v[0].created_at = v[0].modified_at = kStart + 10;
  v[1].deleted_at = v[1].created_at = v[1].modified_at = kStart + 60'000'000;
  v[1].seq = 1;
  v[2].kind = Kind::kDouble;
  v[2].number = 22;
  v[2].observed_at = kStart + 120'000'000;
  v[2].seq = 2;
  const auto out = decoded(encoded(v));
  expect_same(out, v);
  EXPECT_EQ(out[1].time(), kStart + 60'000'000);
  std::vector<TimedNumber> numbers;
  ASSERT_TRUE(decode_numbers(encoded(v), numbers).ok());
  ASSERT_EQ(numbers.size(), 2u);  // the deletion is no number
  EXPECT_EQ(numbers[1].time, kStart + 120'000'000);
  EXPECT_EQ(numbers[1].value, 22.0);
}

TEST(HistoryChunk, EmptyAndOneInstanceChunks) {
  const std::string empty = encoded({});
  EXPECT_TRUE(decoded(empty).empty());
  auto info = read_chunk_info(empty);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->count, 0u);
  EXPECT_EQ(info->first_time, kNoTime);

  Instance only;
  only.kind = Kind::kString;
  only.text = "open";
  only.created_at = kStart;
  const std::string one = encoded({only});
  expect_same(decoded(one), {only});
  info = read_chunk_info(one);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->first_time, kStart);
  EXPECT_EQ(info->last_time, kStart);

  Instance timeless;  // no timestamp at all: kNoTime orders first
  timeless.kind = Kind::kBool;
  timeless.boolean = true;
  expect_same(decoded(encoded({only, timeless})), {timeless, only});
}

TEST(HistoryChunk, TimeRangesSelectInstancesAndNumbers) {
  Xorshift rng(5);
  std::vector<Instance> v;
  for (int i = 0; i < 500; ++i) {
    Instance in;
    in.seq = static_cast<uint64_t>(i);
    in.observed_at = kStart + int64_t{60'000'000} * (i / 2);  // pairs share a time
    in.created_at = in.observed_at + 80'000;
    in.kind = i % 7 == 0 ? Kind::kString : (i % 2 ? Kind::kInt : Kind::kDouble);
    in.integer = in.kind == Kind::kInt ? i : 0;
    in.number = in.kind == Kind::kDouble ? i / 10.0 : 0;
    in.text = in.kind == Kind::kString ? "x" : "";
    v.push_back(in);
  }
  const std::string chunk = encoded(v);
  for (int round = 0; round < 50; ++round) {
    TimeRange r;
    r.from = kStart + static_cast<int64_t>(rng.below(300)) * 60'000'000 - 1;
    r.until = r.from + static_cast<int64_t>(rng.below(200)) * 30'000'000;
    if (round == 0) r = TimeRange{};
    std::vector<Instance> want;
    std::vector<TimedNumber> want_numbers;
    for (const Instance& in : v) {
      if (in.time() < r.from || in.time() >= r.until) continue;
      want.push_back(in);
      if (in.kind == Kind::kInt) want_numbers.push_back({in.time(), double(in.integer)});
      if (in.kind == Kind::kDouble) want_numbers.push_back({in.time(), in.number});
    }
    expect_same(decoded(chunk, r), want);
    std::vector<TimedNumber> numbers;
    ASSERT_TRUE(decode_numbers(chunk, numbers, r).ok());
    ASSERT_EQ(numbers.size(), want_numbers.size());
    for (size_t i = 0; i < numbers.size(); ++i) {
      EXPECT_EQ(numbers[i].time, want_numbers[i].time);
      EXPECT_EQ(numbers[i].value, want_numbers[i].value);
    }
  }
}

// A regular sensor: every 60 s, observedAt in whole milliseconds with a few of jitter, createdAt
// 80 ms later with a few more, tenths of a degree.
std::vector<Instance> regular_sensor(size_t n, Xorshift& rng) {
  std::vector<Instance> v;
  int tenths = 214;
  for (size_t i = 0; i < n; ++i) {
    Instance in;
    in.kind = Kind::kDouble;
    tenths += static_cast<int>(rng.below(5)) - 2;
    in.number = tenths / 10.0;
    in.seq = i;
    in.observed_at = kStart + int64_t{60'000'000} * static_cast<int64_t>(i) +
                     1000 * static_cast<int64_t>(rng.below(5));
    in.created_at = in.modified_at =
        in.observed_at + 80'000 + static_cast<int64_t>(rng.below(5000));
    in.unit_code = "CEL";
    v.push_back(in);
  }
  return v;
}

TEST(HistoryChunk, ARegularSensorCostsAFewBytesAnInstance) {
  Xorshift rng(60);
  const auto v = regular_sensor(1000, rng);
  const std::string chunk = encoded(v);
  expect_same(decoded(chunk), v);
  // value ~3 bits, observedAt ~3 bits, createdAt (microseconds) ~14 bits, the rest per chunk.
  EXPECT_LT(chunk.size(), 1000u * 4);
}

TEST(HistoryChunk, AppendingMergesWithWhatTheChunkHolds) {
  Xorshift rng(8);
  auto v = regular_sensor(300, rng);
  const std::string first = encoded(std::vector<Instance>(v.begin(), v.begin() + 200));
  // Later instances, and one that lands inside the chunk's range (a late upload).
  std::vector<Instance> more(v.begin() + 200, v.end());
  Instance late = v[50];
  late.seq = 1000;
  late.number = -3.5;
  more.push_back(late);
  auto merged = append_to_chunk(first, more);
  ASSERT_TRUE(merged.ok());
  v.push_back(late);
  expect_same(decoded(*merged), in_time_order(v));
}

TEST(HistoryChunk, TooManyInstancesAreRefused) {
  std::vector<Instance> v(kMaxChunkInstances + 1);
  auto chunk = encode_chunk(v);
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.status().kind(), ErrorKind::kInvalidRequest);
}

void put_crc(std::string& chunk) {
  const uint32_t sum =
      crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(chunk.data()), chunk.size() - 4);
  for (int i = 0; i < 4; ++i)
    chunk[chunk.size() - 4 + i] = static_cast<char>(sum >> (8 * i));
}

// Every decoder either succeeds or returns InternalError with a detail.
void expect_refused_or_read(const std::string& chunk, bool must_refuse) {
  std::vector<Instance> out;
  std::vector<TimedNumber> numbers;
  const Status a = decode_chunk(chunk, out);
  const Status b = decode_numbers(chunk, numbers);
  auto info = read_chunk_info(chunk);
  for (const Status* st : {&a, &b}) {
    if (must_refuse) {
      EXPECT_FALSE(st->ok());
    }
    if (!st->ok()) {
      EXPECT_EQ(st->kind(), ErrorKind::kInternalError);
      EXPECT_FALSE(st->detail().empty());
    }
  }
  if (must_refuse) {
    EXPECT_FALSE(info.ok() && a.ok());
  }
}

TEST(HistoryChunk, DamagedOrTruncatedChunksAreRefused) {
  Xorshift rng(13);
  std::vector<Instance> v;
  for (uint64_t i = 0; i < 40; ++i)
    v.push_back(random_instance(rng, i, kStart + static_cast<int64_t>(i) * 1000));
  const std::string chunk = encoded(v);
  for (size_t cut = 0; cut < chunk.size(); ++cut)
    expect_refused_or_read(chunk.substr(0, cut), true);
  for (size_t i = 0; i < chunk.size(); ++i) {  // the CRC catches any one changed byte
    std::string bad = chunk;
    bad[i] = static_cast<char>(bad[i] ^ (1 + rng.below(255)));
    expect_refused_or_read(bad, true);
  }
  // With the CRC made to match, the structure is checked: never a crash.
  for (size_t i = 0; i + 4 < chunk.size(); ++i) {
    for (int value : {0, 1, 0x7f, 0x80, 0xff, static_cast<int>(rng.below(256))}) {
      std::string bad = chunk;
      bad[i] = static_cast<char>(value);
      put_crc(bad);
      expect_refused_or_read(bad, false);
    }
  }
  std::string other_version = chunk;
  other_version[1] = 2;
  put_crc(other_version);
  std::vector<Instance> out;
  const Status st = decode_chunk(other_version, out);
  EXPECT_NE(st.detail().find("version 2"), std::string::npos) << st.detail();
}

// Found by fuzz/history.cpp: instances at one time out of seq order decoded, and came out of a
// second encoding in another order.
TEST(HistoryChunk, ATieOutOfSeqOrderIsDamaged) {
  std::ifstream f(TSUNAGU_SOURCE_DIR "/fuzz/corpus/history/regress-tie-out-of-seq-order",
                  std::ios::binary);
  ASSERT_TRUE(f.good());
  const std::string chunk((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<Instance> out;
  const Status st = decode_chunk(chunk, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.detail().find("seq order"), std::string::npos) << st.detail();
}

}  // namespace
}  // namespace tsunagu::store::history
