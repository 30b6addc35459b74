// Micro-benchmark of what a role costs a query (docs/security.md, "Roles"): one page of 100
// with its count over 10,000 entities of one type, half of them in the scope the role reads,
// without a restriction, with a rule by scope, with a rule by whole-id pattern, and, for
// comparison, without a role but with the scopeQ that selects the same half (what a caller
// asking for that half pays anyway). The restriction is checked per candidate with the query's
// other filters, so a count walks every candidate, as with any other filter.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "common/atom.hpp"
#include "engine/query_engine.hpp"
#include "engine/tenant.hpp"
#include "ngsild/query/restriction.hpp"

namespace tsunagu::bench {
namespace {

constexpr int kEntities = 10000;

const Atom& sensor() {
  static const Atom a = Atom::intern("https://uri.etsi.org/ngsi-ld/default-context/Sensor");
  return a;
}

engine::Tenant& tenant() {
  static engine::Tenant* t = [] {
    auto* out = new engine::Tenant("bench");
    for (int i = 0; i < kEntities; ++i) {
      auto e = std::make_shared<ngsild::Entity>();
      e->id = "urn:ngsi-ld:Sensor:" + std::string(i % 2 ? "north-" : "south-") + std::to_string(i);
      e->types = {sensor()};
      e->scopes = {i % 2 ? "/City/North" : "/City/South"};
      out->put(std::move(e));
    }
    return out;
  }();
  return *t;
}

// range(0): 0 = no restriction, 1 = a rule by scope, 2 = a rule by id pattern, 3 = no
// restriction and scopeQ=/City/North/#. range(1): count asked or not.
void BM_QueryWithRole(benchmark::State& state) {
  ngsild::query::EntityQuery q;
  ngsild::query::TypeSelection types;
  types.groups = {{sensor()}};
  q.types = types;
  q.limit = 100;
  q.count = state.range(1) != 0;
  const char* labels[] = {"no_role", "scope_rule", "id_pattern_rule", "no_role_scopeQ"};
  state.SetLabel(std::string(labels[state.range(0)]) + (q.count ? "_count" : ""));
  if (state.range(0) == 3) q.scope = *ngsild::query::parse_scope_query("/City/North/#");
  if (state.range(0) == 1 || state.range(0) == 2) {
    auto r = std::make_shared<ngsild::query::Restriction>();
    ngsild::query::AccessRule rule;
    if (state.range(0) == 1) {
      rule.scope = *ngsild::query::parse_scope_query("/City/North/#");
    } else {
      rule.id_pattern = std::make_shared<re2::RE2>("urn:ngsi-ld:Sensor:north-[0-9]+");
    }
    r->rules.push_back(std::move(rule));
    q.restriction = std::move(r);
  }
  engine::Tenant& t = tenant();
  size_t total = 0;
  for (auto _ : state) {
    auto result = engine::QueryEngine::run(t, q);
    total = result.total;
    benchmark::DoNotOptimize(result);
  }
  state.counters["matches"] = static_cast<double>(total);
}
BENCHMARK(BM_QueryWithRole)->ArgsProduct({{0, 1, 2, 3}, {0, 1}})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tsunagu::bench
