// Geo-queries (ETSI GS CIM 009 §4.10): the georel/geometry/coordinates parameters of a query or
// the geoQ member of a Subscription, the predicate deciding whether an entity's GeoProperty
// matches, geodesic distances for orderBy, and the lon/lat boxes an index may prune with.
// Parsing and matching live in geoquery.cpp, distances and boxes in geodesic.cpp.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "common/status.hpp"
#include "ngsild/geo/geometry.hpp"

namespace tsunagu::ngsild::geo {

// The geo-relationships of ETSI GS CIM 009 §4.10. The entity's geometry is the subject:
// kWithin means the entity lies within the query geometry, kContains that the entity contains
// the query geometry.
enum class GeoRel : unsigned char {
  kNear,
  kWithin,
  kContains,
  kIntersects,
  kEquals,
  kDisjoint,
  kOverlaps,
};

std::string_view georel_name(GeoRel r);

// A parsed geo-query. Owned by the request (or subscription) that carries it; immutable after
// parsing, so any thread may evaluate it.
struct GeoQuery {
  GeoRel rel = GeoRel::kIntersects;
  // For kNear exactly one is set, in metres (>= 0); both are empty otherwise.
  std::optional<double> max_distance_m;
  std::optional<double> min_distance_m;
  // Never a GeometryCollection (§4.10 lists the six other types).
  Geometry geometry;
  // The GeoProperty to test, as given (not expanded); "location" when the request names none.
  std::string geoproperty = "location";
};

// Parses the georel, geometry and coordinates query parameters (all three are required once any
// is given). `coordinates` is the JSON text of the coordinates array, already URL-decoded.
// BadRequestData whose detail starts with the parameter at fault, e.g.
//   "georel: 'nearby' is not a geo-relationship (near, within, contains, ...)"
//   "georel: maxDistance '-5' is not a positive number of metres"
//   "coordinates[1]: latitude 95 is outside [-90, 90]"
Result<GeoQuery> parse_geoquery(std::string_view georel, std::string_view geometry,
                                std::string_view coordinates);

// The same from a JSON object {"geometry", "coordinates", "georel", "geoproperty"?} such as a
// Subscription's geoQ (§5.2.13); coordinates may be the array itself or its JSON text.
Result<GeoQuery> parse_geoquery_json(const JsonValue& v);

// Whether an entity whose GeoProperty holds `entity` satisfies `q`.
// - near: the shortest geodesic distance on the WGS84 ellipsoid between the two geometries
//   (0 when they meet) is <= maxDistance, or >= minDistance. Segments are geodesics, as in
//   PostGIS geography (ST_DWithin / ST_Distance).
// - the other relations: DE-9IM predicates on (lon, lat) read as planar coordinates, as PostGIS
//   ST_Within, ST_Contains, ... on geometry(SRID 4326). A point on a polygon's boundary is not
//   within it but intersects it. Decided exactly on positions rounded to 1e-7 degree
//   (lattice.hpp). Shapes crossing the antimeridian must arrive cut in two (RFC 7946 §3.1.9);
//   an uncut one is read the long way round, as PostGIS geometry reads it.
// - a GeometryCollection entity is judged by its members; see the .cpp for the exact rules.
bool matches(const GeoQuery& q, const Geometry& entity);

// matches() for entities whose GeoProperty is one Point (most entity locations, which a spatial
// index keeps as positions), with what does not depend on the point worked out once: a query
// area's extent, a near query's centre. Decides as matches() does; refers to `q`, which must
// outlive it.
class PointMatcher {
 public:
  explicit PointMatcher(const GeoQuery& q);
  bool matches(const Point& p) const;

 private:
  const GeoQuery& q_;
  const Point* centre_ = nullptr;  // near a Point
  bool area_ = false;              // a planar relation with a (Multi)Polygon
  int64_t west_ = 0, east_ = 0;    // the area's lattice longitudes
  // The lattice box (west, south, east, north) of each polygon of the area: a point outside a
  // polygon's box is outside it, so only the few polygons whose box holds the point are
  // walked, edge by edge (a MultiPolygon of 2,000 polygons would otherwise cost every point
  // tested all their edges).
  std::vector<std::array<int64_t, 4>> boxes_;
};

// Shortest geodesic distance in metres on the WGS84 ellipsoid (0 when the geometries meet), for
// near and orderBy=dist-asc. Altitudes are ignored.
double distance_m(const Geometry& a, const Geometry& b);
// For two Points: the great-circle distance on the sphere of WGS84's mean radius (haversine),
// within kSphereError of distance_m() (relative; a unit test checks it over the globe) at a
// twentieth of its cost; nullopt for any other pair.
std::optional<double> sphere_distance_m(const Geometry& a, const Geometry& b);
double sphere_distance_m(const Point& a, const Point& b);
inline constexpr double kSphereError = 0.006;
// From `p` to the nearest point of the lon/lat box `b` (edges along meridians and parallels),
// 0 inside it; a lower bound of the distance to any geometry inside the box.
double distance_m(const Point& p, const Box& b);

// Lon/lat boxes that the index_envelope() of every geometry able to match a query meets: one
// box, or two when a near area crosses the antimeridian. When `prunes` is false
// (near;minDistance and disjoint, whose matches may lie anywhere) the boxes are meaningless and
// every entity is a candidate.
struct SearchBoxes {
  bool prunes = true;
  int count = 0;
  std::array<Box, 2> boxes;
};
SearchBoxes search_boxes(const GeoQuery& q);

// The box to index a geometry under: its planar envelope grown to also hold the geodesic
// reading of its segments (which bulge poleward, and cross the antimeridian the short way; a
// box for such a crossing spans every longitude). For a Point, the point itself.
Box index_envelope(const Geometry& g);

}  // namespace tsunagu::ngsild::geo
