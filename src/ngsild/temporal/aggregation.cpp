#include "ngsild/temporal/aggregation.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tsunagu::ngsild::temporal {
namespace {

constexpr int64_t kDayUs = 86400LL * 1'000'000;

bool wants(uint32_t methods, AggrMethod m) {
  return methods & (1u << static_cast<int>(m));
}

}  // namespace

int64_t period_index(int64_t origin, const Duration& d, int64_t t) {
  if (d.months == 0) return (t - origin) / d.micros;
  // A first guess from the average month, then a step or two to the exact period.
  double average =
      static_cast<double>(d.months) * 30.436875 * kDayUs + static_cast<double>(d.micros);
  auto n = static_cast<int64_t>(static_cast<double>(t - origin) / average);
  while (n > 0 && period_start(origin, d, n) > t)
    --n;
  while (period_start(origin, d, n + 1) <= t)
    ++n;
  return n;
}

Aggregator::Aggregator(uint32_t methods, int64_t origin, Duration period, int64_t end)
    : methods_(methods), origin_(origin), period_(period), end_(end) {}

bool Aggregator::enter(int64_t t) {
  if (t < origin_) return false;
  int64_t index = period_.zero() ? 0 : period_index(origin_, period_, t);
  if (index != index_) {
    if (index_ >= 0) close();
    index_ = index;
  }
  last_time_ = t;
  ++acc_.total;
  return true;
}

void Aggregator::add_number(int64_t t, double v) {
  if (!enter(t)) return;
  if (wants(methods_, AggrMethod::kDistinctCount)) {
    std::string key(1 + sizeof v, 'n');
    double canonical = v == 0 ? 0.0 : v;  // -0 and 0 are one value
    std::memcpy(key.data() + 1, &canonical, sizeof canonical);
    acc_.distinct.insert(std::move(key));
  }
  accumulate(v);
}

void Aggregator::add_bool(int64_t t, bool v) {
  if (!enter(t)) return;
  // Distinct from the numbers 1 and 0: true is not 1.
  if (wants(methods_, AggrMethod::kDistinctCount)) acc_.distinct.insert(v ? "btrue" : "bfalse");
  accumulate(v ? 1 : 0);
}

void Aggregator::accumulate(double v) {
  Acc& a = acc_;
  if (a.n == 0) {
    a.min = a.max = v;
  } else {
    a.min = std::min(a.min, v);
    a.max = std::max(a.max, v);
  }
  ++a.n;
  a.sum += v;
  a.sumsq += v * v;
  double delta = v - a.mean;  // Welford: the deviation without cancelling large sums
  a.mean += delta / static_cast<double>(a.n);
  a.m2 += delta * (v - a.mean);
}

void Aggregator::add_text(int64_t t, std::string_view v) {
  if (!enter(t)) return;
  Acc& a = acc_;
  if (wants(methods_, AggrMethod::kDistinctCount)) a.distinct.insert("s" + std::string(v));
  if (!a.min_text || v < *a.min_text) a.min_text = std::string(v);
  if (!a.max_text || v > *a.max_text) a.max_text = std::string(v);
}

void Aggregator::add_other(int64_t t, std::string_view json) {
  if (!enter(t)) return;
  if (wants(methods_, AggrMethod::kDistinctCount)) acc_.distinct.insert("j" + std::string(json));
}

void Aggregator::close() {
  AggrPeriod p;
  if (period_.zero()) {
    p.start = origin_;
    p.end = end_ != kNoTime ? end_ : last_time_;
  } else {
    p.start = period_start(origin_, period_, index_);
    p.end = period_start(origin_, period_, index_ + 1);
  }
  const Acc& a = acc_;
  auto number = [](double v) { return AggrValue{AggrValue::Kind::kNumber, v, {}}; };
  auto text = [](const std::string& v) { return AggrValue{AggrValue::Kind::kText, 0, v}; };
  for (int i = 0; i < kAggrMethods; ++i) {
    auto m = static_cast<AggrMethod>(i);
    if (!wants(methods_, m)) continue;
    AggrValue& v = p.values[i];
    switch (m) {
      case AggrMethod::kTotalCount:
        v = number(static_cast<double>(a.total));
        break;
      case AggrMethod::kDistinctCount:
        v = number(static_cast<double>(a.distinct.size()));
        break;
      case AggrMethod::kSum:
        if (a.n) v = number(a.sum);
        break;
      case AggrMethod::kAvg:
        if (a.n) v = number(a.sum / static_cast<double>(a.n));
        break;
      case AggrMethod::kMin:
        if (a.n) {
          v = number(a.min);
        } else if (a.min_text) {
          v = text(*a.min_text);
        }
        break;
      case AggrMethod::kMax:
        if (a.n) {
          v = number(a.max);
        } else if (a.max_text) {
          v = text(*a.max_text);
        }
        break;
      case AggrMethod::kStddev:
        // The sample standard deviation; one value deviates by nothing.
        if (a.n) v = number(a.n > 1 ? std::sqrt(a.m2 / static_cast<double>(a.n - 1)) : 0.0);
        break;
      case AggrMethod::kSumsq:
        if (a.n) v = number(a.sumsq);
        break;
    }
  }
  out_.push_back(std::move(p));
  acc_ = Acc{};
}

std::vector<AggrPeriod> Aggregator::finish() {
  if (index_ >= 0) close();
  index_ = -1;
  return std::move(out_);
}

}  // namespace tsunagu::ngsild::temporal
