// The aggregated temporal representation of one attribute (ETSI GS CIM 009 §4.5.19): its
// instances, in time order, summed up per period by each method asked for, as the
// [value, startAt, endAt] triples the representation lists. Methods by value type (numbers;
// booleans count as 1 and 0; strings, DateTimes among them, compare as text for min and max;
// other JSON values only count): docs/decisions.md, "Temporal".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ngsild/temporal/temporal_request.hpp"

namespace tsunagu::ngsild::temporal {

// One method's result for one period: a number, a text (min and max of strings), or null when
// no instance of the period has a value the method applies to (the sum of strings).
struct AggrValue {
  enum class Kind : uint8_t { kNull, kNumber, kText };
  Kind kind = Kind::kNull;
  double number = 0;
  std::string text;
};

struct AggrPeriod {
  int64_t start = 0;
  int64_t end = 0;  // excluded
  AggrValue values[kAggrMethods];
};

// The index of the period of `d` from `origin` that holds `t` (t >= origin; d not zero).
int64_t period_index(int64_t origin, const Duration& d, int64_t t);

class Aggregator {
 public:
  // Periods of `period` from `origin`; a zero period is one period from `origin` to `end`
  // (excluded; kNoTime: up to and including the last instance).
  Aggregator(uint32_t methods, int64_t origin, Duration period, int64_t end);

  // Instances in time order; those before the origin are skipped.
  void add_number(int64_t t, double v);
  void add_bool(int64_t t, bool v);
  void add_text(int64_t t, std::string_view v);
  // Any other value, as its canonical JSON text (only the counts use it).
  void add_other(int64_t t, std::string_view json);

  // The periods that hold instances, in time order.
  std::vector<AggrPeriod> finish();

 private:
  struct Acc {
    int64_t total = 0;
    std::unordered_set<std::string> distinct;
    int64_t n = 0;  // values that are numbers (or booleans)
    double sum = 0, sumsq = 0, mean = 0, m2 = 0, min = 0, max = 0;
    std::optional<std::string> min_text, max_text;
  };
  bool enter(int64_t t);      // moves to t's period; false when t is before the origin
  void accumulate(double v);  // a number or a boolean's 1 or 0
  void close();

  uint32_t methods_;
  int64_t origin_;
  Duration period_;
  int64_t end_;
  int64_t index_ = -1;  // the open period's, -1 when none is open
  int64_t last_time_ = 0;
  Acc acc_;
  std::vector<AggrPeriod> out_;
};

}  // namespace tsunagu::ngsild::temporal
