#include "ngsild/geo/geoquery.hpp"
#include "ngsild/geo/algorithms.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

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

std::string error_of(std::string_view georel, std::string_view geometry, std::string_view coords) {
  auto q = parse_geoquery(georel, geometry, coords);
  if (q.ok()) return "ok";
  EXPECT_EQ(q.status().kind(), ErrorKind::kBadRequestData);
  return q.status().detail();
}

// A 10x10 square with a 2x2 hole in the middle.
constexpr std::string_view kHoled =
    "[[[0,0],[10,0],[10,10],[0,10],[0,0]],"
    "[[4,4],[4,6],[6,6],[6,4],[4,4]]]";

TEST(GeoQueryTest, ParsesEveryGeoRel) {
  GeoQuery q = query("near;maxDistance==1500.5", "Point", "[139.88,36.55]");
  EXPECT_EQ(q.rel, GeoRel::kNear);
  EXPECT_EQ(q.max_distance_m, 1500.5);
  EXPECT_FALSE(q.min_distance_m.has_value());
  EXPECT_EQ(q.geoproperty, "location");
  q = query("near;minDistance==0.5", "Point", "[0,0]");
  EXPECT_EQ(q.min_distance_m, 0.5);
  for (GeoRel r : {GeoRel::kWithin, GeoRel::kContains, GeoRel::kIntersects, GeoRel::kEquals,
                   GeoRel::kDisjoint, GeoRel::kOverlaps}) {
    EXPECT_EQ(query(georel_name(r), "Polygon", kHoled).rel, r);
  }
  EXPECT_EQ(to_geojson(query("within", "MultiPoint", "[[1,2],[3,4]]").geometry),
            R"({"type":"MultiPoint","coordinates":[[1,2],[3,4]]})");
}

TEST(GeoQueryTest, RejectsBadGeoRel) {
  EXPECT_EQ(error_of("nearby", "Point", "[0,0]"),
            "georel: 'nearby' is not a geo-relationship (near, within, contains, intersects, "
            "equals, disjoint, overlaps)");
  EXPECT_EQ(error_of("near", "Point", "[0,0]"),
            "georel: near needs ';maxDistance==<metres>' or ';minDistance==<metres>'");
  EXPECT_EQ(error_of("near;maxDistance==0", "Point", "[0,0]"),
            "georel: maxDistance '0' is not a positive number of metres");  // §4.10 PositiveNumber
  EXPECT_EQ(error_of("near;maxDistance==-5", "Point", "[0,0]"),
            "georel: maxDistance '-5' is not a positive number of metres");
  EXPECT_EQ(error_of("near;minDistance==abc", "Point", "[0,0]"),
            "georel: minDistance 'abc' is not a positive number of metres");
  EXPECT_EQ(error_of("near;maxDistance==", "Point", "[0,0]"),
            "georel: maxDistance '' is not a positive number of metres");
  EXPECT_EQ(error_of("near;maxDistance==10m", "Point", "[0,0]"),
            "georel: maxDistance '10m' is not a positive number of metres");
  EXPECT_EQ(error_of("near;maxDistance==inf", "Point", "[0,0]"),
            "georel: maxDistance 'inf' is not a positive number of metres");
  EXPECT_EQ(error_of("near;maxDistance==1e999", "Point", "[0,0]"),
            "georel: maxDistance '1e999' is not a positive number of metres");
  EXPECT_EQ(error_of("near;maxDistance:100", "Point", "[0,0]"),
            "georel: 'maxDistance:100' is not maxDistance==<metres> or minDistance==<metres>");
  EXPECT_EQ(error_of("near;distance==100", "Point", "[0,0]"),
            "georel: 'distance==100' is not maxDistance==<metres> or minDistance==<metres>");
  EXPECT_EQ(error_of("near;maxDistance==1;minDistance==0", "Point", "[0,0]"),
            "georel: near takes one distance, got 'maxDistance==1;minDistance==0'");
  EXPECT_EQ(error_of("within;maxDistance==1", "Point", "[0,0]"),
            "georel: 'within' takes no modifier, got 'maxDistance==1'");
}

TEST(GeoQueryTest, RejectsBadGeometryAndCoordinates) {
  EXPECT_EQ(error_of("", "Point", "[0,0]"), "georel is missing");
  EXPECT_EQ(error_of("within", "", "[0,0]"), "geometry is missing");
  EXPECT_EQ(error_of("within", "Point", ""), "coordinates is missing");
  EXPECT_EQ(error_of("within", "Circle", "[0,0]"),
            "geometry: 'Circle' is not a geo-query geometry (Point, MultiPoint, LineString, "
            "MultiLineString, Polygon, MultiPolygon)");
  EXPECT_EQ(error_of("within", "GeometryCollection", "[]"),
            "geometry: 'GeometryCollection' is not a geo-query geometry (Point, MultiPoint, "
            "LineString, MultiLineString, Polygon, MultiPolygon)");
  EXPECT_EQ(error_of("within", "Point", "[139.88,95]"),
            "coordinates[1]: latitude 95 is outside [-90, 90]");
  EXPECT_EQ(error_of("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,1]]]"),
            "coordinates: Polygon ring 0 is not closed (first and last positions differ)");
  EXPECT_EQ(error_of("within", "Point", "[1,2").substr(0, 27), "coordinates: malformed JSON");
}

TEST(GeoQueryTest, ParsesSubscriptionGeoQ) {
  JsonDoc doc;
  ASSERT_TRUE(parse_json(R"({"geometry":"Point","coordinates":[1,2],)"
                         R"("georel":"near;maxDistance==100","geoproperty":"observationSpace"})",
                         doc)
                  .ok());
  auto q = parse_geoquery_json(doc);
  ASSERT_TRUE(q.ok()) << q.status().detail();
  EXPECT_EQ(q->geoproperty, "observationSpace");
  EXPECT_EQ(q->max_distance_m, 100.0);
  // Some clients send the coordinates as JSON text, as in the query string.
  ASSERT_TRUE(
      parse_json(R"({"geometry":"Point","coordinates":"[1,2]","georel":"within"})", doc).ok());
  q = parse_geoquery_json(doc);
  ASSERT_TRUE(q.ok()) << q.status().detail();
  EXPECT_EQ(q->geoproperty, "location");
  EXPECT_EQ(to_geojson(q->geometry), R"({"type":"Point","coordinates":[1,2]})");

  auto error = [&](std::string_view json) {
    JsonDoc d;
    EXPECT_TRUE(parse_json(json, d).ok());
    auto r = parse_geoquery_json(d);
    return r.ok() ? std::string("ok") : r.status().detail();
  };
  EXPECT_EQ(error(R"({"geometry":"Point","coordinates":[1,2]})"), "georel is missing");
  EXPECT_EQ(error(R"({"georel":"within","coordinates":[1,2]})"), "geometry is missing");
  EXPECT_EQ(error(R"({"georel":"within","geometry":"Point"})"), "coordinates is missing");
  EXPECT_EQ(error(R"({"georel":5,"geometry":"Point","coordinates":[1,2]})"),
            "georel must be a string, got number");
  EXPECT_EQ(error(R"({"georel":"within","geometry":"Point","coordinates":[1,2],"geoproperty":""})"),
            "geoproperty must not be empty");
  EXPECT_EQ(error(R"({"georel":"within","geometry":"Point","coordinates":"[1,-91]"})"),
            "coordinates[1]: latitude -91 is outside [-90, 90]");
  EXPECT_EQ(error(R"([])"), "must be a JSON object, got array");
}

// Expected values were checked against PostGIS 3.3 / GEOS 3.11:
//   SELECT ST_Within(e, q), ST_Contains(e, q), ST_Intersects(e, q), ST_Equals(e, q),
//          ST_Disjoint(e, q), ST_Overlaps(e, q) FROM ... (geometry, SRID 4326)
// with q = POLYGON((0 0,10 0,10 10,0 10,0 0),(4 4,4 6,6 6,6 4,4 4)).
TEST(GeoQueryTest, PlanarRelationsFollowPostgis) {
  struct Case {
    const char* name;
    std::string entity;
    const char* expected;  // within contains intersects equals disjoint overlaps
  };
  const Case cases[] = {
      {"inside", R"({"type":"Point","coordinates":[2,2]})", "TFTFFF"},
      {"in the hole", R"({"type":"Point","coordinates":[5,5]})", "FFFFTF"},
      {"on the outer boundary", R"({"type":"Point","coordinates":[10,5]})", "FFTFFF"},
      {"on the hole boundary", R"({"type":"Point","coordinates":[4,5]})", "FFTFFF"},
      {"outside", R"({"type":"Point","coordinates":[12,5]})", "FFFFTF"},
      {"small square inside",
       R"({"type":"Polygon","coordinates":[[[1,1],[3,1],[3,3],[1,3],[1,1]]]})", "TFTFFF"},
      {"square over the hole",
       R"({"type":"Polygon","coordinates":[[[3,3],[5,3],[5,5],[3,5],[3,3]]]})", "FFTFFT"},
      {"square over the corner",
       R"({"type":"Polygon","coordinates":[[[8,8],[12,8],[12,12],[8,12],[8,8]]]})", "FFTFFT"},
      {"line into it", R"({"type":"LineString","coordinates":[[-1,5],[1,5]]})", "FFTFFF"},
      {"same shape, other start",
       R"({"type":"Polygon","coordinates":[[[10,10],[0,10],[0,0],[10,0],[10,10]],)"
       R"([[4,4],[4,6],[6,6],[6,4],[4,4]]]})",
       "TTTTFF"},
      {"without the hole",
       R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]})", "FTTFFF"},
      {"collection half outside",
       R"({"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[2,2]},)"
       R"({"type":"LineString","coordinates":[[20,20],[21,21]]}]})",
       "FFTFFF"},
      {"multipoint touching the boundary", R"({"type":"MultiPoint","coordinates":[[2,2],[10,5]]})",
       "TFTFFF"},
      {"collection touching the boundary",
       R"({"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[2,2]},)"
       R"({"type":"Point","coordinates":[10,5]}]})",
       "TFTFFF"},
  };
  const GeoRel rels[] = {GeoRel::kWithin, GeoRel::kContains, GeoRel::kIntersects,
                         GeoRel::kEquals, GeoRel::kDisjoint, GeoRel::kOverlaps};
  for (const Case& c : cases) {
    Geometry e = geom(c.entity);
    for (int i = 0; i < 6; ++i) {
      GeoQuery q = query(georel_name(rels[i]), "Polygon", kHoled);
      EXPECT_EQ(matches(q, e), c.expected[i] == 'T') << c.name << " " << georel_name(rels[i]);
    }
  }
}

TEST(GeoQueryTest, ContainsTakesTheEntityAsSubject) {
  Geometry holed =
      geom(std::string(R"({"type":"Polygon","coordinates":)") + std::string(kHoled) + "}");
  EXPECT_TRUE(matches(query("contains", "Point", "[2,2]"), holed));
  EXPECT_FALSE(matches(query("contains", "Point", "[10,5]"), holed));  // boundary
  EXPECT_FALSE(matches(query("contains", "Point", "[5,5]"), holed));   // hole
  EXPECT_TRUE(matches(query("contains", "LineString", "[[1,1],[3,3]]"), holed));
  Geometry two = geom(R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],)"
                      R"([[[20,20],[21,20],[21,21],[20,21],[20,20]]]]})");
  EXPECT_TRUE(matches(query("contains", "Point", "[20.5,20.5]"), two));
  EXPECT_TRUE(
      matches(query("within", "Polygon", "[[[-1,-1],[30,-1],[30,30],[-1,30],[-1,-1]]]"), two));
  EXPECT_FALSE(matches(query("within", "Polygon", "[[[-1,-1],[5,-1],[5,5],[-1,5],[-1,-1]]]"), two));
}

TEST(GeoQueryTest, LinesOverlapOnlyAlongEachOther) {
  Geometry line = geom(R"({"type":"LineString","coordinates":[[0,0],[2,0]]})");
  EXPECT_TRUE(matches(query("overlaps", "LineString", "[[1,0],[3,0]]"), line));
  EXPECT_FALSE(matches(query("overlaps", "LineString", "[[1,-1],[1,1]]"), line));  // crosses
  EXPECT_TRUE(matches(query("intersects", "LineString", "[[1,-1],[1,1]]"), line));
  EXPECT_TRUE(matches(query("equals", "LineString", "[[2,0],[0,0]]"), line));
  EXPECT_TRUE(matches(query("equals", "Point", "[1,2]"), pt(1, 2)));
  EXPECT_FALSE(matches(query("equals", "Point", "[1,2.000001]"), pt(1, 2)));
}

// Regression: relations were wrong when a vertex lies exactly on another shape's slanted edge
// (found by tests/integration/test_differential.py). Boost.Geometry snapped both polygons onto
// its own grid before relating them, which moved the vertex off the edge. Both shapes below
// touch at that one point. Expected values from PostGIS 3.3.2 (GEOS 3.11.1):
//   SELECT ST_Overlaps(e, q), ST_Intersects(e, q), ST_Disjoint(e, q), ST_Relate(e, q)
//   FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(<entity>), 4326) AS e,
//                ST_SetSRID(ST_GeomFromGeoJSON(<query>), 4326) AS q) AS pair;
// which give f, t, f, FF2F01212 for both.
TEST(GeoQueryTest, VertexOnDiagonalEdgeTouches) {
  // The rectangle's corner (-3.453125, 40.421875) lies on the triangle's edge.
  Geometry triangle = geom(R"({"type":"Polygon","coordinates":[[[-3.46875,40.375],)"
                           R"([-3.4375,40.375],[-3.46875,40.46875],[-3.46875,40.375]]]})");
  constexpr std::string_view kRectangle =
      "[[[-3.453125,40.421875],[-3.421875,40.421875],[-3.421875,40.515625],"
      "[-3.453125,40.515625],[-3.453125,40.421875]]]";
  EXPECT_FALSE(matches(query("overlaps", "Polygon", kRectangle), triangle));
  EXPECT_TRUE(matches(query("intersects", "Polygon", kRectangle), triangle));
  EXPECT_FALSE(matches(query("disjoint", "Polygon", kRectangle), triangle));
  EXPECT_EQ(de9im(triangle.lattice(), query("overlaps", "Polygon", kRectangle).geometry.lattice()),
            "FF2F01212");
  // The mirror case: the entity's corner (139.734375, 35.671875) on the query triangle's edge.
  Geometry rectangle =
      geom(R"({"type":"Polygon","coordinates":[[[139.734375,35.671875],[139.796875,35.671875],)"
           R"([139.796875,35.71875],[139.734375,35.71875],[139.734375,35.671875]]]})");
  constexpr std::string_view kTriangle =
      "[[[139.671875,35.4375],[140.046875,35.4375],[139.671875,35.71875],[139.671875,35.4375]]]";
  EXPECT_FALSE(matches(query("disjoint", "Polygon", kTriangle), rectangle));
  EXPECT_TRUE(matches(query("intersects", "Polygon", kTriangle), rectangle));
  EXPECT_FALSE(matches(query("overlaps", "Polygon", kTriangle), rectangle));
  EXPECT_EQ(de9im(rectangle.lattice(), query("disjoint", "Polygon", kTriangle).geometry.lattice()),
            "FF2F01212");
}

// More shapes meeting the slanted edge of the triangle above, from (-3.4375, 40.375) to
// (-3.46875, 40.46875), at (-3.453125, 40.421875) and (-3.4453125, 40.3984375) which lie exactly
// on it (all these numbers are exact in binary and on the 1e-7 degree lattice). Expected values
// from PostGIS 3.3.2 (GEOS 3.11.1), with e and q as in the test above:
//   SELECT ST_Within(e, q), ST_Contains(e, q), ST_Intersects(e, q), ST_Equals(e, q),
//          ST_Disjoint(e, q), ST_Overlaps(e, q), ST_Relate(e, q) FROM ...
TEST(GeoQueryTest, VertexOnDiagonalEdgeAgreesWithPostgis) {
  constexpr std::string_view kTriangle =
      "[[[-3.46875,40.375],[-3.4375,40.375],[-3.46875,40.46875],[-3.46875,40.375]]]";
  constexpr std::string_view kEdge = "[[-3.4375,40.375],[-3.46875,40.46875]]";
  struct Case {
    const char* name;
    const char* entity;
    const char* geometry;  // of the query
    std::string_view coordinates;
    const char* expected;  // within contains intersects equals disjoint overlaps
    const char* de9im;
  };
  const Case cases[] = {
      {"point on the edge", R"({"type":"Point","coordinates":[-3.453125,40.421875]})", "Polygon",
       kTriangle, "FFTFFF", "F0FFFF212"},
      {"one point on the edge, one inside",
       R"({"type":"MultiPoint","coordinates":[[-3.453125,40.421875],[-3.4609375,40.390625]]})",
       "Polygon", kTriangle, "TFTFFF", "00FFFF212"},
      {"line ending on the edge from outside",
       R"({"type":"LineString","coordinates":[[-3.453125,40.421875],[-3.4375,40.4375]]})",
       "Polygon", kTriangle, "FFTFFF", "FF1F00212"},
      {"line crossing the edge at a vertex",
       R"({"type":"LineString","coordinates":[[-3.4609375,40.40625],[-3.453125,40.421875],)"
       R"([-3.4375,40.4375]]})",
       "Polygon", kTriangle, "FFTFFF", "1010F0212"},
      {"line along part of the edge",
       R"({"type":"LineString","coordinates":[[-3.4453125,40.3984375],[-3.453125,40.421875]]})",
       "Polygon", kTriangle, "FFTFFF", "F1FF0F212"},
      {"triangle inside, touching the edge at a vertex",
       R"({"type":"Polygon","coordinates":[[[-3.46875,40.375],[-3.453125,40.390625],)"
       R"([-3.453125,40.421875],[-3.46875,40.375]]]})",
       "Polygon", kTriangle, "TFTFFF", "2FF10F212"},
      {"triangle outside, sharing part of the edge",
       R"({"type":"Polygon","coordinates":[[[-3.4453125,40.3984375],[-3.4375,40.4375],)"
       R"([-3.453125,40.421875],[-3.4453125,40.3984375]]]})",
       "Polygon", kTriangle, "FFTFFF", "FF2F11212"},
      {"triangle inside, sharing part of the edge",
       R"({"type":"Polygon","coordinates":[[[-3.4453125,40.3984375],[-3.453125,40.421875],)"
       R"([-3.46875,40.375],[-3.4453125,40.3984375]]]})",
       "Polygon", kTriangle, "TFTFFF", "2FF11F212"},
      {"triangles sharing only a vertex",
       R"({"type":"Polygon","coordinates":[[[-3.453125,40.421875],[-3.4375,40.4375],)"
       R"([-3.453125,40.46875],[-3.453125,40.421875]]]})",
       "Polygon", "[[[-3.46875,40.375],[-3.4375,40.375],[-3.453125,40.421875],[-3.46875,40.375]]]",
       "FFTFFF", "FF2F01212"},
      {"the same triangle with two more vertices on the edge",
       R"({"type":"Polygon","coordinates":[[[-3.46875,40.375],[-3.4375,40.375],)"
       R"([-3.4453125,40.3984375],[-3.453125,40.421875],[-3.46875,40.46875],[-3.46875,40.375]]]})",
       "Polygon", kTriangle, "TTTTFF", "2FFF1FFF2"},
      {"triangle across the edge, with a vertex on it",
       R"({"type":"Polygon","coordinates":[[[-3.453125,40.421875],[-3.4375,40.4375],)"
       R"([-3.4609375,40.4375],[-3.453125,40.421875]]]})",
       "Polygon", kTriangle, "FFTFFT", "212101212"},
      {"lines crossing on the edge",
       R"({"type":"LineString","coordinates":[[-3.46875,40.375],[-3.4375,40.46875]]})",
       "LineString", kEdge, "FFTFFF", "0F1FF0102"},
      {"line ending inside the edge",
       R"({"type":"LineString","coordinates":[[-3.453125,40.421875],[-3.4375,40.4375]]})",
       "LineString", kEdge, "FFTFFF", "FF10F0102"},
      {"lines overlapping along the edge",
       R"({"type":"LineString","coordinates":[[-3.4453125,40.3984375],[-3.4609375,40.4453125]]})",
       "LineString", "[[-3.4375,40.375],[-3.453125,40.421875]]", "FFTFFT", "1010F0102"},
  };
  const GeoRel rels[] = {GeoRel::kWithin, GeoRel::kContains, GeoRel::kIntersects,
                         GeoRel::kEquals, GeoRel::kDisjoint, GeoRel::kOverlaps};
  for (const Case& c : cases) {
    Geometry e = geom(c.entity);
    for (int i = 0; i < 6; ++i) {
      GeoQuery q = query(georel_name(rels[i]), c.geometry, c.coordinates);
      EXPECT_EQ(matches(q, e), c.expected[i] == 'T') << c.name << " " << georel_name(rels[i]);
    }
    GeoQuery q = query("within", c.geometry, c.coordinates);
    EXPECT_EQ(de9im(e.lattice(), q.geometry.lattice()), c.de9im) << c.name;
  }
}

// PointMatcher decides what matches() decides, for every georel and query shape: random points
// around each query, and the positions that sit exactly on its vertices and edges (a point on a
// ring is on the boundary: intersects, not within), including slanted edges and holes.
TEST(GeoQueryTest, PointMatcherAgreesWithMatches) {
  struct Shape {
    const char* geometry;
    std::string_view coordinates;
  };
  // Many parts, squares in a checkerboard meeting at their corners: PointMatcher walks only the
  // parts whose box holds a point.
  static const std::string kCheckerboard = [] {
    std::string out = "[";
    for (int x = 0; x < 6; ++x) {
      for (int y = x % 2; y < 6; y += 2) {
        if (out.size() > 1) out += ",";
        auto at = [](int a, int b) {
          return "[" + std::to_string(a) + "," + std::to_string(b) + "]";
        };
        out += "[[" + at(x, y) + "," + at(x + 1, y) + "," + at(x + 1, y + 1) + "," + at(x, y + 1) +
               "," + at(x, y) + "]]";
      }
    }
    return out + "]";
  }();
  const Shape shapes[] = {
      {"MultiPolygon", kCheckerboard},
      {"Polygon", kHoled},
      {"Polygon", "[[[-3.46875,40.375],[-3.4375,40.375],[-3.46875,40.46875],[-3.46875,40.375]]]"},
      {"MultiPolygon",
       "[[[[0,0],[4,0],[4,4],[0,4],[0,0]]],[[[4,4],[8,4],[6,9],[4,4]]],"
       "[[[20,20],[30,20],[30,30],[20,30],[20,20]],[[22,22],[22,28],[28,28],[22,22]]]]"},
      {"Point", "[5,5]"},
      {"MultiPoint", "[[5,5],[4,4]]"},
      {"LineString", "[[0,0],[10,10],[20,0]]"},
      // Wider than 2^31 lattice units of longitude: decided on halved longitudes.
      {"Polygon", "[[[-170,-10],[170,-10],[170,10],[-170,10],[-170,-10]]]"},
  };
  const char* rels[] = {"within",
                        "contains",
                        "intersects",
                        "equals",
                        "disjoint",
                        "overlaps",
                        "near;maxDistance==200000",
                        "near;minDistance==200000"};
  std::mt19937 rng(7);
  size_t compared = 0, hits = 0;
  for (const auto& shape : shapes) {
    for (const char* rel : rels) {
      auto parsed = parse_geoquery(rel, shape.geometry, shape.coordinates);
      ASSERT_TRUE(parsed.ok()) << rel << " " << shape.coordinates;
      const GeoQuery& q = *parsed;
      const PointMatcher matcher(q);
      // Positions on the query: its vertices, and points along each segment at eighths.
      std::vector<Point> probes;
      std::visit(
          [&](const auto& g) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(g)>, GeometryCollection>) {
              bg::for_each_point(g, [&](const Point& p) { probes.push_back(p); });
              bg::for_each_segment(g, [&](const auto& seg) {
                for (int k = 1; k < 8; ++k) {
                  probes.emplace_back(
                      bg::get<0, 0>(seg) + (bg::get<1, 0>(seg) - bg::get<0, 0>(seg)) * k / 8,
                      bg::get<0, 1>(seg) + (bg::get<1, 1>(seg) - bg::get<0, 1>(seg)) * k / 8);
                }
              });
            }
          },
          q.geometry.shape());
      const Box box = envelope(q.geometry);
      std::uniform_real_distribution<double> lon(bg::get<bg::min_corner, 0>(box) - 3,
                                                 bg::get<bg::max_corner, 0>(box) + 3);
      std::uniform_real_distribution<double> lat(bg::get<bg::min_corner, 1>(box) - 3,
                                                 bg::get<bg::max_corner, 1>(box) + 3);
      for (int i = 0; i < 400; ++i)
        probes.emplace_back(lon(rng), std::clamp(lat(rng), -90.0, 90.0));
      for (const Point& p : probes) {
        const bool expected = matches(q, Geometry(p));
        EXPECT_EQ(matcher.matches(p), expected)
            << rel << " " << shape.geometry << " " << shape.coordinates << " at " << bg::get<0>(p)
            << "," << bg::get<1>(p);
        ++compared;
        hits += expected;
      }
    }
  }
  // The probes reach both answers, so agreeing is not agreeing on "false".
  EXPECT_GT(hits, compared / 10);
  EXPECT_LT(hits, compared - compared / 10);
}

// Points exactly on an area's rings, decided by the crossing test alone.
TEST(GeoQueryTest, LocatesPointsOnRings) {
  const GeoQuery q = query("within", "Polygon", kHoled);
  const auto& poly = std::get<LatticePolygon>(q.geometry.lattice());
  auto at = [&](double lon, double lat) { return locate(on_lattice(Point(lon, lat)), poly); };
  EXPECT_EQ(at(2, 2), 1);
  EXPECT_EQ(at(0, 5), 0);    // outer ring, on an edge
  EXPECT_EQ(at(10, 10), 0);  // outer ring, a vertex
  EXPECT_EQ(at(5, 5), -1);   // in the hole
  EXPECT_EQ(at(4, 5), 0);    // the hole's ring
  EXPECT_EQ(at(6, 6), 0);    // the hole's vertex
  EXPECT_EQ(at(11, 5), -1);
  EXPECT_EQ(at(-1, 0), -1);  // on the row of the bottom edge, left of it
  EXPECT_EQ(at(5, 0.0000001), 1);
  EXPECT_EQ(at(5, -0.0000001), -1);
}

}  // namespace
}  // namespace tsunagu::ngsild::geo
