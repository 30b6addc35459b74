// Micro-benchmarks of the spatial index (ngsild/geo/spatial_index.hpp): every created entity with
// a location pays one insert when it is committed, every geo-query one candidate search.
// 200,000 points spread over 0.4 x 0.3 degrees (a city of about 36 x 33 km), as many as a large
// city's sensors and assets.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "ngsild/geo/spatial_index.hpp"

namespace tsunagu::bench {
namespace {

using ngsild::geo::Geometry;
using ngsild::geo::GeoQuery;
using ngsild::geo::GeoRel;
using ngsild::geo::Point;
using ngsild::geo::SpatialIndex;

constexpr size_t kPoints = 200000;

std::vector<Point> city_points(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> lon(139.5, 139.9), lat(35.5, 35.8);
  std::vector<Point> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)
    out.emplace_back(lon(rng), lat(rng));
  return out;
}

// Time per insert while the index grows from empty to 200,000 entries.
void BM_SpatialIndexInsert(benchmark::State& state) {
  const std::vector<Point> points = city_points(kPoints, 1);
  for (auto _ : state) {
    state.PauseTiming();
    SpatialIndex index;
    state.ResumeTiming();
    for (size_t i = 0; i < points.size(); ++i)
      index.insert(i, Geometry(points[i]));
    benchmark::DoNotOptimize(index.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPoints));
}
BENCHMARK(BM_SpatialIndexInsert)->Unit(benchmark::kMillisecond);

// The candidates of `near;maxDistance==500` around a random point of the same area (the
// counter gives how many: about 170, the entities in the search box).
void BM_SpatialIndexNearCandidates(benchmark::State& state) {
  SpatialIndex index;
  const std::vector<Point> points = city_points(kPoints, 1);
  for (size_t i = 0; i < points.size(); ++i)
    index.insert(i, Geometry(points[i]));
  const std::vector<Point> centres = city_points(1024, 2);
  std::vector<GeoQuery> queries(centres.size());
  for (size_t i = 0; i < centres.size(); ++i) {
    queries[i].rel = GeoRel::kNear;
    queries[i].max_distance_m = 500;
    queries[i].geometry = Geometry(centres[i]);
  }
  size_t i = 0, found = 0;
  std::vector<uint64_t> out;
  for (auto _ : state) {
    out.clear();
    index.query(queries[i++ % queries.size()], out);
    found += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["candidates"] =
      benchmark::Counter(static_cast<double>(found) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_SpatialIndexNearCandidates);

}  // namespace
}  // namespace tsunagu::bench
