#include "ngsild/geo/geometry.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <type_traits>

#include "common/test_random.hpp"
#include "ngsild/geo/algorithms.hpp"

namespace tsunagu::ngsild::geo {
namespace {

// The detail of the error parse_geojson_text reports, or "ok".
std::string error_of(std::string_view json) {
  auto g = parse_geojson_text(json);
  if (g.ok()) return "ok";
  EXPECT_EQ(g.status().kind(), ErrorKind::kBadRequestData);
  return g.status().detail();
}

std::string round_trip(std::string_view json) {
  auto g = parse_geojson_text(json);
  EXPECT_TRUE(g.ok()) << g.status().detail();
  return g.ok() ? to_geojson(*g) : "";
}

static_assert(std::is_nothrow_move_constructible_v<Geometry>);
static_assert(std::is_copy_constructible_v<Geometry>);

TEST(GeometryTest, RoundTripsEveryType) {
  const char* texts[] = {
      R"({"type":"Point","coordinates":[139.88,36.55]})",
      R"({"type":"Point","coordinates":[-0.1,51.5,35.25]})",
      R"({"type":"MultiPoint","coordinates":[[1,2],[3,4,5]]})",
      R"({"type":"LineString","coordinates":[[0,0],[1,1],[2,0.5]]})",
      R"({"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[2,2],[3,3]]]})",
      R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],)"
      R"([[2,2],[2,4],[4,4],[4,2],[2,2]]]})",
      R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],)"
      R"([[[5,5],[6,5],[6,6],[5,5]]]]})",
      R"({"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]},)"
      R"({"type":"GeometryCollection","geometries":[{"type":"LineString",)"
      R"("coordinates":[[0,0],[1,1]]}]}]})",
  };
  for (const char* t : texts)
    EXPECT_EQ(round_trip(t), t);
}

TEST(GeometryTest, RendersShortestRoundTripNumbers) {
  EXPECT_EQ(round_trip(R"({"type": "Point", "coordinates": [ 139.8800000, 3.6e1 ]})"),
            R"({"type":"Point","coordinates":[139.88,36]})");
  auto g = parse_geojson_text(R"({"type":"Point","coordinates":[0.1,0.30000000000000004]})");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(to_geojson(*g), R"({"type":"Point","coordinates":[0.1,0.30000000000000004]})");
}

// A 2D Point as the store writes it is read without a DOM: every text must give what the
// general reader gives, bit for bit, or the same error.
TEST(GeometryTest, PointTextReadsLikeTheGeneralReader) {
  auto general = [](const std::string& t) -> Result<Geometry> {
    JsonDoc d;
    TSUNAGU_RETURN_IF_ERROR(parse_json(t, d));
    return parse_geojson(d);
  };
  auto bits = [](double d) { return std::bit_cast<uint64_t>(d); };
  int compared = 0;
  auto same = [&](const std::string& x, const std::string& y) {
    const std::string t = R"({"type":"Point","coordinates":[)" + x + "," + y + "]}";
    auto a = parse_geojson_text(t);
    auto b = general(t);
    ASSERT_EQ(a.ok(), b.ok()) << t;
    if (!a.ok()) {
      EXPECT_EQ(a.status().detail(), b.status().detail()) << t;
      return;
    }
    const Point* pa = a->get_if<Point>();
    const Point* pb = b->get_if<Point>();
    ASSERT_TRUE(pa != nullptr && pb != nullptr) << t;
    EXPECT_EQ(bits(pa->get<0>()), bits(pb->get<0>())) << t;
    EXPECT_EQ(bits(pa->get<1>()), bits(pb->get<1>())) << t;
    EXPECT_EQ(a->altitudes().size(), b->altitudes().size()) << t;
    EXPECT_EQ(to_geojson(*a), to_geojson(*b)) << t;
    ++compared;
  };
  auto text = [](double d) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
  };
  testing::Xorshift next(0x9e3779b97f4a7c15ull);
  for (int i = 0; i < 20000; ++i) {
    double lon = next.unit() * 360 - 180, lat = next.unit() * 180 - 90;
    const double scale = std::pow(10.0, static_cast<int>(next() % 9));
    if (i % 2) lon = std::round(lon * scale) / scale, lat = std::round(lat * scale) / scale;
    same(text(lon), text(lat));
  }
  EXPECT_EQ(compared, 20000);
  for (const char* n : {"0", "-0", "-0.0", "-0e0", "0.0", "1e2", "1E+2", "-1.5e-3", "180", "-180.0",
                        "90", "1234567890123456789012", "0.30000000000000004"}) {
    same(n, "45");
    same("45", n);
  }
  // Out of range, not JSON, or not a number: the general reader's error.
  for (const char* n : {"181", "-180.0000001", "1e400", "01", "1.", ".5", "+1", "-", "1e", "nan",
                        "inf", "0x10", "1 ", "\"1\"", "[1]", "null"}) {
    same(n, "45");
    same("45", n);
  }
  // Not in the store's form: read by the general reader all the same.
  EXPECT_EQ(round_trip(R"({"type":"Point","coordinates":[1,2,3]})"),
            R"({"type":"Point","coordinates":[1,2,3]})");
  EXPECT_EQ(round_trip(R"({"type":"Point","coordinates":[1, 2]})"),
            R"({"type":"Point","coordinates":[1,2]})");
  EXPECT_EQ(round_trip(R"({"coordinates":[1,2],"type":"Point"})"),
            R"({"type":"Point","coordinates":[1,2]})");
  EXPECT_NE(error_of(R"({"type":"Point","coordinates":[1]})"), "ok");
  EXPECT_FALSE(parse_geojson_text(R"({"type":"Point","coordinates":[1,2]}x)").ok());
}

// Issue 14, item 8: one geometry's size is what every check and match against it costs, so it
// is bounded (--max-geometry-positions), over all its parts.
TEST(GeometryTest, AGeometryOfTooManyPositionsIsRefused) {
  set_max_positions(9);
  const std::string square = "[[0,0],[1,0],[1,1],[0,1],[0,0]]";
  auto nine = parse_geojson_text(R"({"type":"MultiLineString","coordinates":[)" + square + "," +
                                 square.substr(0, square.size() - 7) + "]]}");
  auto ten = parse_geojson_text(R"({"type":"MultiPolygon","coordinates":[[)" + square + "],[" +
                                R"([[5,5],[6,5],[6,6],[5,6],[5,5]]]]})");
  set_max_positions(100000);
  EXPECT_TRUE(nine.ok()) << nine.status().detail();
  ASSERT_FALSE(ten.ok());
  EXPECT_EQ(ten.status().kind(), ErrorKind::kBadRequestData);
  EXPECT_EQ(ten.status().detail(),
            "coordinates[1][0][4]: the geometry has more than 9 positions, the most this server "
            "takes (--max-geometry-positions)");
}

TEST(GeometryTest, IgnoresBboxAndForeignMembers) {
  EXPECT_EQ(round_trip(R"({"bbox":[1,2,1,2],"type":"Point","coordinates":[1,2],"x":{}})"),
            R"({"type":"Point","coordinates":[1,2]})");
}

// RFC 7946 §3.1.6: parsers must not reject clockwise exteriors; we store (and render) the
// right-hand rule and carry the altitudes along with their positions.
TEST(GeometryTest, ReorientsRingsToTheRightHandRule) {
  EXPECT_EQ(round_trip(R"({"type":"Polygon","coordinates":[[[0,0,1],[0,10,2],[10,10,3],)"
                       R"([10,0,4],[0,0,1]],[[2,2],[4,2],[4,4],[2,4],[2,2]]]})"),
            R"({"type":"Polygon","coordinates":[[[0,0,1],[10,0,4],[10,10,3],[0,10,2],)"
            R"([0,0,1]],[[2,2],[2,4],[4,4],[4,2],[2,2]]]})");
}

TEST(GeometryTest, KeepsAltitudesPerPosition) {
  auto g = parse_geojson_text(R"({"type":"LineString","coordinates":[[0,0],[1,1,7]]})");
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->altitudes().size(), 2u);
  EXPECT_TRUE(std::isnan(g->altitudes()[0]));
  EXPECT_EQ(g->altitudes()[1], 7);
  auto flat = parse_geojson_text(R"({"type":"LineString","coordinates":[[0,0],[1,1]]})");
  ASSERT_TRUE(flat.ok());
  EXPECT_TRUE(flat->altitudes().empty());
}

TEST(GeometryTest, RejectsCoordinatesOutOfRange) {
  EXPECT_EQ(error_of(R"({"type":"LineString","coordinates":[[0,0],[1,1],[2,95]]})"),
            "coordinates[2][1]: latitude 95 is outside [-90, 90]");
  EXPECT_EQ(error_of(R"({"type":"Point","coordinates":[180.5,0]})"),
            "coordinates[0]: longitude 180.5 is outside [-180, 180]");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,-90.01],[0,0]]]})"),
            "coordinates[0][2][1]: latitude -90.01 is outside [-90, 90]");
  EXPECT_EQ(error_of(R"({"type":"Point","coordinates":[-180,90]})"), "ok");
}

TEST(GeometryTest, RejectsMalformedPositions) {
  EXPECT_EQ(error_of(R"({"type":"Point","coordinates":[1,2,3,4]})"),
            "coordinates: a position needs 2 or 3 numbers");
  EXPECT_EQ(error_of(R"({"type":"LineString","coordinates":[[1,2],[3]]})"),
            "coordinates[1]: a position needs 2 or 3 numbers");
  EXPECT_EQ(error_of(R"({"type":"MultiPoint","coordinates":[[1,"2"]]})"),
            "coordinates[0][1]: must be a number, got string");
  EXPECT_EQ(error_of(R"({"type":"Point","coordinates":[[1,2]]})"),
            "coordinates[0]: must be a number, got array");
  EXPECT_EQ(error_of(R"({"type":"Point","coordinates":"1,2"})"),
            "coordinates: a position must be an array of numbers, got string");
  EXPECT_EQ(error_of(R"({"type":"LineString","coordinates":[1,2]})"),
            "coordinates[0]: a position must be an array of numbers, got number");
  EXPECT_EQ(error_of(R"({"type":"LineString","coordinates":{}})"),
            "coordinates: must be an array of positions, got object");
  EXPECT_EQ(error_of(R"({"type":"Point","coordinates":[1,2,null]})"),
            "coordinates[2]: must be a number, got null");
}

TEST(GeometryTest, RejectsBadTypeAndMissingMembers) {
  EXPECT_EQ(error_of(R"({"type":"Circle","coordinates":[1,2]})"),
            "type 'Circle' is not a GeoJSON geometry type");
  EXPECT_EQ(error_of(R"({"type":"point","coordinates":[1,2]})"),
            "type 'point' is not a GeoJSON geometry type");
  EXPECT_EQ(error_of(R"({"coordinates":[1,2]})"), "type is missing");
  EXPECT_EQ(error_of(R"({"type":7})"), "type must be a string, got number");
  EXPECT_EQ(error_of(R"({"type":"Point"})"), "coordinates is missing");
  EXPECT_EQ(error_of(R"({"type":"GeometryCollection"})"), "geometries is missing");
  EXPECT_EQ(error_of(R"([1,2])"), "a GeoJSON geometry must be a JSON object, got array");
  // Malformed text is parse_json's to report.
  EXPECT_FALSE(parse_geojson_text("{\"type\":").ok());
}

TEST(GeometryTest, RejectsShortOrEmptyGeometries) {
  EXPECT_EQ(error_of(R"({"type":"LineString","coordinates":[[1,2]]})"),
            "coordinates: LineString needs at least 2 positions");
  EXPECT_EQ(error_of(R"({"type":"LineString","coordinates":[[1,2],[1,2]]})"),
            "coordinates: LineString needs at least 2 distinct positions");
  EXPECT_EQ(error_of(R"({"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[1,2]]]})"),
            "coordinates[1]: LineString needs at least 2 positions");
  EXPECT_EQ(error_of(R"({"type":"MultiPoint","coordinates":[]})"),
            "coordinates: MultiPoint needs at least 1 position");
  EXPECT_EQ(error_of(R"({"type":"MultiLineString","coordinates":[]})"),
            "coordinates: MultiLineString needs at least 1 LineString");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[]})"),
            "coordinates: Polygon needs at least 1 ring");
  EXPECT_EQ(error_of(R"({"type":"MultiPolygon","coordinates":[]})"),
            "coordinates: MultiPolygon needs at least 1 Polygon");
  EXPECT_EQ(error_of(R"({"type":"GeometryCollection","geometries":[]})"),
            "geometries: GeometryCollection needs at least 1 geometry");
}

TEST(GeometryTest, RejectsInvalidPolygons) {
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]})"),
            "coordinates: Polygon ring 0 is not closed (first and last positions differ)");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]})"),
            "coordinates: Polygon ring 0 needs at least 4 positions");
  // A bow tie.
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,2],[0,0]]]})"),
            "coordinates: polygon ring 0 crosses itself");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],)"
                     R"([[2,2],[4,2],[4,4],[2,2],[2,2.5]]]})"),
            "coordinates: Polygon ring 1 is not closed (first and last positions differ)");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],)"
                     R"([[20,20],[22,20],[22,22],[20,20]]]})"),
            "coordinates: Polygon ring 1 lies outside ring 0");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[4,4],[4,0],[0,2],[0,0]]]})"),
            "coordinates: polygon ring 0 crosses itself");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[1,1],[2,2],[0,0]]]})"),
            "coordinates: Polygon ring 0 has a spike (it turns back on itself)");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[0,0],[0,0],[0,0]]]})"),
            "coordinates: Polygon ring 0 encloses no area");
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0,5]]]})"),
            "coordinates: Polygon ring 0 is not closed (first and last positions differ)");
}

TEST(GeometryTest, RejectsOverlappingMultiPolygon) {
  EXPECT_EQ(error_of(R"({"type":"MultiPolygon","coordinates":[[[[0,0],[2,0],[2,2],[0,0]]],)"
                     R"([[[5,5],[6,5],[6,6],[5,5]]],[[[1,0],[3,0],[3,2],[1,0]]]]})"),
            "coordinates: MultiPolygon polygons 0 and 2 overlap");
  EXPECT_EQ(error_of(R"({"type":"MultiPolygon","coordinates":[[[[0,0],[2,0],[2,2],[0,0]]],)"
                     R"([[[5,5],[6,5],[6,6],[5,6]]]]})"),
            "coordinates[1]: Polygon ring 0 is not closed (first and last positions differ)");
  // Touching at a corner is valid (OGC Simple Features).
  EXPECT_EQ(error_of(R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],)"
                     R"([[[1,1],[2,1],[2,2],[1,1]]]]})"),
            "ok");
}

// Regression (the validity side of GeoQueryTest.VertexOnDiagonalEdgeTouches): Boost's floating
// point validity check snapped the shapes onto its own grid and refused a valid MultiPolygon
// whose rectangle touches the triangle at one point of its slanted edge. PostGIS 3.3.2:
//   SELECT ST_IsValid(ST_GeomFromGeoJSON(<geometry>)), ST_IsValidReason(...)
// says t for the first two and f, 'Self-intersection[-3.453125 40.421875]' for the third.
TEST(GeometryTest, VertexOnDiagonalEdgeIsValid) {
  EXPECT_EQ(
      error_of(R"({"type":"MultiPolygon","coordinates":[)"
               R"([[[-3.46875,40.375],[-3.4375,40.375],[-3.46875,40.46875],[-3.46875,40.375]]],)"
               R"([[[-3.453125,40.421875],[-3.421875,40.421875],[-3.421875,40.515625],)"
               R"([-3.453125,40.515625],[-3.453125,40.421875]]]]})"),
      "ok");
  // A hole touching the shell at one point of its slanted edge.
  EXPECT_EQ(
      error_of(R"({"type":"Polygon","coordinates":[)"
               R"([[-3.46875,40.375],[-3.4375,40.375],[-3.46875,40.40625],[-3.46875,40.375]],)"
               R"([[-3.453125,40.390625],[-3.46484375,40.38671875],[-3.46484375,40.37890625],)"
               R"([-3.453125,40.390625]]]})"),
      "ok");
  // Sharing a stretch of the edge is not touching at points.
  EXPECT_EQ(
      error_of(R"({"type":"MultiPolygon","coordinates":[)"
               R"([[[-3.46875,40.375],[-3.4375,40.375],[-3.46875,40.46875],[-3.46875,40.375]]],)"
               R"([[[-3.4453125,40.3984375],[-3.4375,40.4375],[-3.453125,40.421875],)"
               R"([-3.4453125,40.3984375]]]]})"),
      "coordinates: MultiPolygon polygons 0 and 1 share part of an edge");
}

// Validity is judged where relations are: on positions rounded to 1e-7 degree.
TEST(GeometryTest, ValidityIsJudgedOnTheLattice) {
  // 0.3 mm apart: one position on the lattice.
  EXPECT_EQ(error_of(R"({"type":"LineString","coordinates":[[1,2],[1.000000003,2]]})"),
            "coordinates: LineString needs at least 2 distinct positions");
  EXPECT_EQ(error_of(R"({"type":"LineString","coordinates":[[1,2],[1.0000001,2]]})"), "ok");
  // Collapses onto a line: (0.00000004, 0.5) rounds to (0, 0.5).
  EXPECT_EQ(error_of(R"({"type":"Polygon","coordinates":[[[0,0],[0.00000004,0.5],[0,1],[0,0]]]})"),
            "coordinates: Polygon ring 0 has a spike (it turns back on itself)");
  auto g = parse_geojson_text(R"({"type":"Point","coordinates":[139.7671234,-35.6895]})");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(
      bg::equals(std::get<LatticePoint>(g->lattice()), LatticePoint(1397671234, -356895000)));
}

TEST(GeometryTest, NamesTheMemberOfACollection) {
  EXPECT_EQ(error_of(R"({"type":"GeometryCollection","geometries":[)"
                     R"({"type":"Point","coordinates":[1,2]},)"
                     R"({"type":"Point","coordinates":[200,2]}]})"),
            "geometries[1].coordinates[0]: longitude 200 is outside [-180, 180]");
  EXPECT_EQ(error_of(R"({"type":"GeometryCollection","geometries":[{"type":"Feature"}]})"),
            "geometries[0].type 'Feature' is not a GeoJSON geometry type");
  EXPECT_EQ(error_of(R"({"type":"GeometryCollection","geometries":[3]})"),
            "geometries[0]: a GeoJSON geometry must be a JSON object, got number");
  EXPECT_EQ(error_of(R"({"type":"GeometryCollection","geometries":{}})"),
            "geometries: must be an array of geometries, got object");
}

TEST(GeometryTest, ParsesBareCoordinatesUnderAGivenPath) {
  JsonDoc doc;
  ASSERT_TRUE(parse_json("[[0,0],[1,91]]", doc).ok());
  auto g = parse_coordinates(GeometryType::kMultiPoint, doc, "geoQ.coordinates");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().detail(), "geoQ.coordinates[1][1]: latitude 91 is outside [-90, 90]");
}

TEST(GeometryTest, EnvelopeCoversEveryPosition) {
  auto g = parse_geojson_text(R"({"type":"GeometryCollection","geometries":[)"
                              R"({"type":"Point","coordinates":[-5,3]},)"
                              R"({"type":"LineString","coordinates":[[1,-2],[4,8]]}]})");
  ASSERT_TRUE(g.ok());
  Box b = envelope(*g);
  EXPECT_EQ(b.min_corner().get<0>(), -5);
  EXPECT_EQ(b.min_corner().get<1>(), -2);
  EXPECT_EQ(b.max_corner().get<0>(), 4);
  EXPECT_EQ(b.max_corner().get<1>(), 8);
}

TEST(GeometryTest, NamesTypes) {
  for (int i = 0; i <= static_cast<int>(GeometryType::kGeometryCollection); ++i) {
    auto t = static_cast<GeometryType>(i);
    EXPECT_EQ(geometry_type_from_name(type_name(t)), t);
  }
  EXPECT_FALSE(geometry_type_from_name("Feature").has_value());
}

}  // namespace
}  // namespace tsunagu::ngsild::geo
