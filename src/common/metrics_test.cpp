#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <thread>

namespace tsunagu::metrics {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    out.push_back(line);
  return out;
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto& l : lines_of(text)) {
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  }
  return out;
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1))
    ++n;
  return n;
}

TEST(MetricsTest, CounterWithoutLabels) {
  Registry r;
  Counter& c = r.counter("requests_total", "Requests served", {}).with({});
  c.inc();
  c.inc(4);
  EXPECT_EQ(c.value(), 5u);
  EXPECT_EQ(r.render(),
            "# HELP requests_total Requests served\n"
            "# TYPE requests_total counter\n"
            "requests_total 5\n");
}

TEST(MetricsTest, CounterWithLabels) {
  Registry r;
  auto& f = r.counter("http_requests_total", "HTTP requests", {"method", "status"});
  f.with({"GET", "200"}).inc(3);
  f.with({"POST", "201"}).inc();
  EXPECT_EQ(&f.with({"GET", "200"}), &f.with({"GET", "200"}));  // children are stable
  std::string text = r.render();
  EXPECT_NE(text.find("http_requests_total{method=\"GET\",status=\"200\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_total{method=\"POST\",status=\"201\"} 1\n"), std::string::npos)
      << text;
  EXPECT_EQ(count_of(text, "# TYPE http_requests_total counter\n"), 1u);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Registry r;
  r.counter("c_total", "h", {"v"}).with({"a\"b\\c\nd"}).inc();
  std::string text = r.render();
  EXPECT_NE(text.find("c_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
}

// Text format 0.0.4: in HELP lines, backslash and line feed are escaped as \\ and \n.
TEST(MetricsTest, HelpTextIsEscaped) {
  Registry r;
  r.counter("esc_total", "first line\nsecond \\ line", {}).with({}).inc();
  std::string text = r.render();
  EXPECT_NE(text.find("# HELP esc_total first line\\nsecond \\\\ line\n"), std::string::npos)
      << text;
  for (auto& l : lines_of(text)) {
    EXPECT_TRUE(l.rfind("# ", 0) == 0 || l.rfind("esc_total", 0) == 0) << "stray line: " << l;
  }
}

TEST(MetricsTest, CountersAddUpAcrossThreads) {
  Registry r;
  Counter& c = r.counter("t_total", "h", {}).with({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        c.inc();
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(c.value(), 40000u);
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  Histogram& h = r.histogram("lat_seconds", "Latency", {"op"}).with({"get"});
  h.observe(0.00005);  // first bucket
  h.observe(0.001);    // exactly on a bound: le is "less or equal"
  h.observe(0.003);    // le=0.005
  h.observe(0.5);      // exactly on a bound
  h.observe(3.0);      // only +Inf
  EXPECT_EQ(h.count(), 5u);
  std::string text = r.render();
  auto buckets = lines_starting(text, "lat_seconds_bucket{");
  ASSERT_EQ(buckets.size(), Histogram::kBounds.size() + 1) << text;

  uint64_t previous = 0;
  double previous_le = -1;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const std::string& l = buckets[i];
    EXPECT_EQ(l.rfind("lat_seconds_bucket{op=\"get\",le=\"", 0), 0u) << l;
    size_t q1 = l.find("le=\"") + 4;
    size_t q2 = l.find('"', q1);
    std::string le = l.substr(q1, q2 - q1);
    uint64_t n = std::strtoull(l.substr(l.rfind(' ') + 1).c_str(), nullptr, 10);
    EXPECT_GE(n, previous) << l;
    previous = n;
    if (i + 1 == buckets.size()) {
      EXPECT_EQ(le, "+Inf");
      EXPECT_EQ(n, 5u);
    } else {
      double bound = std::strtod(le.c_str(), nullptr);
      EXPECT_DOUBLE_EQ(bound, Histogram::kBounds[i]) << le;
      EXPECT_GT(bound, previous_le);
      previous_le = bound;
      uint64_t expected = 0;
      for (double v : {0.00005, 0.001, 0.003, 0.5, 3.0})
        expected += v <= bound ? 1 : 0;
      EXPECT_EQ(n, expected) << l;
    }
  }
  EXPECT_NE(text.find("\nlat_seconds_count{op=\"get\"} 5\n"), std::string::npos) << text;
  auto sum = lines_starting(text, "lat_seconds_sum{op=\"get\"} ");
  ASSERT_EQ(sum.size(), 1u) << text;
  EXPECT_NEAR(std::strtod(sum[0].substr(sum[0].rfind(' ') + 1).c_str(), nullptr), 3.50405, 1e-6);
  EXPECT_EQ(count_of(text, "# TYPE lat_seconds histogram\n"), 1u);
}

TEST(MetricsTest, HistogramWithoutLabels) {
  Registry r;
  r.histogram("h_seconds", "h", {}).with({}).observe(0.02);
  std::string text = r.render();
  EXPECT_NE(text.find("h_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_count 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_sum 0.02\n"), std::string::npos) << text;
}

TEST(MetricsTest, Gauges) {
  Registry r;
  r.gauge("entities", "Entities held", {"tenant"}, [](auto& rows) {
    rows.push_back({{"tokyo"}, 12});
    rows.push_back({{""}, 0.5});
  });
  std::string text = r.render();
  EXPECT_NE(text.find("# TYPE entities gauge\n"), std::string::npos);
  EXPECT_NE(text.find("entities{tenant=\"tokyo\"} 12\n"), std::string::npos) << text;
  EXPECT_NE(text.find("entities{tenant=\"\"} 0.5\n"), std::string::npos) << text;
}

// Text format 0.0.4: "Only one TYPE line may exist for a given metric name" and all lines of a
// metric form one group, so registering a name twice must not produce a second family.
TEST(MetricsTest, RegisteringANameTwiceKeepsOneFamily) {
  Registry r;
  r.counter("dup_total", "h", {"k"}).with({"a"}).inc();
  r.counter("dup_total", "h", {"k"}).with({"b"}).inc();
  std::string text = r.render();
  EXPECT_EQ(count_of(text, "# TYPE dup_total counter\n"), 1u) << text;
  EXPECT_EQ(count_of(text, "# HELP dup_total h\n"), 1u) << text;
}

TEST(MetricsTest, EveryLineIsACommentOrASample) {
  Registry r;
  r.counter("a_total", "a", {"x"}).with({"1"}).inc();
  r.histogram("b_seconds", "b", {}).with({}).observe(0.1);
  r.gauge("c", "c", {}, [](auto& rows) { rows.push_back({{}, 1}); });
  std::string text = r.render();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  for (auto& l : lines_of(text)) {
    ASSERT_FALSE(l.empty());
    if (l[0] == '#') {
      EXPECT_TRUE(l.rfind("# HELP ", 0) == 0 || l.rfind("# TYPE ", 0) == 0) << l;
      continue;
    }
    size_t space = l.rfind(' ');
    ASSERT_NE(space, std::string::npos) << l;
    char* end = nullptr;
    std::string v = l.substr(space + 1);
    std::strtod(v.c_str(), &end);
    EXPECT_EQ(*end, '\0') << l;
  }
}

TEST(MetricsTest, ProcessRegistryIsOne) {
  EXPECT_EQ(&registry(), &registry());
}

}  // namespace
}  // namespace tsunagu::metrics
