#include "store/history/columns.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "common/test_random.hpp"

namespace tsunagu::store::history {
namespace {

using testing::Xorshift;

std::string ints_of(const std::vector<int64_t>& v) {
  std::string s;
  encode_ints(v, s);
  return s;
}

std::vector<int64_t> read_ints(const std::string& s, size_t n) {
  std::vector<int64_t> v(n);
  ByteReader in(s);
  EXPECT_TRUE(decode_ints(in, n, v.data()));
  EXPECT_TRUE(in.at_end());
  return v;
}

void expect_ints_round_trip(const std::vector<int64_t>& v) {
  const std::string s = ints_of(v);
  EXPECT_EQ(read_ints(s, v.size()), v);
  for (size_t cut = 0; cut < s.size(); ++cut) {  // every truncation is refused
    std::vector<int64_t> out(v.size());
    ByteReader in(std::string_view(s).substr(0, cut));
    EXPECT_FALSE(decode_ints(in, v.size(), out.data())) << "cut at " << cut;
  }
}

TEST(HistoryColumns, VarintsAndZigzagRoundTripAtTheLimits) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, ~uint64_t{0}}) {
    std::string s;
    put_varint(s, v);
    EXPECT_EQ(s.size(), varint_size(v));
    ByteReader in(s);
    uint64_t back;
    ASSERT_TRUE(in.varint(back));
    EXPECT_EQ(back, v);
    EXPECT_EQ(unzigzag(zigzag(v)), v);
  }
  const std::string eleven(11, '\x80');
  ByteReader overlong(eleven);
  uint64_t v;
  EXPECT_FALSE(overlong.varint(v));
}

TEST(HistoryColumns, IntegersRoundTripInEveryShape) {
  Xorshift rng(17);
  std::vector<std::vector<int64_t>> cases = {
      {42},
      {5, 5, 5, 5},
      {0, 1},
      {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0, -1},
  };
  std::vector<int64_t> regular, jittered, runs, random, counter;
  for (int i = 0; i < 1000; ++i) {
    regular.push_back(1'780'000'000'000'000 + int64_t{60'000'000} * i);
    jittered.push_back(1'780'000'000'000'000 + int64_t{60'000'000} * i +
                       1000 * static_cast<int64_t>(rng.below(7)));
    runs.push_back(i / 100 % 3);
    random.push_back(static_cast<int64_t>(rng()));
    counter.push_back(i * 17 + static_cast<int64_t>(rng.below(3)));
  }
  for (auto* v : {&regular, &jittered, &runs, &random, &counter})
    cases.push_back(*v);
  for (const auto& v : cases)
    expect_ints_round_trip(v);

  // What the forms are for: a regular series is its first value and step, a jitter of a few
  // milliseconds on whole milliseconds a few bits, a run of repeats its runs.
  EXPECT_LT(ints_of(regular).size(), 16u);
  EXPECT_LT(ints_of(jittered).size(), 1000u * 5 / 8 + 16);
  EXPECT_LT(ints_of(runs).size(), 40u);
}

TEST(HistoryColumns, DoublesRoundTripBitForBitInEveryForm) {
  Xorshift rng(9);
  std::vector<double> temperature, random,
      special = {0.0,
                 -0.0,
                 std::numeric_limits<double>::denorm_min(),
                 std::numeric_limits<double>::max(),
                 -std::numeric_limits<double>::max(),
                 std::numeric_limits<double>::quiet_NaN(),
                 1e300,
                 0.1,
                 123456789.125};
  int tenths = 214;
  for (int i = 0; i < 1000; ++i) {
    tenths += static_cast<int>(rng.below(5)) - 2;
    temperature.push_back(tenths / 10.0);
    random.push_back(rng.unit() * 1000 - 500);
  }
  for (const auto* v : {&temperature, &random, &special}) {
    for (DoubleForm form :
         {DoubleForm::kBest, DoubleForm::kDecimal, DoubleForm::kXor, DoubleForm::kRaw}) {
      std::string s;
      if (!encode_doubles(*v, s, form)) {
        EXPECT_EQ(form, DoubleForm::kDecimal);
        EXPECT_TRUE(s.empty());
        continue;
      }
      std::vector<double> back(v->size());
      ByteReader in(s);
      ASSERT_TRUE(decode_doubles(in, v->size(), back.data()));
      EXPECT_TRUE(in.at_end());
      for (size_t i = 0; i < v->size(); ++i)
        EXPECT_EQ(std::bit_cast<uint64_t>(back[i]), std::bit_cast<uint64_t>((*v)[i]))
            << "value " << i << " form " << static_cast<int>(form);
      for (size_t cut = 0; cut < s.size(); ++cut) {
        ByteReader short_in(std::string_view(s).substr(0, cut));
        EXPECT_FALSE(decode_doubles(short_in, v->size(), back.data()));
      }
    }
  }
  // Tenths of a degree that move by at most two tenths a reading are a few bits each.
  std::string best;
  ASSERT_TRUE(encode_doubles(temperature, best));
  EXPECT_LT(best.size(), 1000u * 3 / 8 + 16);
  std::string decimal;
  EXPECT_FALSE(encode_doubles(random, decimal, DoubleForm::kDecimal));
  std::string raw;
  ASSERT_TRUE(encode_doubles(random, raw));
  EXPECT_LE(raw.size(), 1 + 8 * random.size());
}

TEST(HistoryColumns, StringsUseADictionaryWhenItIsSmaller) {
  const std::vector<std::string_view> statuses = {"free", "free",     "occupied", "",
                                                  "free", "occupied", "closed"};
  std::vector<std::string_view> repeated;
  for (int i = 0; i < 700; ++i)
    repeated.push_back(statuses[i / 50 % statuses.size()]);
  std::vector<std::string> unique_text;
  for (int i = 0; i < 50; ++i)
    unique_text.push_back("{\"n\":" + std::to_string(i) + "}");
  std::vector<std::string_view> unique(unique_text.begin(), unique_text.end());
  using Strings = std::vector<std::string_view>;
  for (const Strings* v : std::initializer_list<const Strings*>{&statuses, &repeated, &unique}) {
    std::string s;
    encode_strings(*v, s);
    std::vector<std::string_view> back(v->size());
    ByteReader in(s);
    std::string storage;
    ASSERT_TRUE(decode_strings(in, v->size(), back.data(), storage));
    EXPECT_TRUE(in.at_end());
    EXPECT_EQ(back, *v);
    for (size_t cut = 0; cut < s.size(); ++cut) {
      ByteReader short_in(std::string_view(s).substr(0, cut));
      std::string scratch;
      EXPECT_FALSE(decode_strings(short_in, v->size(), back.data(), scratch));
    }
  }
  std::string s;
  encode_strings(repeated, s);
  EXPECT_LT(s.size(), 100u);
}

TEST(HistoryColumns, DistinctJsonValuesAreCompressed) {
  Xorshift rng(3);
  std::vector<std::string> text;
  size_t plain = 0;
  for (int i = 0; i < 200; ++i) {
    text.push_back(R"({"averageSpeed":)" + std::to_string(30 + rng.below(400) / 10.0) +
                   R"(,"intensity":)" + std::to_string(rng.below(60)) + "}");
    plain += text.back().size();
  }
  const std::vector<std::string_view> v(text.begin(), text.end());
  std::string s;
  encode_strings(v, s);
  EXPECT_EQ(s[0], 2);  // the compressed form
  EXPECT_LT(s.size(), plain / 3);
  std::vector<std::string_view> back(v.size());
  std::string storage;
  ByteReader in(s);
  ASSERT_TRUE(decode_strings(in, v.size(), back.data(), storage));
  EXPECT_EQ(back, v);
  for (size_t cut = 0; cut < s.size(); ++cut) {
    ByteReader short_in(std::string_view(s).substr(0, cut));
    std::string scratch;
    EXPECT_FALSE(decode_strings(short_in, v.size(), back.data(), scratch)) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace tsunagu::store::history
