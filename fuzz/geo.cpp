// Fuzz target: geo-queries and GeoJSON geometries (ngsild/geo/). The input is read twice:
// whole, as a GeoProperty's GeoJSON text (parse_geojson_text), and as three lines, the georel,
// geometry and coordinates parameters of a query (parse_geoquery). What parses is evaluated as a
// query evaluates it: against fixed entity geometries, and the parsed geometry under fixed
// queries. Invariants: GeoJSON written back reads back the same; PointMatcher decides as
// matches() does; every geometry a query matches lies in the boxes its index prunes with.
#include <boost/geometry/algorithms/intersects.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "ngsild/geo/geometry.hpp"
#include "ngsild/geo/geoquery.hpp"

using namespace tsunagu;
using namespace tsunagu::ngsild::geo;
using fuzz::require;

namespace {

Geometry geometry(const char* json) {
  auto g = parse_geojson_text(json);
  require(g.ok(), "a fixed geometry parses", json);
  return std::move(*g);
}

GeoQuery query(const char* georel, const char* type, const char* coordinates) {
  auto q = parse_geoquery(georel, type, coordinates);
  require(q.ok(), "a fixed query parses", coordinates);
  return std::move(*q);
}

struct Fixture {
  std::vector<Geometry> entities{
      geometry(R"({"type":"Point","coordinates":[-3.7038,40.4168]})"),
      geometry(R"({"type":"Point","coordinates":[179.9999,-0.5,12]})"),
      geometry(R"({"type":"LineString","coordinates":[[-3.71,40.41],[-3.69,40.42]]})"),
      geometry(R"({"type":"Polygon","coordinates":[[[-3.72,40.40],[-3.68,40.40],[-3.68,40.43],
                  [-3.72,40.43],[-3.72,40.40]],[[-3.71,40.41],[-3.70,40.41],[-3.70,40.42],
                  [-3.71,40.41]]]})"),
      geometry(R"({"type":"MultiPolygon","coordinates":[[[[170,-10],[180,-10],[180,10],
                  [170,10],[170,-10]]],[[[-180,-10],[-170,-10],[-170,10],[-180,10],
                  [-180,-10]]]]})"),
      geometry(R"({"type":"GeometryCollection","geometries":[{"type":"Point",
                  "coordinates":[0,89.9]},{"type":"MultiPoint","coordinates":[[1,2],[3,4]]}]})"),
  };
  std::vector<GeoQuery> queries{
      query("near;maxDistance==2000", "Point", "[-3.7038,40.4168]"),
      query("near;minDistance==100", "Point", "[179.9,0]"),
      query("within", "Polygon", "[[[-4,40],[-3,40],[-3,41],[-4,41],[-4,40]]]"),
      query("intersects", "LineString", "[[-180,0],[180,0]]"),
      query("contains", "Point", "[-3.70,40.415]"),
      query("disjoint", "MultiPoint", "[[0,0],[10,10]]"),
  };
};

// Whether `entity` may be matched by `q` according to the boxes an index prunes with.
bool in_search_boxes(const GeoQuery& q, const Geometry& entity) {
  const SearchBoxes sb = search_boxes(q);
  if (!sb.prunes) return true;
  const Box e = index_envelope(entity);
  for (int i = 0; i < sb.count; ++i) {
    if (boost::geometry::intersects(e, sb.boxes[i])) return true;
  }
  return false;
}

void evaluate(const GeoQuery& q, const Geometry& entity, std::string_view input) {
  const bool hit = matches(q, entity);
  require(!hit || in_search_boxes(q, entity), "an index never prunes a match", input);
  if (const Point* p = entity.get_if<Point>()) {
    require(PointMatcher(q).matches(*p) == hit, "PointMatcher decides as matches()", input);
  }
  const double d = distance_m(q.geometry, entity);
  require(d >= 0 && !std::isnan(d), "a distance is a number of metres", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fixture;
  const std::string_view text = fuzz::text_of(data, size);

  auto g = parse_geojson_text(text);
  fuzz::require_explained(g, "parse_geojson_text");
  if (g.ok()) {
    const std::string written = to_geojson(*g);
    auto again = parse_geojson_text(written);
    require(again.ok(), "written GeoJSON parses again", written);
    require(to_geojson(*again) == written, "written GeoJSON reads back the same", written);
    for (const GeoQuery& q : fixture.queries)
      evaluate(q, *g, text);
  }

  const size_t first = text.find('\n');
  const size_t second = first == std::string_view::npos ? first : text.find('\n', first + 1);
  if (second == std::string_view::npos) return 0;
  auto q = parse_geoquery(text.substr(0, first), text.substr(first + 1, second - first - 1),
                          text.substr(second + 1));
  fuzz::require_explained(q, "parse_geoquery");
  if (!q.ok()) return 0;
  const int distances = q->max_distance_m.has_value() + q->min_distance_m.has_value();
  require(distances == (q->rel == GeoRel::kNear ? 1 : 0), "near, and only near, has a distance",
          text);
  require(q->geometry.type() != GeometryType::kGeometryCollection,
          "a query geometry is no GeometryCollection", text);
  for (const Geometry& e : fixture.entities)
    evaluate(*q, e, text);
  return 0;
}
