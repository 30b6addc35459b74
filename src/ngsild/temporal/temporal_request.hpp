// What a temporal request asks of the history, apart from the entities it selects: the time
// window (ETSI GS CIM 009 §4.11: timerel, timeAt, endTimeAt, timeproperty), lastN, and the
// aggregation of the aggregated temporal representation (§4.5.19: aggrMethods,
// aggrPeriodDuration). Read from URI parameters (§6.19.3.1, §6.18.3.2) or from a Query
// object's temporalQ (§5.2.21); the entity selection reuses query/query_request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/params.hpp"
#include "common/status.hpp"
#include "common/time.hpp"

namespace tsunagu::ngsild::temporal {

// An ISO 8601 duration: its calendar part (years and months, whose length depends on where
// they fall) apart from its exact part (weeks, days, hours, minutes, seconds: times are UTC,
// where a day is always 24 hours).
struct Duration {
  int64_t months = 0;
  int64_t micros = 0;
  bool zero() const { return months == 0 && micros == 0; }
};

// "P1Y2M10DT2H30M", "P2W", "PT0.5S", "PT1H30M", and "0" (the OpenAPI's default, zero seconds).
// A fraction is allowed on the last value given. BadRequestData naming aggrPeriodDuration
// otherwise.
Result<Duration> parse_duration(std::string_view text);

// The start of the `n`th period of length `d` from `origin`: months are counted from the
// origin each time, so periods of P1M from January 31 start on February 28 and March 31.
int64_t period_start(int64_t origin, const Duration& d, int64_t n);

enum class TimeRel : uint8_t { kAny, kBefore, kAfter, kBetween };
enum class TimeProperty : uint8_t { kObservedAt, kCreatedAt, kModifiedAt, kDeletedAt };

std::string_view time_property_name(TimeProperty p);

// Which instances a temporal query keeps, by the time `property` gives them: before timeAt
// (strictly), from timeAt on, or from timeAt up to endTimeAt (excluded). See
// docs/decisions.md, "Temporal".
struct TimeFilter {
  TimeRel rel = TimeRel::kAny;
  int64_t at = kNoTime;
  int64_t end_at = kNoTime;
  TimeProperty property = TimeProperty::kObservedAt;

  bool admits(int64_t t) const {
    switch (rel) {
      case TimeRel::kAny:
        return true;
      case TimeRel::kBefore:
        return t < at;
      case TimeRel::kAfter:
        return t >= at;
      case TimeRel::kBetween:
        return t >= at && t < end_at;
    }
    return false;
  }
};

// The four members as given (nullptr: absent). timerel needs timeAt, between needs endTimeAt
// after timeAt; timeAt or endTimeAt without timerel, or an unknown timerel or timeproperty, is
// BadRequestData naming the member. `required`: Query Temporal Evolution (§5.7.4) needs
// timerel (the OpenAPI: "timerel and timeAt are required").
Result<TimeFilter> time_filter(const std::string* timerel, const std::string* time_at,
                               const std::string* end_time_at, const std::string* timeproperty,
                               bool required);

enum class AggrMethod : uint8_t {
  kTotalCount,
  kDistinctCount,
  kSum,
  kAvg,
  kMin,
  kMax,
  kStddev,
  kSumsq,
};
inline constexpr int kAggrMethods = 8;
std::string_view aggr_method_name(AggrMethod m);

struct TemporalRequest {
  TimeFilter time;
  int64_t last_n = 0;         // the last n instances per attribute in the window; 0: all
  bool aggregated = false;    // options=aggregatedValues
  uint32_t aggr_methods = 0;  // bit 1 << AggrMethod
  Duration aggr_period;       // zero: one period spanning the whole window
  bool has(AggrMethod m) const { return aggr_methods & (1u << static_cast<int>(m)); }
};

// timerel, timeAt, endTimeAt, timeproperty, lastN, aggrMethods and aggrPeriodDuration from URI
// parameters. `aggregated`: the request's options hold aggregatedValues, which then needs
// aggrMethods; without it the two aggregation parameters do not apply and are not read.
Result<TemporalRequest> temporal_from_params(const QueryParams& params, bool aggregated,
                                             bool timerel_required);

}  // namespace tsunagu::ngsild::temporal
