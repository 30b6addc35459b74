// Aggregation against values computed here the plain way (two passes, periods found by walking
// period starts one by one): random series over hours and calendar months, empty periods,
// booleans and strings, and the ETSI suite's own vehicle example.
#include "ngsild/temporal/aggregation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <variant>

namespace tsunagu::ngsild::temporal {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr uint32_t kAll = (1u << kAggrMethods) - 1;

int64_t at(const char* text) {
  return *parse_datetime(text);
}

double num(const AggrPeriod& p, AggrMethod m) {
  const AggrValue& v = p.values[static_cast<int>(m)];
  EXPECT_EQ(v.kind, AggrValue::Kind::kNumber) << aggr_method_name(m);
  return v.number;
}

TEST(AggregationTest, TheSuitesVehicleExample) {
  // ETSI 020_11_03: fuelLevel 67, 53, 40 at 12:03, 13:05, 14:07 in periods of PT1H from 12:03.
  uint32_t methods =
      1u << static_cast<int>(AggrMethod::kAvg) | 1u << static_cast<int>(AggrMethod::kMax);
  Aggregator a(methods, at("2020-08-01T12:03:00Z"), *parse_duration("PT1H"), kNoTime);
  a.add_number(at("2020-08-01T12:03:00Z"), 67);
  a.add_number(at("2020-08-01T13:05:00Z"), 53);
  a.add_number(at("2020-08-01T14:07:00Z"), 40);
  auto periods = a.finish();
  ASSERT_EQ(periods.size(), 3u);
  EXPECT_EQ(periods[1].start, at("2020-08-01T13:03:00Z"));
  EXPECT_EQ(periods[1].end, at("2020-08-01T14:03:00Z"));
  EXPECT_EQ(num(periods[2], AggrMethod::kAvg), 40);
  EXPECT_EQ(periods[2].values[static_cast<int>(AggrMethod::kMin)].kind, AggrValue::Kind::kNull);
  // min,max over P1D: one period holding all three.
  Aggregator day(kAll, at("2020-08-01T12:03:00Z"), *parse_duration("P1D"), kNoTime);
  for (auto [t, v] : {std::pair{"2020-08-01T12:03:00Z", 120.0},
                      {"2020-08-01T12:05:00Z", 80.0},
                      {"2020-08-01T12:07:00Z", 100.0}})
    day.add_number(at(t), v);
  periods = day.finish();
  ASSERT_EQ(periods.size(), 1u);
  EXPECT_EQ(periods[0].end, at("2020-08-02T12:03:00Z"));
  EXPECT_EQ(num(periods[0], AggrMethod::kMin), 80);
  EXPECT_EQ(num(periods[0], AggrMethod::kMax), 120);
  EXPECT_EQ(num(periods[0], AggrMethod::kSum), 300);
  EXPECT_EQ(num(periods[0], AggrMethod::kSumsq), 120 * 120 + 80 * 80 + 100 * 100);
  EXPECT_DOUBLE_EQ(num(periods[0], AggrMethod::kStddev), 20);  // sample deviation
}

using Value = std::variant<double, bool, std::string>;

struct Expected {
  int64_t start, end;
  std::vector<Value> values;
};

// Periods found by walking starts one at a time; sparse periods stay out.
std::vector<Expected> by_hand(const std::vector<std::pair<int64_t, Value>>& series, int64_t origin,
                              const Duration& d) {
  std::map<int64_t, Expected> periods;
  int64_t n = 0;  // the series is in time order
  for (const auto& [t, v] : series) {
    if (t < origin) continue;
    while (period_start(origin, d, n + 1) <= t)
      ++n;
    auto [it, fresh] = periods.try_emplace(n);
    it->second.start = period_start(origin, d, n);
    it->second.end = period_start(origin, d, n + 1);
    it->second.values.push_back(v);
  }
  std::vector<Expected> out;
  for (auto& [n, e] : periods)
    out.push_back(std::move(e));
  return out;
}

void check_period(const AggrPeriod& got, const Expected& want) {
  ASSERT_EQ(got.start, want.start);
  ASSERT_EQ(got.end, want.end);
  std::vector<double> numbers;
  std::vector<std::string> texts;
  std::set<std::string> distinct;
  for (const Value& v : want.values) {
    if (auto* d = std::get_if<double>(&v)) {
      numbers.push_back(*d);
      distinct.insert("n" + std::to_string(*d));
    } else if (auto* b = std::get_if<bool>(&v)) {
      numbers.push_back(*b ? 1 : 0);
      distinct.insert(*b ? "true" : "false");
    } else {
      texts.push_back(std::get<std::string>(v));
      distinct.insert("s" + std::get<std::string>(v));
    }
  }
  EXPECT_EQ(num(got, AggrMethod::kTotalCount), static_cast<double>(want.values.size()));
  EXPECT_EQ(num(got, AggrMethod::kDistinctCount), static_cast<double>(distinct.size()));
  if (numbers.empty()) {
    EXPECT_EQ(got.values[static_cast<int>(AggrMethod::kSum)].kind, AggrValue::Kind::kNull);
    EXPECT_EQ(got.values[static_cast<int>(AggrMethod::kMin)].text,
              *std::min_element(texts.begin(), texts.end()));
    EXPECT_EQ(got.values[static_cast<int>(AggrMethod::kMax)].text,
              *std::max_element(texts.begin(), texts.end()));
    return;
  }
  double sum = 0, sumsq = 0;
  for (double v : numbers) {
    sum += v;
    sumsq += v * v;
  }
  double mean = sum / static_cast<double>(numbers.size());
  double dev = 0;
  for (double v : numbers)
    dev += (v - mean) * (v - mean);
  double stddev = numbers.size() > 1 ? std::sqrt(dev / static_cast<double>(numbers.size() - 1)) : 0;
  double scale = 1 + std::abs(sum);
  EXPECT_NEAR(num(got, AggrMethod::kSum), sum, 1e-9 * scale);
  EXPECT_NEAR(num(got, AggrMethod::kAvg), mean, 1e-9 * scale);
  EXPECT_NEAR(num(got, AggrMethod::kSumsq), sumsq, 1e-9 * (1 + sumsq));
  EXPECT_NEAR(num(got, AggrMethod::kStddev), stddev, 1e-7 * (1 + stddev));
  EXPECT_EQ(num(got, AggrMethod::kMin), *std::min_element(numbers.begin(), numbers.end()));
  EXPECT_EQ(num(got, AggrMethod::kMax), *std::max_element(numbers.begin(), numbers.end()));
}

TEST(AggregationTest, RandomSeriesAgreeWithTheirPlainComputation) {
  std::mt19937_64 rng(20261207);
  const Duration durations[] = {*parse_duration("PT1H"), *parse_duration("P1M"),
                                *parse_duration("P1MT12H"), *parse_duration("PT7M30S"),
                                *parse_duration("P1Y")};
  for (int round = 0; round < 200; ++round) {
    const Duration& d = durations[round % std::size(durations)];
    int64_t origin = at("2024-01-31T06:00:00Z") + static_cast<int64_t>(rng() % 1000) * 60 * kS;
    // Mostly dense, with long gaps now and then (empty periods), and some before the origin.
    std::vector<std::pair<int64_t, Value>> series;
    int64_t t = origin - 3 * 3600 * kS;
    int kind = round % 3;  // numbers, numbers and booleans, strings
    for (int i = 0, n = static_cast<int>(rng() % 400); i < n; ++i) {
      t += rng() % 8 == 0 ? static_cast<int64_t>(rng() % (90LL * 86400)) * kS
                          : static_cast<int64_t>(rng() % 1800) * kS;
      if (kind == 2) {
        series.emplace_back(t, std::string(1, static_cast<char>('a' + rng() % 5)));
      } else if (kind == 1 && rng() % 2) {
        series.emplace_back(t, rng() % 2 == 0);
      } else {
        series.emplace_back(t, static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 10);
      }
    }
    Aggregator a(kAll, origin, d, kNoTime);
    for (const auto& [time, v] : series) {
      if (auto* x = std::get_if<double>(&v)) {
        a.add_number(time, *x);
      } else if (auto* b = std::get_if<bool>(&v)) {
        a.add_bool(time, *b);
      } else {
        a.add_text(time, std::get<std::string>(v));
      }
    }
    auto got = a.finish();
    auto want = by_hand(series, origin, d);
    ASSERT_EQ(got.size(), want.size()) << "round " << round;
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE("round " + std::to_string(round) + " period " + std::to_string(i));
      check_period(got[i], want[i]);
    }
  }
}

TEST(AggregationTest, AZeroPeriodSpansTheWindow) {
  int64_t from = at("2026-01-01T00:00:00Z"), to = at("2026-02-01T00:00:00Z");
  Aggregator a(kAll, from, Duration{}, to);
  a.add_number(from - kS, 1000);  // before the window: left out
  a.add_number(from + 10 * kS, 1);
  a.add_number(from + 20 * kS, 3);
  auto periods = a.finish();
  ASSERT_EQ(periods.size(), 1u);
  EXPECT_EQ(periods[0].start, from);
  EXPECT_EQ(periods[0].end, to);
  EXPECT_EQ(num(periods[0], AggrMethod::kAvg), 2);
  // With no end, the period ends at the last instance.
  Aggregator open(kAll, from, Duration{}, kNoTime);
  open.add_number(from + 10 * kS, 1);
  open.add_other(from + 30 * kS, R"({"a":1})");
  periods = open.finish();
  EXPECT_EQ(periods[0].end, from + 30 * kS);
  EXPECT_EQ(num(periods[0], AggrMethod::kTotalCount), 2);
  EXPECT_EQ(num(periods[0], AggrMethod::kSum), 1);
}

TEST(AggregationTest, NothingToAggregateGivesNoPeriod) {
  Aggregator a(kAll, 0, *parse_duration("PT1H"), kNoTime);
  EXPECT_TRUE(a.finish().empty());
}

TEST(AggregationTest, FindsPeriodsFarFromTheOrigin) {
  Duration month{1, 0};
  int64_t origin = at("1990-01-31T00:00:00Z");
  for (const char* t : {"2026-02-27T23:59:59Z", "2026-02-28T00:00:00Z", "2026-03-30T23:00:00Z",
                        "2026-03-31T00:00:00Z", "2000-02-29T12:00:00Z"}) {
    int64_t when = at(t);
    int64_t n = period_index(origin, month, when);
    EXPECT_LE(period_start(origin, month, n), when) << t;
    EXPECT_GT(period_start(origin, month, n + 1), when) << t;
  }
}

}  // namespace
}  // namespace tsunagu::ngsild::temporal
