#include "ngsild/geo/spatial_index.hpp"
#include "ngsild/geo/algorithms.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>

namespace tsunagu::ngsild::geo {
namespace {

GeoQuery query(std::string_view georel, std::string_view geometry, std::string_view coords) {
  auto q = parse_geoquery(georel, geometry, coords);
  EXPECT_TRUE(q.ok()) << georel << " " << coords << ": " << q.status().detail();
  return q.ok() ? std::move(q).value() : GeoQuery();
}

// Points spread over the globe with crowds where pruning is hardest: both sides of the
// antimeridian, around the north pole, and one city.
std::vector<Geometry> random_points(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Geometry> out;
  for (size_t i = 0; i < n; ++i) {
    double lon = 0, lat = 0;
    switch (i % 5) {
      case 0:
      case 1:
        lon = -180 + 360 * u(rng), lat = -90 + 180 * u(rng);
        break;
      case 2:
        lon = (u(rng) < 0.5 ? 179 : -180) + u(rng), lat = -5 + 10 * u(rng);
        break;
      case 3:
        lon = -180 + 360 * u(rng), lat = 85 + 5 * u(rng);
        break;
      default:
        lon = 139.5 + 0.5 * u(rng), lat = 35.5 + 0.5 * u(rng);
        break;
    }
    out.emplace_back(Point(lon, lat));
  }
  return out;
}

std::set<uint64_t> brute_force(const GeoQuery& q, const std::vector<Geometry>& all) {
  std::set<uint64_t> keys;
  for (size_t i = 0; i < all.size(); ++i) {
    if (matches(q, all[i])) keys.insert(i);
  }
  return keys;
}

// Keys the index proposes and matches() confirms; also reports how many it proposed.
std::set<uint64_t> via_index(const SpatialIndex& index, const GeoQuery& q,
                             const std::vector<Geometry>& all, size_t& candidates) {
  std::vector<uint64_t> keys;
  index.query(q, keys);
  candidates = keys.size();
  const std::set<uint64_t> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), keys.size()) << "a key was proposed twice";
  std::set<uint64_t> out;
  for (uint64_t k : unique) {
    if (matches(q, all[k])) out.insert(k);
  }
  return out;
}

// Expects the index to propose exactly the keys brute force finds, and those not to be none;
// returns how many it proposed.
size_t expect_agreement(const SpatialIndex& index, const GeoQuery& q,
                        const std::vector<Geometry>& all, const std::string& label) {
  size_t candidates = 0;
  std::set<uint64_t> expected = brute_force(q, all);
  EXPECT_EQ(via_index(index, q, all, candidates), expected) << label;
  EXPECT_FALSE(expected.empty()) << label;
  return candidates;
}

const std::vector<std::pair<std::string, std::string>> kQueries = {
    {"near;maxDistance==50000", "[179.9,0]"},   {"near;maxDistance==100000", "[-180,1]"},
    {"near;maxDistance==200000", "[-179.5,3]"}, {"near;maxDistance==100000", "[0,89.5]"},
    {"near;maxDistance==300000", "[0,88]"},     {"near;maxDistance==20000", "[139.7,35.7]"},
    {"near;maxDistance==1000000", "[10,-60]"},  {"near;maxDistance==5000000", "[90,0]"},
    {"near;minDistance==15000000", "[0,0]"},
};

TEST(SpatialIndexTest, InsertReplaceRemove) {
  SpatialIndex index;
  index.insert(1, Geometry(Point(10, 10)));
  index.insert(2, Geometry(Point(20, 20)));
  EXPECT_EQ(index.size(), 2u);
  index.insert(1, Geometry(Point(30, 30)));  // moves key 1
  EXPECT_EQ(index.size(), 2u);
  std::vector<uint64_t> keys;
  index.query(query("near;maxDistance==1000", "Point", "[10,10]"), keys);
  EXPECT_TRUE(keys.empty());
  index.query(query("near;maxDistance==1000", "Point", "[30,30]"), keys);
  EXPECT_EQ(keys, std::vector<uint64_t>{1});
  EXPECT_TRUE(index.remove(1));
  EXPECT_FALSE(index.remove(1));
  EXPECT_EQ(index.size(), 1u);
  keys.clear();
  index.query(query("disjoint", "Point", "[0,0]"), keys);
  EXPECT_EQ(keys, std::vector<uint64_t>{2});
  index.clear();
  EXPECT_EQ(index.size(), 0u);
}

TEST(SpatialIndexTest, AgreesWithBruteForceOnRandomPoints) {
  const std::vector<Geometry> points = random_points(10000, 42);
  SpatialIndex index;
  for (size_t i = 0; i < points.size(); ++i)
    index.insert(i, points[i]);
  ASSERT_EQ(index.size(), points.size());
  for (const auto& [georel, coords] : kQueries) {
    GeoQuery q = query(georel, "Point", coords);
    size_t candidates = expect_agreement(index, q, points, georel + " " + coords);
    if (q.max_distance_m && *q.max_distance_m <= 300000) {
      EXPECT_LT(candidates, points.size() / 4) << georel << " " << coords;
    }
  }
  const std::pair<const char*, const char*> planar[] = {
      {"within", "[[[139.6,35.6],[139.8,35.6],[139.8,35.8],[139.6,35.8],[139.6,35.6]]]"},
      {"intersects", "[[[179,-1],[180,-1],[180,1],[179,1],[179,-1]]]"},
      {"within", "[[[-180,86],[180,86],[180,90],[-180,90],[-180,86]]]"},
      {"disjoint", "[[[-10,-10],[10,-10],[10,10],[-10,10],[-10,-10]]]"},
  };
  for (const auto& [georel, coords] : planar) {
    expect_agreement(index, query(georel, "Polygon", coords), points,
                     std::string(georel) + " " + coords);
  }
}

// Lines and triangles, some long enough for their geodesics to leave their planar envelope.
TEST(SpatialIndexTest, AgreesWithBruteForceOnShapes) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Geometry> shapes;
  SpatialIndex index;
  for (size_t i = 0; i < 2000; ++i) {
    double lon = -180 + 360 * u(rng), lat = -80 + 160 * u(rng);
    double size = i % 10 == 0 ? 40 : 2;
    double lon2 = std::clamp(lon + size * (u(rng) - 0.5), -180.0, 180.0);
    double lat2 = std::clamp(lat + size * (u(rng) - 0.5), -89.0, 89.0);
    if (i % 50 == 0) {
      // Read as a geodesic, this crosses the antimeridian the short way; read planar, it spans
      // the globe.
      lat = -2 + 4 * u(rng);
      shapes.emplace_back(LineString{Point(179.9, lat), Point(-179.5, lat + u(rng))});
    } else if (i % 2 == 0) {
      shapes.emplace_back(LineString{Point(lon, lat), Point(lon2, lat2)});
    } else {
      Polygon tri;
      tri.outer() = {Point(lon, lat), Point(lon2, lat), Point(lon2, lat2), Point(lon, lat)};
      bg::correct(tri);
      shapes.emplace_back(std::move(tri));
    }
    index.insert(i, shapes.back());
  }
  // A geodesic from (-10, 55) to (50, 55) peaks near 58.8N, above its planar envelope.
  shapes.emplace_back(LineString{Point(-10, 55), Point(50, 55)});
  index.insert(shapes.size() - 1, shapes.back());
  auto queries = kQueries;
  queries.emplace_back("near;maxDistance==20000", "[-179.8,0.5]");
  queries.emplace_back("near;maxDistance==20000", "[20,58.7]");
  for (const auto& [georel, coords] : queries) {
    GeoQuery q = query(georel, "Point", coords);
    size_t candidates = 0;
    std::set<uint64_t> expected = brute_force(q, shapes);
    EXPECT_EQ(via_index(index, q, shapes, candidates), expected) << georel << " " << coords;
    // Only the geodesic reading of the lines reaches these queries.
    if (coords == "[-179.8,0.5]" || coords == "[20,58.7]") {
      EXPECT_FALSE(expected.empty()) << coords;
    }
  }
  GeoQuery q = query("intersects", "LineString", "[[-20,10],[30,-5]]");
  size_t candidates = 0;
  EXPECT_EQ(via_index(index, q, shapes, candidates), brute_force(q, shapes));
}

// Points crowded into a few grid cells, many on cell edges (multiples of kCellDegrees), then
// removed and moved at random: every query still proposes exactly the keys brute force finds.
TEST(SpatialIndexTest, CrowdedCellsSurviveRemovalsAndMoves) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> step(0, 40);
  std::uniform_real_distribution<double> u(0, 1);
  auto position = [&] {
    double lon = 139.7 + step(rng) * (SpatialIndex::kCellDegrees / 10);
    double lat = 35.6 + step(rng) * (SpatialIndex::kCellDegrees / 10);
    if (u(rng) < 0.1) lon = -180 + step(rng) * 1e-3;  // and a few at the antimeridian
    return Geometry(Point(lon, lat));
  };
  SpatialIndex index;
  std::map<uint64_t, Geometry> live;
  for (uint64_t k = 0; k < 5000; ++k) {
    live.emplace(k, position());
    index.insert(k, live.at(k));
  }
  for (int i = 0; i < 6000; ++i) {
    uint64_t k = rng() % 6000;
    if (u(rng) < 0.5) {
      EXPECT_EQ(index.remove(k), live.erase(k) == 1) << k;
    } else {
      live.insert_or_assign(k, position());
      index.insert(k, live.at(k));
    }
  }
  ASSERT_EQ(index.size(), live.size());
  std::vector<Geometry> all(6000, Geometry(Point(0, -89.9)));  // keys not in `live` never match
  for (const auto& [k, g] : live)
    all[k] = g;
  const std::pair<const char*, const char*> near[] = {{"near;maxDistance==300", "[139.71,35.61]"},
                                                      {"near;maxDistance==1500", "[139.72,35.62]"},
                                                      {"near;maxDistance==2000", "[179.99,35.61]"},
                                                      {"near;maxDistance==100", "[139.7,35.6]"}};
  for (const auto& [georel, coords] : near) {
    expect_agreement(index, query(georel, "Point", coords), all,
                     std::string(georel) + " " + coords);
  }
  expect_agreement(index,
                   query("within", "Polygon",
                         "[[[139.71,35.61],[139.72,35.61],[139.72,35.62],[139.71,35.62],"
                         "[139.71,35.61]]]"),
                   all, "within a cell-sized square");
}

}  // namespace
}  // namespace tsunagu::ngsild::geo
