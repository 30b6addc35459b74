#include "ngsild/geo/query_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace tsunagu::ngsild::geo {
namespace {

GeoQuery query(std::string_view georel, std::string_view geometry, std::string_view coords) {
  auto q = parse_geoquery(georel, geometry, coords);
  EXPECT_TRUE(q.ok()) << georel << " " << coords << ": " << q.status().detail();
  return q.ok() ? std::move(q).value() : GeoQuery();
}

std::set<uint64_t> candidates(const QueryIndex& index, const Point& p) {
  std::vector<uint64_t> out;
  index.candidates(Geometry(p), out);
  return {out.begin(), out.end()};
}

TEST(QueryIndexTest, ProposesTheQueriesAPointMayMatch) {
  QueryIndex index;
  // 1 km around Tokyo station, a polygon over Osaka's centre, and one across the antimeridian.
  EXPECT_TRUE(index.insert(1, query("near;maxDistance==1000", "Point", "[139.767,35.681]")));
  EXPECT_TRUE(index.insert(
      2, query("within", "Polygon", "[[[135.4,34.6],[135.6,34.6],[135.6,34.75],[135.4,34.6]]]")));
  EXPECT_TRUE(index.insert(3, query("near;maxDistance==50000", "Point", "[179.9,0]")));
  // Matches may lie anywhere: not taken, the caller tries them for every change.
  EXPECT_FALSE(index.insert(4, query("near;minDistance==1000", "Point", "[139.7,35.6]")));
  EXPECT_FALSE(index.insert(5, query("disjoint", "Point", "[139.7,35.6]")));
  EXPECT_EQ(index.size(), 3u);

  EXPECT_EQ(candidates(index, Point(139.768, 35.682)), (std::set<uint64_t>{1}));
  EXPECT_EQ(candidates(index, Point(135.5, 34.65)), (std::set<uint64_t>{2}));
  EXPECT_EQ(candidates(index, Point(-179.9, 0.1)), (std::set<uint64_t>{3}));
  EXPECT_TRUE(candidates(index, Point(10, 50)).empty());

  EXPECT_TRUE(index.remove(1));
  EXPECT_FALSE(index.remove(1));
  EXPECT_TRUE(candidates(index, Point(139.768, 35.682)).empty());
  // Re-inserting a key replaces its query.
  EXPECT_TRUE(index.insert(2, query("near;maxDistance==1000", "Point", "[10,50]")));
  EXPECT_TRUE(candidates(index, Point(135.5, 34.65)).empty());
  EXPECT_EQ(candidates(index, Point(10.001, 50.001)), (std::set<uint64_t>{2}));
}

TEST(QueryIndexTest, NeverMissesAMatchOverRandomQueriesAndPoints) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lon(139.5, 140.0), lat(35.5, 36.0), dist(50, 5000);
  std::vector<GeoQuery> queries;
  QueryIndex index;
  for (uint64_t k = 0; k < 2000; ++k) {
    std::string coords = "[" + std::to_string(lon(rng)) + "," + std::to_string(lat(rng)) + "]";
    queries.push_back(query("near;maxDistance==" + std::to_string(dist(rng)), "Point", coords));
    ASSERT_TRUE(index.insert(k, queries.back()));
  }
  size_t proposed = 0, matching = 0;
  for (int i = 0; i < 500; ++i) {
    Point p(lon(rng), lat(rng));
    std::set<uint64_t> got = candidates(index, p);
    proposed += got.size();
    for (uint64_t k = 0; k < queries.size(); ++k) {
      if (!matches(queries[k], Geometry(p))) continue;
      ++matching;
      EXPECT_TRUE(got.count(k)) << "query " << k << " matches but was not proposed";
    }
  }
  // The boxes are tight: most proposals are matches (a circle fills pi/4 of its box).
  EXPECT_LT(proposed, 2 * matching + 50);
}

}  // namespace
}  // namespace tsunagu::ngsild::geo
