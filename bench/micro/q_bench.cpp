// Micro-benchmarks of the NGSI-LD query language (ngsild/query/q.hpp): parsing `q` text into the
// expression tree, and evaluating it against the template entity, which is what a query without
// an index pays per candidate entity. The q texts are those of the load scenarios S4 and S5.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "ngsild/query/q.hpp"
#include "template.hpp"

namespace tsunagu::bench {
namespace {

struct Case {
  const char* name;
  const char* q;
};

// The template has dissolvedOxygen 8.42, pH 7.3, temperature 14.2/11.8 (two datasets) and
// refDevice probe-0001.
const std::vector<Case> kCases = {
    {"number_gt_match", "dissolvedOxygen>8"},
    {"number_lt_miss", "dissolvedOxygen<4.08"},
    {"relationship_eq_match", "refDevice==\"urn:ngsi-ld:Device:probe-0001\""},
    {"relationship_ne_miss", "refDevice!=\"urn:ngsi-ld:Device:probe-0001\""},
    {"and_of_three", "dissolvedOxygen>8;pH<7.5;temperature>10"},
    {"or_with_range", "pH==6.5..7.5|turbidity>20"},
    {"string_list", "stationName==\"Kawabe river intake 3\",\"Kinu weir 4\""},
    {"string_regex", "stationName~=\"^Kawabe.*3$\""},
    {"observed_at", "dissolvedOxygen.observedAt>=2026-04-01T00:00:00Z"},
    {"attribute_missing", "salinity>1"},
};

void BM_QParse(benchmark::State& state) {
  const Case& c = kCases[static_cast<size_t>(state.range(0))];
  state.SetLabel(c.name);
  const auto& ctx = core_context();
  for (auto _ : state) {
    auto e = ngsild::query::parse_q(c.q, ctx);
    if (!e.ok()) state.SkipWithError(e.status().detail().c_str());
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_QParse)->DenseRange(0, static_cast<int>(kCases.size()) - 1);

void BM_QMatches(benchmark::State& state) {
  const Case& c = kCases[static_cast<size_t>(state.range(0))];
  auto e = ngsild::query::parse_q(c.q, core_context());
  if (!e.ok()) {
    state.SkipWithError(e.status().detail().c_str());
    return;
  }
  const ngsild::Entity& entity = template_entity();
  bool matched = false;
  for (auto _ : state) {
    matched = ngsild::query::matches(*e, entity);
    benchmark::DoNotOptimize(matched);
  }
  state.SetLabel(std::string(c.name) + (matched ? " (true)" : " (false)"));
}
BENCHMARK(BM_QMatches)->DenseRange(0, static_cast<int>(kCases.size()) - 1);

}  // namespace
}  // namespace tsunagu::bench
