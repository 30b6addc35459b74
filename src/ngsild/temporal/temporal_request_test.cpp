// Temporal query parameters: durations (calendar and exact parts), the time window and what it
// admits, lastN and the aggregation parameters, and the requests refused with what was wrong.
#include "ngsild/temporal/temporal_request.hpp"

#include <gtest/gtest.h>

namespace tsunagu::ngsild::temporal {
namespace {

constexpr int64_t kS = 1'000'000;

int64_t at(const char* text) {
  return *parse_datetime(text);
}

QueryParams params(std::initializer_list<std::pair<std::string, std::string>> items) {
  QueryParams p;
  for (const auto& i : items)
    p.items.push_back(i);
  return p;
}

TEST(DurationTest, ReadsEveryDesignator) {
  auto d = parse_duration("P1Y2M10DT2H30M15.5S");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->months, 14);
  EXPECT_EQ(d->micros, ((10 * 24 + 2) * 3600 + 30 * 60) * kS + 15'500'000);
  EXPECT_EQ(parse_duration("P2W")->micros, 14 * 86400 * kS);
  EXPECT_EQ(parse_duration("PT1M")->micros, 60 * kS);  // minutes after T
  EXPECT_EQ(parse_duration("P1M")->months, 1);         // months before it
  EXPECT_EQ(parse_duration("PT0.25S")->micros, 250'000);
  EXPECT_EQ(parse_duration("PT1,5H")->micros, 5400 * kS);
  EXPECT_TRUE(parse_duration("0")->zero());
  EXPECT_TRUE(parse_duration("PT0S")->zero());
}

TEST(DurationTest, RefusesWhatIsNotADuration) {
  for (const char* bad : {"",      "P",     "1D",     "PT",    "P1H",           "PT1D",    "P1DT",
                          "P1D1M", "P1M1Y", "PT1S1M", "P1.5M", "PT1.5H2M",      "P-1D",    "PT.5S",
                          "PT1.S", "P1DD",  "P1",     "P1DT2", "P99999999999D", "PT1HT1M", "p1d"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().kind(), ErrorKind::kBadRequestData) << bad;
    EXPECT_NE(d.status().detail().find("aggrPeriodDuration"), std::string::npos);
  }
}

TEST(DurationTest, PeriodsCountCalendarMonthsFromTheOrigin) {
  Duration month{1, 0};
  int64_t origin = at("2026-01-31T10:00:00Z");
  EXPECT_EQ(period_start(origin, month, 0), origin);
  EXPECT_EQ(period_start(origin, month, 1), at("2026-02-28T10:00:00Z"));
  EXPECT_EQ(period_start(origin, month, 2), at("2026-03-31T10:00:00Z"));
  EXPECT_EQ(period_start(origin, month, 12), at("2027-01-31T10:00:00Z"));
  Duration mixed{1, 86400 * kS};  // P1M1D
  EXPECT_EQ(period_start(at("2026-01-01T00:00:00Z"), mixed, 2), at("2026-03-03T00:00:00Z"));
  Duration hour{0, 3600 * kS};
  EXPECT_EQ(period_start(origin, hour, 5), origin + 5 * 3600 * kS);
}

TEST(TimeFilterTest, WindowsAndTheirEdges) {
  std::string before = "before", after = "after", between = "between";
  std::string t1 = "2020-08-01T12:05:00Z", t2 = "2020-08-01T13:00:00Z";
  auto b = time_filter(&before, &t1, nullptr, nullptr, false);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->admits(at("2020-08-01T12:03:00Z")));
  EXPECT_FALSE(b->admits(at("2020-08-01T12:05:00Z")));  // strictly before (ETSI 020_04_02)
  auto a = time_filter(&after, &t1, nullptr, nullptr, false);
  EXPECT_TRUE(a->admits(at("2020-08-01T12:05:00Z")));
  EXPECT_FALSE(a->admits(at("2020-08-01T12:04:59Z")));
  auto w = time_filter(&between, &t1, &t2, nullptr, false);
  EXPECT_TRUE(w->admits(at("2020-08-01T12:05:00Z")));
  EXPECT_TRUE(w->admits(at("2020-08-01T12:59:59.999Z")));
  EXPECT_FALSE(w->admits(at("2020-08-01T13:00:00Z")));
  auto none = time_filter(nullptr, nullptr, nullptr, nullptr, false);
  EXPECT_EQ(none->rel, TimeRel::kAny);
  EXPECT_EQ(none->property, TimeProperty::kObservedAt);
  std::string modified = "modifiedAt";
  EXPECT_EQ(time_filter(&after, &t1, nullptr, &modified, false)->property,
            TimeProperty::kModifiedAt);
  // Offsets in the input are read as the instants they name.
  std::string offset = "2020-08-01T21:05:00+09:00";
  EXPECT_EQ(time_filter(&after, &offset, nullptr, nullptr, false)->at, at("2020-08-01T12:05:00Z"));
}

TEST(TimeFilterTest, RefusalsNameTheMember) {
  std::string before = "before", between = "between", soon = "soon";
  std::string t1 = "2020-08-01T12:05:00Z", t0 = "2020-08-01T12:00:00Z", bad = "yesterday";
  std::string odd = "expiresAt";
  struct Case {
    const std::string *rel, *at, *end, *prop;
    bool required;
    const char* says;
  } cases[] = {
      {nullptr, nullptr, nullptr, nullptr, true, "timerel is required"},
      {nullptr, &t1, nullptr, nullptr, false, "timeAt"},
      {nullptr, nullptr, &t1, nullptr, false, "endTimeAt"},
      {&soon, &t1, nullptr, nullptr, false, "timerel 'soon'"},
      {&before, nullptr, nullptr, nullptr, false, "needs timeAt"},
      {&before, &bad, nullptr, nullptr, false, "timeAt 'yesterday'"},
      {&between, &t1, nullptr, nullptr, false, "needs endTimeAt"},
      {&between, &t1, &bad, nullptr, false, "endTimeAt 'yesterday'"},
      {&between, &t1, &t0, nullptr, false, "later than timeAt"},
      {&between, &t1, &t1, nullptr, false, "later than timeAt"},
      {&before, &t1, nullptr, &odd, false, "timeproperty 'expiresAt'"},
  };
  for (const Case& c : cases) {
    auto f = time_filter(c.rel, c.at, c.end, c.prop, c.required);
    ASSERT_FALSE(f.ok()) << c.says;
    EXPECT_EQ(f.status().kind(), ErrorKind::kBadRequestData);
    EXPECT_NE(f.status().detail().find(c.says), std::string::npos) << f.status().detail();
  }
}

TEST(TemporalRequestTest, ReadsLastNAndAggregation) {
  auto r = temporal_from_params(params({{"timerel", "after"},
                                        {"timeAt", "2020-01-01T00:00:00Z"},
                                        {"lastN", "20"},
                                        {"aggrMethods", "avg, max,totalCount"},
                                        {"aggrPeriodDuration", "P1D"}}),
                                true, true);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->last_n, 20);
  EXPECT_TRUE(r->aggregated);
  EXPECT_TRUE(r->has(AggrMethod::kAvg));
  EXPECT_TRUE(r->has(AggrMethod::kMax));
  EXPECT_TRUE(r->has(AggrMethod::kTotalCount));
  EXPECT_FALSE(r->has(AggrMethod::kMin));
  EXPECT_EQ(r->aggr_period.micros, 86400 * kS);
  // Without aggregatedValues the aggregation parameters do not apply.
  auto plain = temporal_from_params(params({{"aggrMethods", "nonsense"}}), false, false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->aggr_methods, 0u);
  // A zero period, given or not, spans the window.
  EXPECT_TRUE(
      temporal_from_params(params({{"aggrMethods", "sum"}}), true, false)->aggr_period.zero());
}

TEST(TemporalRequestTest, Refusals) {
  struct Case {
    QueryParams p;
    bool aggregated;
    const char* says;
  } cases[] = {
      {params({{"lastN", "0"}}), false, "lastN '0'"},
      {params({{"lastN", "-3"}}), false, "lastN"},
      {params({{"lastN", "2x"}}), false, "lastN"},
      {params({}), true, "needs aggrMethods"},
      {params({{"aggrMethods", "avg,median"}}), true, "'median'"},
      {params({{"aggrMethods", " , "}}), true, "names no method"},
      {params({{"aggrMethods", "avg"}, {"aggrPeriodDuration", "1h"}}), true, "aggrPeriodDuration"},
      {params({{"timeAt", "2020-01-01T00:00:00Z"}}), false, "without timerel"},
  };
  for (const Case& c : cases) {
    auto r = temporal_from_params(c.p, c.aggregated, false);
    ASSERT_FALSE(r.ok()) << c.says;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData);
    EXPECT_NE(r.status().detail().find(c.says), std::string::npos) << r.status().detail();
  }
}

}  // namespace
}  // namespace tsunagu::ngsild::temporal
