// Prometheus metrics: counters, gauges and histograms with labels, updated lock-free on hot
// paths (relaxed atomics) and rendered in the text exposition format for GET /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tsunagu::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Latency histogram in seconds with fixed bucket bounds.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
  void observe(double seconds);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// A family of metrics sharing a name, one child per label set. Children are created once and
// never move, so callers may keep references.
template <class M>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}
  M& with(const std::vector<std::string>& values) {
    std::lock_guard lock(mu_);
    auto it = index_.find(values);
    if (it != index_.end()) return *it->second;
    children_.emplace_back();
    index_.emplace(values, &children_.back());
    return children_.back();
  }

 private:
  friend class Registry;
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::mutex mu_;
  std::deque<M> children_;
  std::map<std::vector<std::string>, M*> index_;
};

class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> labels);
  // A gauge read at scrape time; `read` adds (label values, value) rows.
  using GaugeReader =
      std::function<void(std::vector<std::pair<std::vector<std::string>, double>>& rows)>;
  void gauge(std::string name, std::string help, std::vector<std::string> labels, GaugeReader read);

  // The text exposition format (version 0.0.4).
  std::string render();

 private:
  struct Gauge {
    std::string name, help;
    std::vector<std::string> labels;
    GaugeReader read;
  };
  std::mutex mu_;
  std::deque<Family<Counter>> counters_;
  std::deque<Family<Histogram>> histograms_;
  std::deque<Gauge> gauges_;
};

// The process-wide registry.
Registry& registry();

}  // namespace tsunagu::metrics
