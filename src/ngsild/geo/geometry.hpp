// GeoJSON geometries (RFC 7946 §3.1) as held by a GeoProperty value (ETSI GS CIM 009 §4.7):
// parsing with validation (geojson_parser.cpp), the lon/lat envelope, and rendering back to
// GeoJSON text (geometry.cpp). Geo-queries (geoquery.hpp) and the spatial index
// (spatial_index.hpp) are built on these types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json.hpp"
#include "common/status.hpp"
#include "ngsild/geo/lattice.hpp"

namespace tsunagu::ngsild::geo {

// Positions are (longitude, latitude) in degrees, read as planar coordinates: spatial relations
// follow PostGIS `geometry` with SRID 4326, decided on the 1e-7 degree lattice of lattice.hpp.
// Distances convert to the WGS84 ellipsoid (geoquery).
using Point = bg::model::point<double, 2, bg::cs::cartesian>;
using MultiPoint = bg::model::multi_point<Point>;
using LineString = bg::model::linestring<Point>;
using MultiLineString = bg::model::multi_linestring<LineString>;
// Closed rings; exterior counterclockwise, holes clockwise: the right-hand rule of RFC 7946
// §3.1.6. The parser reorients rings that do not follow it.
using Polygon = bg::model::polygon<Point, /*ClockWise=*/false, /*Closed=*/true>;
using MultiPolygon = bg::model::multi_polygon<Polygon>;
// A lon/lat bounding box; min_corner is (west, south).
using Box = bg::model::box<Point>;

// In the order of the alternatives of Geometry::Shape.
enum class GeometryType : unsigned char {
  kPoint,
  kMultiPoint,
  kLineString,
  kMultiLineString,
  kPolygon,
  kMultiPolygon,
  kGeometryCollection,
};

// The GeoJSON "type" name ("Point", ...).
std::string_view type_name(GeometryType t);
// The type named `name` (case-sensitive, as RFC 7946 §1.4 requires), or nothing.
std::optional<GeometryType> geometry_type_from_name(std::string_view name);

class Geometry;

// RFC 7946 §3.1.8; never empty once parsed.
struct GeometryCollection {
  std::vector<Geometry> members;
};

// One validated GeoJSON geometry, held twice: as the doubles it was given in (for rendering and
// distances) and rounded onto the lattice of lattice.hpp (for the planar relations). A value
// type: moving is free and copying a Point (the common entity location) allocates nothing
// unless it has an altitude. Immutable after construction; any thread may read it concurrently.
class Geometry {
 public:
  using Shape = std::variant<Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon,
                             GeometryCollection>;

  // The Point (0, 0).
  Geometry() : shape_(Point(0, 0)), lattice_(LatticePoint(0, 0)) {}
  // `altitudes` as described at altitudes(); the caller keeps shapes valid (tests, builders).
  explicit Geometry(Shape shape, std::vector<double> altitudes = {});

  GeometryType type() const { return static_cast<GeometryType>(shape_.index()); }
  const Shape& shape() const { return shape_; }
  template <class T>
  const T* get_if() const {
    return std::get_if<T>(&shape_);
  }
  // shape() with every coordinate rounded by to_lattice(); std::monostate for a
  // GeometryCollection, whose members hold their own.
  const LatticeShape& lattice() const { return lattice_; }

  // The third number of each position, in the order positions are stored (rings after
  // reorientation), NaN for a position given without one; empty when no position has one. A
  // GeometryCollection keeps its altitudes in its members. Altitudes take no part in relations
  // or distances (like PostGIS geography, which ignores Z).
  const std::vector<double>& altitudes() const { return altitudes_; }

 private:
  Shape shape_;
  LatticeShape lattice_;
  std::vector<double> altitudes_;
};

// Parses and validates a GeoJSON geometry object. BadRequestData whose detail starts with the
// JSON path of the fault inside the geometry, so a caller can prefix the attribute name:
//   "coordinates[2][1]: latitude 95 is outside [-90, 90]"
//   "type 'Circle' is not a GeoJSON geometry type"
//   "geometries[1].coordinates: LineString needs at least 2 positions"
// Members other than type, coordinates and geometries (bbox, foreign members) are ignored.
// Empty geometries (no positions) are refused: RFC 7946 §3.1 only permits, not requires, them.
// A geometry of more than max_positions() positions is refused (BadRequestData naming the
// limit): checking a polygon's validity and matching against it cost at least its size, for
// every entity a query tests. Set once at start (--max-geometry-positions); default 100,000.
Result<Geometry> parse_geojson(const JsonValue& v);
void set_max_positions(size_t n);
size_t max_positions();
// The same from JSON text; malformed text fails with parse_json's status.
Result<Geometry> parse_geojson_text(std::string_view json);

// Parses the coordinates array of a geometry of type `type` (not GeometryCollection), as given
// separately by a geo-query (ETSI GS CIM 009 §4.10). Details start with `path`.
Result<Geometry> parse_coordinates(GeometryType type, const JsonValue& coordinates,
                                   std::string_view path = "coordinates");

// The planar lon/lat bounding box of every position.
Box envelope(const Geometry& g);

// Appends the geometries inside `g` that are not GeometryCollections, depth first (`g` itself
// when it is not one).
void leaves(const Geometry& g, std::vector<const Geometry*>& out);

// Positions rounded onto the lattice with to_lattice(), as Geometry::lattice() holds them.
LatticePoint on_lattice(const Point& p);
LatticeLineString on_lattice(const LineString& line);
LatticePolygon::ring_type on_lattice(const Polygon::ring_type& ring);
LatticePolygon on_lattice(const Polygon& poly);

// Minified GeoJSON text; numbers are the shortest text that reads back to the same double.
std::string to_geojson(const Geometry& g);
void append_geojson(const Geometry& g, std::string& out);

}  // namespace tsunagu::ngsild::geo
