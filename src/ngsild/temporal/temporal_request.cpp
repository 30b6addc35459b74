#include "ngsild/temporal/temporal_request.hpp"

#include <charconv>
#include <cmath>

#include "common/time.hpp"

namespace tsunagu::ngsild::temporal {
namespace {

constexpr int64_t kSecondUs = 1'000'000;

Status bad_duration(std::string_view text, std::string_view why) {
  return Status::BadRequestData("aggrPeriodDuration '" + std::string(text) +
                                "' is not an ISO 8601 duration: " + std::string(why));
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration{};
  if (text.size() < 2 || text[0] != 'P') return bad_duration(text, "it must start with P");
  Duration d;
  bool in_time = false;
  bool any = false;
  bool fraction_seen = false;
  // Designators in the order ISO 8601 gives them; each may appear once.
  static constexpr std::string_view kDateOrder = "YMWD";
  static constexpr std::string_view kTimeOrder = "HMS";
  size_t next_date = 0, next_time = 0;
  size_t pos = 1;
  while (pos < text.size()) {
    if (text[pos] == 'T') {
      if (in_time) return bad_duration(text, "T appears twice");
      in_time = true;
      ++pos;
      if (pos == text.size()) return bad_duration(text, "nothing follows T");
      continue;
    }
    if (fraction_seen) return bad_duration(text, "only the last value may have a fraction");
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
      ++pos;
    if (pos == start) return bad_duration(text, "a number must precede each designator");
    int64_t whole = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + pos, whole);
    if (ec != std::errc() || whole > 1'000'000'000)
      return bad_duration(text, "a value is too large");
    double fraction = 0;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      size_t fstart = ++pos;
      double scale = 0.1;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        fraction += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == fstart) return bad_duration(text, "a decimal mark must be followed by digits");
      fraction_seen = true;
    }
    if (pos == text.size()) return bad_duration(text, "a number lacks its designator");
    char unit = text[pos++];
    std::string_view order = in_time ? kTimeOrder : kDateOrder;
    size_t& next = in_time ? next_time : next_date;
    size_t at = order.find(unit, next);
    if (at == std::string_view::npos)
      return bad_duration(text, std::string("unexpected '") + unit + "'");
    next = at + 1;
    any = true;
    int64_t unit_us = 0;
    if (!in_time && (unit == 'Y' || unit == 'M')) {
      if (fraction != 0) return bad_duration(text, "years and months cannot have a fraction");
      d.months += unit == 'Y' ? whole * 12 : whole;
      continue;
    }
    switch (unit) {
      case 'W':
        unit_us = 7 * 86400 * kSecondUs;
        break;
      case 'D':
        unit_us = 86400 * kSecondUs;
        break;
      case 'H':
        unit_us = 3600 * kSecondUs;
        break;
      case 'M':
        unit_us = 60 * kSecondUs;
        break;
      default:  // 'S'
        unit_us = kSecondUs;
        break;
    }
    d.micros += whole * unit_us + static_cast<int64_t>(std::llround(fraction * unit_us));
  }
  if (!any) return bad_duration(text, "it gives no value");
  return d;
}

int64_t period_start(int64_t origin, const Duration& d, int64_t n) {
  int64_t t = d.months == 0 ? origin : add_months(origin, d.months * n);
  return t + d.micros * n;
}

std::string_view time_property_name(TimeProperty p) {
  switch (p) {
    case TimeProperty::kObservedAt:
      return "observedAt";
    case TimeProperty::kCreatedAt:
      return "createdAt";
    case TimeProperty::kModifiedAt:
      return "modifiedAt";
    case TimeProperty::kDeletedAt:
      return "deletedAt";
  }
  return "";
}

Result<TimeFilter> time_filter(const std::string* timerel, const std::string* time_at,
                               const std::string* end_time_at, const std::string* timeproperty,
                               bool required) {
  TimeFilter f;
  if (timeproperty) {
    bool known = false;
    for (auto p : {TimeProperty::kObservedAt, TimeProperty::kCreatedAt, TimeProperty::kModifiedAt,
                   TimeProperty::kDeletedAt}) {
      if (*timeproperty == time_property_name(p)) {
        f.property = p;
        known = true;
      }
    }
    if (!known) {
      return Status::BadRequestData("timeproperty '" + *timeproperty +
                                    "' is none of observedAt, createdAt, modifiedAt, deletedAt");
    }
  }
  if (!timerel) {
    if (required) return Status::BadRequestData("timerel is required, with timeAt");
    if (time_at) return Status::BadRequestData("timeAt is given without timerel");
    if (end_time_at) return Status::BadRequestData("endTimeAt is given without timerel");
    return f;
  }
  if (*timerel == "before") {
    f.rel = TimeRel::kBefore;
  } else if (*timerel == "after") {
    f.rel = TimeRel::kAfter;
  } else if (*timerel == "between") {
    f.rel = TimeRel::kBetween;
  } else {
    return Status::BadRequestData("timerel '" + *timerel + "' is none of before, after, between");
  }
  if (!time_at) return Status::BadRequestData("timerel '" + *timerel + "' needs timeAt");
  auto at = parse_datetime(*time_at);
  if (!at) return Status::BadRequestData("timeAt '" + *time_at + "' is not a DateTime");
  f.at = *at;
  if (f.rel == TimeRel::kBetween) {
    if (!end_time_at) return Status::BadRequestData("timerel 'between' needs endTimeAt");
    auto end = parse_datetime(*end_time_at);
    if (!end) return Status::BadRequestData("endTimeAt '" + *end_time_at + "' is not a DateTime");
    if (*end <= f.at) return Status::BadRequestData("endTimeAt must be later than timeAt");
    f.end_at = *end;
  }
  return f;
}

std::string_view aggr_method_name(AggrMethod m) {
  static constexpr std::string_view kNames[kAggrMethods] = {
      "totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq"};
  return kNames[static_cast<int>(m)];
}

Result<TemporalRequest> temporal_from_params(const QueryParams& params, bool aggregated,
                                             bool timerel_required) {
  TemporalRequest r;
  auto time = time_filter(params.find("timerel"), params.find("timeAt"), params.find("endTimeAt"),
                          params.find("timeproperty"), timerel_required);
  if (!time.ok()) return time.status();
  r.time = *time;
  if (const std::string* v = params.find("lastN")) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size() || n < 1)
      return Status::BadRequestData("lastN '" + *v + "' is not a positive integer");
    r.last_n = n;
  }
  r.aggregated = aggregated;
  if (!aggregated) return r;
  const std::string* methods = params.find("aggrMethods");
  if (!methods) return Status::BadRequestData("options=aggregatedValues needs aggrMethods");
  for (const std::string& name : split_list(*methods)) {
    int found = -1;
    for (int i = 0; i < kAggrMethods; ++i) {
      if (name == aggr_method_name(static_cast<AggrMethod>(i))) found = i;
    }
    if (found < 0) {
      return Status::BadRequestData("aggrMethods: '" + name +
                                    "' is none of totalCount, distinctCount, sum, avg, min, max, "
                                    "stddev, sumsq");
    }
    r.aggr_methods |= 1u << found;
  }
  if (r.aggr_methods == 0) return Status::BadRequestData("aggrMethods names no method");
  if (const std::string* v = params.find("aggrPeriodDuration")) {
    auto d = parse_duration(*v);
    if (!d.ok()) return d.status();
    r.aggr_period = *d;
  }
  return r;
}

}  // namespace tsunagu::ngsild::temporal
