#include "ngsild/geo/geoquery.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>

namespace tsunagu::ngsild::geo {
namespace {

constexpr std::string_view kRelNames[] = {"near",   "within",   "contains", "intersects",
                                          "equals", "disjoint", "overlaps"};

// Twins of the planar models in geographic coordinates, for distances only.
using GPoint = bg::model::point<double, 2, bg::cs::geographic<bg::degree>>;
using GMultiPoint = bg::model::multi_point<GPoint>;
using GLineString = bg::model::linestring<GPoint>;
using GMultiLineString = bg::model::multi_linestring<GLineString>;
using GPolygon = bg::model::polygon<GPoint, false, true>;
using GMultiPolygon = bg::model::multi_polygon<GPolygon>;
using GBox = bg::model::box<GPoint>;
using GShape =
    std::variant<GPoint, GMultiPoint, GLineString, GMultiLineString, GPolygon, GMultiPolygon>;

// Vincenty's inverse formula on WGS84 (Boost's default spheroid) is accurate to well under a
// millimetre except for nearly antipodal points; Boost 1.74 ships Karney's only disabled.
using PointPointDistance = bg::strategy::distance::geographic<bg::strategy::vincenty>;
using PointSegmentDistance = bg::strategy::distance::geographic_cross_track<bg::strategy::vincenty>;

// The smallest radius of curvature of WGS84: the meridional one at the equator, a(1 - e^2).
// Dividing a distance by it never understates the angle it spans.
constexpr double kMinRadiusM = 6335439.327;
constexpr double kDeg = 180 / std::numbers::pi;

GPoint geodetic(const Point& p) {
  return GPoint(bg::get<0>(p), bg::get<1>(p));
}

template <class Out, class In>
Out geodetic_range(const In& in) {
  Out out;
  for (const auto& p : in)
    out.push_back(geodetic(p));
  return out;
}

GPolygon geodetic(const Polygon& poly) {
  GPolygon g;
  g.outer() = geodetic_range<GPolygon::ring_type>(poly.outer());
  for (const auto& r : poly.inners())
    g.inners().push_back(geodetic_range<GPolygon::ring_type>(r));
  return g;
}

// `s` must not hold a GeometryCollection (callers flatten collections with leaves()).
GShape geodetic(const Geometry::Shape& s) {
  switch (s.index()) {
    case 0:
      return geodetic(std::get<Point>(s));
    case 1:
      return geodetic_range<GMultiPoint>(std::get<MultiPoint>(s));
    case 2:
      return geodetic_range<GLineString>(std::get<LineString>(s));
    case 3: {
      GMultiLineString out;
      for (const auto& l : std::get<MultiLineString>(s))
        out.push_back(geodetic_range<GLineString>(l));
      return out;
    }
    case 4:
      return geodetic(std::get<Polygon>(s));
    default: {
      GMultiPolygon out;
      for (const auto& p : std::get<MultiPolygon>(s))
        out.push_back(geodetic(p));
      return out;
    }
  }
}

// The non-collection geometries inside `g` (g itself when it is not a collection).
void leaves(const Geometry& g, std::vector<const Geometry*>& out) {
  if (const auto* gc = g.get_if<GeometryCollection>()) {
    for (const auto& m : gc->members)
      leaves(m, out);
  } else {
    out.push_back(&g);
  }
}

template <class T>
constexpr bool kPointlike = std::is_same_v<T, GPoint> || std::is_same_v<T, GMultiPoint>;

template <class T>
std::vector<GPoint> points_of(const T& t) {
  if constexpr (std::is_same_v<T, GPoint>)
    return {t};
  else
    return std::vector<GPoint>(t.begin(), t.end());
}

double leaf_distance(const GShape& a, const GShape& b) {
  return std::visit(
      [](const auto& x, const auto& y) -> double {
        using X = std::decay_t<decltype(x)>;
        using Y = std::decay_t<decltype(y)>;
        if constexpr (kPointlike<X> && kPointlike<Y>) {
          // Boost's point-to-multipoint distance wants a point-segment strategy; pairs are few.
          double best = std::numeric_limits<double>::infinity();
          for (const auto& p : points_of(x)) {
            for (const auto& q : points_of(y))
              best = std::min(best, bg::distance(p, q, PointPointDistance()));
          }
          return best;
        } else {
          return bg::distance(x, y, PointSegmentDistance());
        }
      },
      a, b);
}

int dimension(const Geometry::Shape& s) {
  return static_cast<int>(s.index()) / 2;
}

std::string de9im(const Geometry::Shape& a, const Geometry::Shape& b) {
  return std::visit(
      [](const auto& x, const auto& y) -> std::string {
        using X = std::decay_t<decltype(x)>;
        using Y = std::decay_t<decltype(y)>;
        if constexpr (std::is_same_v<X, GeometryCollection> ||
                      std::is_same_v<Y, GeometryCollection>) {
          return "FFFFFFFFF";  // unreachable: both sides are flattened first
        } else {
          return bg::relation(x, y).str();
        }
      },
      a, b);
}

// Evaluates a relation from the DE-9IM matrices (entity member × query) of the entity's
// members. For a single member these are exactly the OGC Simple Features masks PostGIS uses
// (within T*F**F***, contains T*****FF*, equals T*F**FFF*, overlaps T*T***T** or 1*T***T**).
// A GeometryCollection is within the query when every member is covered by it and one is
// within; it contains / equals the query when one member covers it; it overlaps when its
// highest-dimension members share the query's dimension (a collection has the dimension of its
// highest member, as in GEOS), some member meets the query's interior (along a line, for
// lines), not all members are covered, and none covers the query. Judging "covers" member by
// member understates a query spread over several members.
bool relate(GeoRel rel, const Geometry& entity, const Geometry& query) {
  std::vector<const Geometry*> parts;
  leaves(entity, parts);
  const int qdim = dimension(query.shape());
  bool all_covered = true, any_within = false, any_covers = false, any_contains = false;
  bool any_meets = false, any_interiors = false;
  int max_dim = 0;
  for (const Geometry* part : parts) {
    const std::string m = de9im(part->shape(), query.shape());
    const int dim = dimension(part->shape());
    const bool covered = m[2] == 'F' && m[5] == 'F';
    const bool covers = m[6] == 'F' && m[7] == 'F';
    all_covered = all_covered && covered;
    any_within = any_within || (covered && m[0] != 'F');
    any_covers = any_covers || covers;
    any_contains = any_contains || (covers && m[0] != 'F');
    any_meets = any_meets || m[0] != 'F' || m[1] != 'F' || m[3] != 'F' || m[4] != 'F';
    max_dim = std::max(max_dim, dim);
    // The overlaps masks: interiors meet at all (T*T***T**), or along a line for two linear
    // geometries (1*T***T**).
    any_interiors = any_interiors || (qdim == 1 ? m[0] == '1' : m[0] != 'F');
  }
  switch (rel) {
    case GeoRel::kWithin:
      return all_covered && any_within;
    case GeoRel::kContains:
      return any_contains;
    case GeoRel::kIntersects:
      return any_meets;
    case GeoRel::kDisjoint:
      return !any_meets;
    case GeoRel::kEquals:
      return all_covered && any_covers;
    case GeoRel::kOverlaps:
      return max_dim == qdim && any_interiors && !all_covered && !any_covers;
    case GeoRel::kNear:
      break;
  }
  return false;
}

// West, south, east, north of the geodesic reading of `g`; east exceeds 180 when the shape
// crosses the antimeridian.
std::array<double, 4> geodesic_bounds(const Geometry& g) {
  std::vector<const Geometry*> parts;
  leaves(g, parts);
  std::array<double, 4> b = {
      std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (const Geometry* part : parts) {
    GBox box = std::visit([](const auto& s) { return bg::return_envelope<GBox>(s); },
                          geodetic(part->shape()));
    double west = bg::get<bg::min_corner, 0>(box), east = bg::get<bg::max_corner, 0>(box);
    if (west > east) east += 360;
    // Union on the unwrapped line: a superset of the union on the circle, which is enough.
    b[0] = std::min(b[0], west);
    b[1] = std::min(b[1], bg::get<bg::min_corner, 1>(box));
    b[2] = std::max(b[2], east);
    b[3] = std::max(b[3], bg::get<bg::max_corner, 1>(box));
  }
  return b;
}

Status bad(std::string detail) {
  return Status::BadRequestData(std::move(detail));
}

Status parse_georel(std::string_view text, GeoQuery& q) {
  std::string_view name = text.substr(0, text.find(';'));
  std::string_view rest = name.size() < text.size() ? text.substr(name.size() + 1) : "";
  auto it = std::find(std::begin(kRelNames), std::end(kRelNames), name);
  if (it == std::end(kRelNames)) {
    return bad("georel: '" + std::string(name) +
               "' is not a geo-relationship (near, within, contains, intersects, equals, "
               "disjoint, overlaps)");
  }
  q.rel = static_cast<GeoRel>(it - std::begin(kRelNames));
  if (q.rel != GeoRel::kNear) {
    if (name.size() == text.size()) return Status::Ok();
    return bad("georel: '" + std::string(name) + "' takes no modifier, got '" + std::string(rest) +
               "'");
  }
  // §4.10: near;maxDistance==<metres> or near;minDistance==<metres>, exactly one of them.
  if (rest.empty())
    return bad("georel: near needs ';maxDistance==<metres>' or ';minDistance==<metres>'");
  if (rest.find(';') != std::string_view::npos) {
    return bad("georel: near takes one distance, got '" + std::string(rest) + "'");
  }
  size_t eq = rest.find("==");
  std::string_view key = rest.substr(0, eq);
  if (eq == std::string_view::npos || (key != "maxDistance" && key != "minDistance")) {
    return bad("georel: '" + std::string(rest) +
               "' is not maxDistance==<metres> or minDistance==<metres>");
  }
  std::string_view num = rest.substr(eq + 2);
  double d = -1;
  auto r = std::from_chars(num.data(), num.data() + num.size(), d);
  if (num.empty() || r.ec != std::errc() || r.ptr != num.data() + num.size() || !std::isfinite(d) ||
      d < 0) {
    return bad("georel: " + std::string(key) + " '" + std::string(num) +
               "' is not a non-negative number of metres");
  }
  (key == "maxDistance" ? q.max_distance_m : q.min_distance_m) = d;
  return Status::Ok();
}

Result<GeoQuery> build(std::string_view georel, std::string_view geometry,
                       const JsonValue& coordinates) {
  GeoQuery q;
  TSUNAGU_RETURN_IF_ERROR(parse_georel(georel, q));
  auto type = geometry_type_from_name(geometry);
  if (!type || *type == GeometryType::kGeometryCollection) {
    return bad("geometry: '" + std::string(geometry.substr(0, 64)) +
               "' is not a geo-query geometry (Point, MultiPoint, LineString, MultiLineString, "
               "Polygon, MultiPolygon)");
  }
  auto g = parse_coordinates(*type, coordinates, "coordinates");
  if (!g.ok()) return std::move(g).status();
  q.geometry = std::move(g).value();
  return q;
}

Status parse_coordinates_text(std::string_view text, JsonDoc& doc) {
  Status st = parse_json(text, doc);
  if (!st.ok()) return bad("coordinates: " + st.detail());
  return Status::Ok();
}

}  // namespace

std::string_view georel_name(GeoRel r) {
  return kRelNames[static_cast<size_t>(r)];
}

Result<GeoQuery> parse_geoquery(std::string_view georel, std::string_view geometry,
                                std::string_view coordinates) {
  if (georel.empty()) return bad("georel is missing");
  if (geometry.empty()) return bad("geometry is missing");
  if (coordinates.empty()) return bad("coordinates is missing");
  JsonDoc doc;
  TSUNAGU_RETURN_IF_ERROR(parse_coordinates_text(coordinates, doc));
  return build(georel, geometry, doc);
}

Result<GeoQuery> parse_geoquery_json(const JsonValue& v) {
  if (!v.IsObject()) return bad(std::string("must be a JSON object, got ") + json_type_name(v));
  auto string_member = [&](const char* name, std::string_view& out) -> Status {
    auto m = v.FindMember(name);
    if (m == v.MemberEnd()) return bad(std::string(name) + " is missing");
    if (!m->value.IsString()) {
      return bad(std::string(name) + " must be a string, got " + json_type_name(m->value));
    }
    out = std::string_view(m->value.GetString(), m->value.GetStringLength());
    return Status::Ok();
  };
  std::string_view georel, geometry, geoproperty = "location";
  TSUNAGU_RETURN_IF_ERROR(string_member("georel", georel));
  TSUNAGU_RETURN_IF_ERROR(string_member("geometry", geometry));
  if (v.HasMember("geoproperty")) {
    TSUNAGU_RETURN_IF_ERROR(string_member("geoproperty", geoproperty));
    if (geoproperty.empty()) return bad("geoproperty must not be empty");
  }
  auto c = v.FindMember("coordinates");
  if (c == v.MemberEnd()) return bad("coordinates is missing");
  JsonDoc doc;
  const JsonValue* coords = &c->value;
  if (c->value.IsString()) {
    TSUNAGU_RETURN_IF_ERROR(
        parse_coordinates_text({c->value.GetString(), c->value.GetStringLength()}, doc));
    coords = &doc;
  }
  auto q = build(georel, geometry, *coords);
  if (q.ok()) q->geoproperty = std::string(geoproperty);
  return q;
}

bool matches(const GeoQuery& q, const Geometry& entity) {
  if (q.rel != GeoRel::kNear) return relate(q.rel, entity, q.geometry);
  double d = distance_m(entity, q.geometry);
  return q.max_distance_m ? d <= *q.max_distance_m : d >= q.min_distance_m.value_or(0);
}

double distance_m(const Geometry& a, const Geometry& b) {
  std::vector<const Geometry*> as, bs;
  leaves(a, as);
  leaves(b, bs);
  double best = std::numeric_limits<double>::infinity();
  for (const Geometry* x : as) {
    GShape gx = geodetic(x->shape());
    for (const Geometry* y : bs)
      best = std::min(best, leaf_distance(gx, geodetic(y->shape())));
  }
  return best;
}

double distance_m(const Point& p, const Box& b) {
  if (bg::covered_by(p, b)) return 0;
  const GPoint gp = geodetic(p);
  if (bg::equals(b.min_corner(), b.max_corner())) {
    return bg::distance(gp, geodetic(b.min_corner()), PointPointDistance());
  }
  const GBox gb(geodetic(b.min_corner()), geodetic(b.max_corner()));
  return bg::distance(
      gp, gb, bg::strategy::distance::geographic_cross_track_point_box<bg::strategy::vincenty>());
}

SearchBoxes search_boxes(const GeoQuery& q) {
  SearchBoxes out;
  if (q.rel == GeoRel::kDisjoint || (q.rel == GeoRel::kNear && !q.max_distance_m)) {
    out.prunes = false;
    return out;
  }
  out.count = 1;
  if (q.rel != GeoRel::kNear) {
    // Every other relation needs the two geometries to meet, so their envelopes intersect.
    out.boxes[0] = envelope(q.geometry);
    return out;
  }
  auto [west, south, east, north] = geodesic_bounds(q.geometry);
  // The 1 % margin absorbs the sphere-for-ellipsoid shortcut below; the index only prunes, the
  // caller still runs matches().
  const double r = std::min(*q.max_distance_m / kMinRadiusM * 1.01, std::numbers::pi);
  const double pole_lat = std::max(std::abs(south), std::abs(north)) / kDeg;
  bool all_lon = east - west >= 360;
  south -= r * kDeg;
  north += r * kDeg;
  if (south <= -90 || north >= 90) all_lon = true;  // the area holds a pole
  if (!all_lon) {
    // Widest longitude reach of a circle of angular radius r centred at latitude pole_lat (the
    // reach grows towards the poles): sin(dlon) = sin(r) / cos(lat).
    double s = std::sin(r) / std::cos(pole_lat);
    double dlon = s >= 1 ? 360 : std::asin(s) * kDeg;
    west -= dlon;
    east += dlon;
    all_lon = east - west >= 360;
  }
  south = std::max(south, -90.0);
  north = std::min(north, 90.0);
  if (all_lon) {
    out.boxes[0] = Box(Point(-180, south), Point(180, north));
  } else if (west < -180) {
    out.count = 2;
    out.boxes[0] = Box(Point(-180, south), Point(east, north));
    out.boxes[1] = Box(Point(west + 360, south), Point(180, north));
  } else if (east > 180) {
    out.count = 2;
    out.boxes[0] = Box(Point(west, south), Point(180, north));
    out.boxes[1] = Box(Point(-180, south), Point(east - 360, north));
  } else {
    out.boxes[0] = Box(Point(west, south), Point(east, north));
  }
  return out;
}

Box index_envelope(const Geometry& g) {
  if (const Point* p = g.get_if<Point>()) return Box(*p, *p);
  Box box = envelope(g);
  auto [west, south, east, north] = geodesic_bounds(g);
  bool wraps = east > 180 || west < -180;
  double w = wraps ? -180 : std::min(west, bg::get<bg::min_corner, 0>(box));
  double e = wraps ? 180 : std::max(east, bg::get<bg::max_corner, 0>(box));
  double s = std::max(-90.0, std::min(south, bg::get<bg::min_corner, 1>(box)));
  double n = std::min(90.0, std::max(north, bg::get<bg::max_corner, 1>(box)));
  return Box(Point(w, s), Point(e, n));
}

}  // namespace tsunagu::ngsild::geo
