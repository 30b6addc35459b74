#include "ngsild/geo/geoquery.hpp"
#include "ngsild/geo/algorithms.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <variant>

namespace tsunagu::ngsild::geo {
namespace {

constexpr std::string_view kRelNames[] = {"near",   "within",   "contains", "intersects",
                                          "equals", "disjoint", "overlaps"};

int dimension(const Geometry::Shape& s) {
  return static_cast<int>(s.index()) / 2;
}

// Evaluates a relation from the DE-9IM matrices (entity member × query) of the entity's
// members, computed exactly on the 1e-7 degree lattice (lattice.hpp): a vertex lying on an
// edge touches it, as in GEOS. For a single member these are the OGC Simple Features masks
// PostGIS uses (within T*F**F***, contains T*****FF*, equals T*F**FFF*, overlaps T*T***T** or
// 1*T***T**).
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
    const std::string m = de9im(part->lattice(), query.lattice());
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
  // PositiveNumber (§4.10): a JSON number without a minus sign, and not zero.
  if (num.empty() || num.front() == '-' || r.ec != std::errc() ||
      r.ptr != num.data() + num.size() || !std::isfinite(d) || d <= 0) {
    return bad("georel: " + std::string(key) + " '" + std::string(num) +
               "' is not a positive number of metres");
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

namespace {

// Whether the sphere alone decides a near query at distance `s`: two points clearly nearer or
// farther than the limit on the sphere are so on the ellipsoid too; only those close to it need
// the ellipsoidal distance.
std::optional<bool> near_on_sphere(const GeoQuery& q, double s) {
  const bool within = q.max_distance_m.has_value();
  const double limit = within ? *q.max_distance_m : q.min_distance_m.value_or(0);
  constexpr double kMargin = 1.5 * kSphereError;
  if (s < limit * (1 - kMargin)) return within;
  if (s > limit * (1 + kMargin)) return !within;
  return std::nullopt;
}

// A near query decided by the ellipsoidal distance.
bool near_on_ellipsoid(const GeoQuery& q, const Geometry& entity) {
  const double d = distance_m(entity, q.geometry);
  return q.max_distance_m ? d <= *q.max_distance_m : d >= q.min_distance_m.value_or(0);
}

}  // namespace

bool matches(const GeoQuery& q, const Geometry& entity) {
  if (q.rel != GeoRel::kNear) return relate(q.rel, entity, q.geometry);
  if (auto s = sphere_distance_m(entity, q.geometry)) {
    if (auto decided = near_on_sphere(q, *s)) return *decided;
  }
  return near_on_ellipsoid(q, entity);
}

PointMatcher::PointMatcher(const GeoQuery& q) : q_(q) {
  if (q.rel == GeoRel::kNear) {
    centre_ = q.geometry.get_if<Point>();
    return;
  }
  const LatticeShape& area = q.geometry.lattice();
  if (!std::holds_alternative<LatticePolygon>(area) &&
      !std::holds_alternative<LatticeMultiPolygon>(area)) {
    return;
  }
  area_ = true;
  auto box_of = [](const LatticePolygon& poly) {
    std::array<int64_t, 4> b = {
        std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min()};
    for (const LatticePoint& v : poly.outer()) {
      b[0] = std::min(b[0], bg::get<0>(v));
      b[1] = std::min(b[1], bg::get<1>(v));
      b[2] = std::max(b[2], bg::get<0>(v));
      b[3] = std::max(b[3], bg::get<1>(v));
    }
    return b;
  };
  if (const auto* poly = std::get_if<LatticePolygon>(&area)) {
    boxes_.push_back(box_of(*poly));
  } else {
    for (const LatticePolygon& part : std::get<LatticeMultiPolygon>(area))
      boxes_.push_back(box_of(part));
  }
  west_ = std::numeric_limits<int64_t>::max();
  east_ = std::numeric_limits<int64_t>::min();
  for (const auto& b : boxes_) {
    west_ = std::min(west_, b[0]);
    east_ = std::max(east_, b[2]);
  }
}

bool PointMatcher::matches(const Point& p) const {
  if (centre_ != nullptr) {
    if (auto decided = near_on_sphere(q_, sphere_distance_m(p, *centre_))) return *decided;
    return near_on_ellipsoid(q_, Geometry(p));
  }
  if (!area_) return geo::matches(q_, Geometry(p));
  // de9im() halves longitudes when the point and the area together span 2^31 lattice units;
  // such rare pairs take its path, so that both give the same answer everywhere.
  const LatticePoint at = on_lattice(p);
  constexpr int64_t kWide = int64_t{1} << 31;
  const int64_t x = bg::get<0>(at);
  if (std::max(east_, x) - std::min(west_, x) >= kWide) return geo::matches(q_, Geometry(p));
  const LatticeShape& area = q_.geometry.lattice();
  const auto* poly = std::get_if<LatticePolygon>(&area);
  const int64_t y = bg::get<1>(at);
  // As locate(at, area), walking only the polygons whose box holds the point (on its edge
  // included: the point may lie on the polygon's boundary). The parts of a valid multipolygon
  // meet at most at points of their boundaries.
  int where = -1;
  for (size_t i = 0; i < boxes_.size() && where != 1; ++i) {
    const auto& b = boxes_[i];
    if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) continue;
    where = std::max(where, locate(at, poly ? *poly : std::get<LatticeMultiPolygon>(area)[i]));
  }
  // A point has no boundary and cannot hold an area: within its interior, intersecting unless
  // outside; it never contains, equals or overlaps an area.
  switch (q_.rel) {
    case GeoRel::kWithin:
      return where == 1;
    case GeoRel::kIntersects:
      return where >= 0;
    case GeoRel::kDisjoint:
      return where < 0;
    default:
      return false;
  }
}

}  // namespace tsunagu::ngsild::geo
