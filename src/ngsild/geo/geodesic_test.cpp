// Distances on the WGS84 ellipsoid (near, orderBy=dist-asc) and the boxes an index prunes with:
// the geodesic half of geoquery.hpp, implemented in geodesic.cpp.
#include "ngsild/geo/algorithms.hpp"
#include "ngsild/geo/geoquery.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

namespace tsunagu::ngsild::geo {
namespace {

Geometry geom(std::string_view json) {
  auto g = parse_geojson_text(json);
  EXPECT_TRUE(g.ok()) << json << ": " << g.status().detail();
  return g.ok() ? std::move(g).value() : Geometry();
}

Geometry pt(double lon, double lat) {
  return Geometry(Point(lon, lat));
}

GeoQuery query(std::string_view georel, std::string_view geometry, std::string_view coords) {
  auto q = parse_geoquery(georel, geometry, coords);
  EXPECT_TRUE(q.ok()) << georel << " " << coords << ": " << q.status().detail();
  return q.ok() ? std::move(q).value() : GeoQuery();
}

// 179.999 and -179.999 on the equator are 222.64 m apart across the antimeridian.
TEST(GeodesicTest, NearCrossesTheAntimeridian) {
  Geometry east = pt(179.999, 0);
  EXPECT_TRUE(matches(query("near;maxDistance==300", "Point", "[-179.999,0]"), east));
  EXPECT_FALSE(matches(query("near;maxDistance==200", "Point", "[-179.999,0]"), east));
  EXPECT_TRUE(matches(query("near;minDistance==200", "Point", "[-179.999,0]"), east));
  EXPECT_FALSE(matches(query("near;minDistance==300", "Point", "[-179.999,0]"), east));
  SearchBoxes sb = search_boxes(query("near;maxDistance==300", "Point", "[-179.999,0]"));
  ASSERT_TRUE(sb.prunes);
  ASSERT_EQ(sb.count, 2);
  EXPECT_TRUE(bg::covered_by(Point(179.999, 0), sb.boxes[1]));
  EXPECT_TRUE(bg::covered_by(Point(-179.999, 0), sb.boxes[0]));
  EXPECT_FALSE(bg::covered_by(Point(179.99, 0), sb.boxes[1]));
}

// (0, 89.99) and (180, 89.99) are 2233.9 m apart over the pole; in degrees they are 180 apart.
TEST(GeodesicTest, NearAtHighLatitude) {
  Geometry a = pt(0, 89.99);
  EXPECT_TRUE(matches(query("near;maxDistance==2300", "Point", "[180,89.99]"), a));
  EXPECT_FALSE(matches(query("near;maxDistance==2200", "Point", "[180,89.99]"), a));
  SearchBoxes sb = search_boxes(query("near;maxDistance==2300", "Point", "[180,89.99]"));
  ASSERT_EQ(sb.count, 1);
  EXPECT_EQ(sb.boxes[0].min_corner().get<0>(), -180);
  EXPECT_EQ(sb.boxes[0].max_corner().get<0>(), 180);
  EXPECT_EQ(sb.boxes[0].max_corner().get<1>(), 90);
  // At 60 degrees a degree of longitude is half as long as at the equator: 50 km reaches about
  // 0.9 degrees of longitude but only 0.45 of latitude.
  sb = search_boxes(query("near;maxDistance==50000", "Point", "[10,60]"));
  ASSERT_EQ(sb.count, 1);
  double dlon = sb.boxes[0].max_corner().get<0>() - 10;
  double dlat = sb.boxes[0].max_corner().get<1>() - 60;
  EXPECT_GT(dlon, 0.89);
  EXPECT_LT(dlon, 0.95);
  EXPECT_GT(dlat, 0.44);
  EXPECT_LT(dlat, 0.47);
}

TEST(GeodesicTest, NearMeasuresToTheClosestPart) {
  Geometry square = geom(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})");
  EXPECT_TRUE(matches(query("near;maxDistance==0.001", "Point", "[0.5,0.5]"), square));  // inside
  EXPECT_TRUE(matches(query("near;maxDistance==111400", "Point", "[2,0.5]"), square));
  EXPECT_FALSE(matches(query("near;maxDistance==111200", "Point", "[2,0.5]"), square));
  Geometry gc = geom(R"({"type":"GeometryCollection","geometries":[)"
                     R"({"type":"Point","coordinates":[50,50]},)"
                     R"({"type":"Point","coordinates":[179.999,0]}]})");
  EXPECT_TRUE(matches(query("near;maxDistance==300", "Point", "[-179.999,0]"), gc));
  EXPECT_NEAR(distance_m(gc, pt(-179.999, 0)), 222.64, 0.01);
}

TEST(GeodesicTest, UnprunableQueriesSaySo) {
  EXPECT_FALSE(search_boxes(query("near;minDistance==10", "Point", "[0,0]")).prunes);
  EXPECT_FALSE(search_boxes(query("disjoint", "Point", "[0,0]")).prunes);
  SearchBoxes sb =
      search_boxes(query("within", "Polygon", "[[[0,0],[10,0],[10,10],[0,10],[0,0]]]"));
  ASSERT_TRUE(sb.prunes);
  ASSERT_EQ(sb.count, 1);
  EXPECT_TRUE(bg::equals(sb.boxes[0], Box(Point(0, 0), Point(10, 10))));
}

// A geodesic between two points at 60N bulges to 67.8N; index boxes must hold it.
TEST(GeodesicTest, IndexEnvelopeHoldsGeodesicSegments) {
  Box b = index_envelope(geom(R"({"type":"LineString","coordinates":[[0,60],[90,60]]})"));
  EXPECT_GT(b.max_corner().get<1>(), 67.8);
  b = index_envelope(geom(R"({"type":"LineString","coordinates":[[179,10],[-179,10]]})"));
  EXPECT_EQ(b.min_corner().get<0>(), -180);
  EXPECT_EQ(b.max_corner().get<0>(), 180);
}

// The haversine shortcut near takes for two points stays within its stated error of the
// ellipsoidal distance over the whole globe, from a metre to half the world (nearly antipodal
// pairs excepted: there Vincenty's method, the reference, does not converge).
TEST(GeodesicTest, SphereDistanceStaysWithinItsStatedError) {
  std::mt19937_64 rng(20261126);
  std::uniform_real_distribution<double> lon(-180, 180), lat(-89.9, 89.9), unit(0, 1);
  double worst = 0;
  for (int i = 0; i < 20000; ++i) {
    const double lon1 = lon(rng), lat1 = lat(rng);
    // Distances spread over eight orders of magnitude: offsets of 1e-5 to 90 degrees.
    const double reach = std::pow(10, -5 + 6.95 * unit(rng));
    const double lon2 = lon1 + reach * (2 * unit(rng) - 1);
    const double lat2 = std::clamp(lat1 + reach * (2 * unit(rng) - 1), -89.9, 89.9);
    const Geometry a = pt(lon1, lat1), b = pt(lon2 > 180 ? lon2 - 360 : lon2, lat2);
    const double d = distance_m(a, b);
    const auto s = sphere_distance_m(a, b);
    ASSERT_TRUE(s.has_value());
    if (d < 1) continue;
    worst = std::max(worst, std::abs(*s - d) / d);
    ASSERT_LE(std::abs(*s - d), kSphereError * d)
        << "(" << lon1 << "," << lat1 << ") to (" << lon2 << "," << lat2 << "): sphere " << *s
        << " m, ellipsoid " << d << " m";
  }
  EXPECT_GT(worst, 0.003);  // the check above is not vacuous: the two models do differ
  EXPECT_FALSE(sphere_distance_m(pt(0, 0), geom(R"({"type":"MultiPoint","coordinates":[[0,0]]})")));
}

// Near between two points decides on the ellipsoid even where the sphere would answer
// otherwise: a degree of latitude at the equator is 110,574 m on WGS84 and 111,195 m on the
// sphere.
TEST(GeodesicTest, NearBetweenPointsFollowsTheEllipsoidAtTheLimit) {
  const Geometry north = pt(0, 1);
  EXPECT_NEAR(distance_m(pt(0, 0), north), 110574.4, 0.5);
  EXPECT_TRUE(matches(query("near;maxDistance==111000", "Point", "[0,0]"), north));
  EXPECT_FALSE(matches(query("near;maxDistance==110500", "Point", "[0,0]"), north));
  EXPECT_FALSE(matches(query("near;minDistance==111000", "Point", "[0,0]"), north));
  EXPECT_TRUE(matches(query("near;minDistance==110500", "Point", "[0,0]"), north));
  // Random pairs with limits around their distance: the answer is always the ellipsoid's.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lon(-180, 180), lat(-89, 89), unit(0, 1);
  for (int i = 0; i < 5000; ++i) {
    const double lon1 = lon(rng), lat1 = lat(rng);
    const Geometry a = pt(lon1, lat1);
    const Geometry b = pt(std::clamp(lon1 + 0.1 * unit(rng), -180.0, 180.0),
                          std::clamp(lat1 + 0.1 * unit(rng), -90.0, 90.0));
    const double d = distance_m(a, b);
    const double limit = d * (0.97 + 0.06 * unit(rng));
    char coords[64];
    std::snprintf(coords, sizeof coords, "[%.17g,%.17g]", lon1, lat1);
    const std::string max = "near;maxDistance==" + std::to_string(limit);
    const std::string min = "near;minDistance==" + std::to_string(limit);
    const double l = std::stod(std::to_string(limit));
    ASSERT_EQ(matches(query(max, "Point", coords), b), d <= l) << max << " " << coords;
    ASSERT_EQ(matches(query(min, "Point", coords), b), d >= l) << min << " " << coords;
  }
}

// Reference distances computed once with PostGIS 3.3.2 (PROJ 9.1.1) on the WGS84 spheroid:
//   SELECT ST_Distance(ST_GeomFromText(a, 4326)::geography, ST_GeomFromText(b, 4326)::geography)
// for the WKT equivalents of the pairs below. PostGIS finds the closest point of an edge on the
// sphere and measures on the spheroid; Boost works on the ellipsoid throughout, hence the small
// differences for lines (largest: 0.12 % for the line along 60N).
TEST(GeodesicTest, DistancesAgreeWithPostgis) {
  struct Case {
    const char* a;
    const char* b;
    double postgis_m;
  };
  const Case cases[] = {
      // Tokyo - Osaka.
      {R"({"type":"Point","coordinates":[139.6917,35.6895]})",
       R"({"type":"Point","coordinates":[135.5023,34.6937]})", 397183.08621608},
      {R"({"type":"Point","coordinates":[179.999,0]})",
       R"({"type":"Point","coordinates":[-179.999,0]})", 222.63898159},
      {R"({"type":"Point","coordinates":[0,89.99]})",
       R"({"type":"Point","coordinates":[180,89.99]})", 2233.87959095},
      {R"({"type":"Point","coordinates":[10,78.2]})",
       R"({"type":"Point","coordinates":[15.6,78.2]})", 127842.68223734},
      {R"({"type":"Point","coordinates":[45,60]})",
       R"({"type":"LineString","coordinates":[[0,60],[90,60]]})", 868649.25548744},
      {R"({"type":"Point","coordinates":[2,0.5]})",
       R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})", 111315.28003165},
      {R"({"type":"LineString","coordinates":[[0,60],[90,60]]})",
       R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})", 6543498.31008407},
      // Tokyo - Sao Paulo.
      {R"({"type":"Point","coordinates":[139.6917,35.6895]})",
       R"({"type":"Point","coordinates":[-46.6333,-23.5505]})", 18530613.07457396},
      {R"({"type":"MultiPoint","coordinates":[[0,0],[10,10]]})",
       R"({"type":"Point","coordinates":[9,9.5]})", 122871.00537001},
      {R"({"type":"Point","coordinates":[139.7,35.7]})",
       R"({"type":"LineString","coordinates":[[139.75,35.6],[139.8,35.75]]})", 7276.41459652},
      {R"({"type":"Polygon","coordinates":[[[179,-1],[179.9,-1],[179.9,1],[179,1],[179,-1]]]})",
       R"({"type":"Polygon","coordinates":[[[-179.9,-1],[-179,-1],[-179,1],[-179.9,1],)"
       R"([-179.9,-1]]]})",
       22260.5299505},
      {R"({"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[5,5],[6,5]]]})",
       R"({"type":"Point","coordinates":[5.5,5.2]})", 22095.66300447},
      {R"({"type":"Point","coordinates":[-70,-60]})",
       R"({"type":"Polygon","coordinates":[[[-60,-62],[-50,-62],[-50,-58],[-60,-58],)"
       R"([-60,-62]]]})",
       555871.2752276},
  };
  double worst = 0;
  for (const Case& c : cases) {
    double d = distance_m(geom(c.a), geom(c.b));
    EXPECT_NEAR(d, c.postgis_m, c.postgis_m * 0.005) << c.a << " " << c.b;
    EXPECT_NEAR(distance_m(geom(c.b), geom(c.a)), d, 1e-6 * d);
    worst = std::max(worst, std::abs(d - c.postgis_m) / c.postgis_m);
  }
  EXPECT_LT(worst, 0.0015);
  // Nearly antipodal points on the equator: Vincenty does not converge and Boost returns the
  // length along the equator, short of the geodesic over the pole by at most the flattening
  // (0.34 %). PostGIS: 19980861.90889096 m.
  EXPECT_NEAR(distance_m(pt(0, 0), pt(179.5, 0)), 19980861.90889096, 19980861.90889096 * 0.005);
  const Geometry square =
      geom(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})");
  EXPECT_EQ(distance_m(pt(0.5, 0.5), square), 0);
}

}  // namespace
}  // namespace tsunagu::ngsild::geo
