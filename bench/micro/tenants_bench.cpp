// Micro-benchmark of what the tenants' settings add to every NGSI-LD request
// (auth/tenants.hpp, docs/security.md "Tenants"): taking one request from a tenant's bucket, for
// a tenant with a rate it never reaches and for one without settings, among 100 tenants that
// have settings. Single-threaded: the bucket's lock is never contended here.
#include <benchmark/benchmark.h>

#include <string>

#include "auth/tenants.hpp"
#include "common/time.hpp"

namespace tsunagu::bench {
namespace {

auth::TenantService& service() {
  static auth::TenantService* s = [] {
    auto* out = new auth::TenantService();
    for (int i = 0; i < 100; ++i) {
      auth::TenantSettings t;
      t.id = "town-" + std::to_string(i);
      t.requests_per_second = 1e7;  // never reached
      t.created_at = t.modified_at = 1;
      (void)out->load("", t.id, auth::encode_tenant_settings(t));
    }
    return out;
  }();
  return *s;
}

// range(0): 1 = the tenant has a rate, 0 = it has no settings.
void BM_TenantAdmit(benchmark::State& state) {
  const std::string tenant = state.range(0) ? "town-42" : "elsewhere";
  state.SetLabel(state.range(0) ? "rated" : "no_settings");
  auth::TenantService& s = service();
  int64_t now = now_us();
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.admit(tenant, ++now));
  }
}
BENCHMARK(BM_TenantAdmit)->Arg(0)->Arg(1);

}  // namespace
}  // namespace tsunagu::bench
