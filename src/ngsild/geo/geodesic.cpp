// The geodesic half of geoquery.hpp: distances on the WGS84 ellipsoid for near and
// orderBy=dist-asc, and the lon/lat boxes a spatial index prunes candidates with.
#include "ngsild/geo/algorithms.hpp"
#include "ngsild/geo/geoquery.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace tsunagu::ngsild::geo {
namespace {

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

}  // namespace

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

std::optional<double> sphere_distance_m(const Geometry& a, const Geometry& b) {
  const Point* p = std::get_if<Point>(&a.shape());
  const Point* q = std::get_if<Point>(&b.shape());
  if (p == nullptr || q == nullptr) return std::nullopt;
  return sphere_distance_m(*p, *q);
}

double sphere_distance_m(const Point& a, const Point& b) {
  constexpr double kMeanRadiusM = 6371008.8;  // (2a + b) / 3
  const double lat1 = bg::get<1>(a) / kDeg, lat2 = bg::get<1>(b) / kDeg;
  const double dlat = lat2 - lat1, dlon = (bg::get<0>(b) - bg::get<0>(a)) / kDeg;
  const double s = std::sin(dlat / 2), t = std::sin(dlon / 2);
  const double h = std::min(1.0, s * s + std::cos(lat1) * std::cos(lat2) * t * t);
  return 2 * kMeanRadiusM * std::asin(std::sqrt(h));
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
