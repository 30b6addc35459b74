// The GeoJSON reader (RFC 7946 §3.1): checks structure, ranges and validity, names the JSON path
// of any fault, and builds the Geometry values of geometry.hpp. Validity is judged on the
// 1e-7 degree lattice (lattice.hpp), where the planar relations are decided.
#include "ngsild/geo/algorithms.hpp"
#include "ngsild/geo/geometry.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

namespace tsunagu::ngsild::geo {
namespace {

std::string number_text(double d) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

// Reads coordinates with a JSON path that names the fault, collecting altitudes on the way.
std::atomic<size_t> g_max_positions{100000};

class Parser {
 public:
  explicit Parser(std::string path) : path_(std::move(path)) {}

  Result<Geometry> geometry(const JsonValue& v);
  Result<Geometry> coordinates(GeometryType type, const JsonValue& c);

 private:
  Status fail(std::string_view msg) const {
    return Status::BadRequestData(path_.empty() ? std::string(msg)
                                                : path_ + ": " + std::string(msg));
  }
  std::string member(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }
  // Appends "[i]" to the path; the returned mark restores it.
  size_t enter(size_t i) {
    size_t mark = path_.size();
    path_ += '[' + std::to_string(i) + ']';
    return mark;
  }
  Status array(const JsonValue& v, const char* of) const {
    if (v.IsArray()) return Status::Ok();
    return fail(std::string("must be an array of ") + of + ", got " + json_type_name(v));
  }

  Status position(const JsonValue& v, Point& p);
  Status positions(const JsonValue& v, std::vector<Point>& out);
  Status line(const JsonValue& v, LineString& out);
  Status polygon(const JsonValue& v, Polygon& out);
  Status check_rings(Polygon& poly, const std::vector<size_t>& alt_begin);
  Status check_multipolygon(const MultiPolygon& mp);

  std::string path_;
  std::vector<double> alts_;
  bool has_alt_ = false;
  size_t positions_ = 0;  // in the whole geometry
  const size_t max_positions_ = g_max_positions.load(std::memory_order_relaxed);
};

Status Parser::position(const JsonValue& v, Point& p) {
  if (!v.IsArray()) {
    return fail(std::string("a position must be an array of numbers, got ") + json_type_name(v));
  }
  // Element types first: [[1,2]] for a Point is a nesting mistake, not a count mistake.
  for (rapidjson::SizeType i = 0; i < v.Size() && i < 4; ++i) {
    if (v[i].IsNumber()) continue;
    size_t mark = enter(i);
    Status st = fail(std::string("must be a number, got ") + json_type_name(v[i]));
    path_.resize(mark);
    return st;
  }
  // RFC 7946 §3.1.1: longitude, latitude and an optional altitude; more is discouraged and
  // would be silently lost, so it is refused.
  if (v.Size() < 2 || v.Size() > 3) return fail("a position needs 2 or 3 numbers");
  if (++positions_ > max_positions_) {
    return fail("the geometry has more than " + std::to_string(max_positions_) +
                " positions, the most this server takes (--max-geometry-positions)");
  }
  double n[3] = {0, 0, std::numeric_limits<double>::quiet_NaN()};
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
    n[i] = v[i].GetDouble();
  for (size_t at : {0, 1}) {
    double limit = at == 0 ? 180 : 90;
    if (n[at] >= -limit && n[at] <= limit) continue;
    size_t mark = enter(at);
    Status st = fail(std::string(at == 0 ? "longitude " : "latitude ") + number_text(n[at]) +
                     (at == 0 ? " is outside [-180, 180]" : " is outside [-90, 90]"));
    path_.resize(mark);
    return st;
  }
  p = Point(n[0], n[1]);
  alts_.push_back(n[2]);
  if (v.Size() == 3) has_alt_ = true;
  return Status::Ok();
}

Status Parser::positions(const JsonValue& v, std::vector<Point>& out) {
  TSUNAGU_RETURN_IF_ERROR(array(v, "positions"));
  out.resize(v.Size());
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    size_t mark = enter(i);
    TSUNAGU_RETURN_IF_ERROR(position(v[i], out[i]));
    path_.resize(mark);
  }
  return Status::Ok();
}

Status Parser::line(const JsonValue& v, LineString& out) {
  std::vector<Point> pts;
  TSUNAGU_RETURN_IF_ERROR(positions(v, pts));
  if (pts.size() < 2) return fail("LineString needs at least 2 positions");
  out.assign(pts.begin(), pts.end());
  // Boost reports a line of one repeated position as too few points (PostGIS: "Too few points").
  // Judged on the lattice: positions less than 1e-7 degree apart are one position there.
  if (validity(on_lattice(out)) != bg::no_failure) {
    return fail("LineString needs at least 2 distinct positions");
  }
  return Status::Ok();
}

Status Parser::polygon(const JsonValue& v, Polygon& out) {
  TSUNAGU_RETURN_IF_ERROR(array(v, "linear rings"));
  if (v.Empty()) return fail("Polygon needs at least 1 ring");
  out.clear();
  out.inners().resize(v.Size() - 1);
  std::vector<size_t> alt_begin;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    alt_begin.push_back(alts_.size());
    std::vector<Point> pts;
    size_t mark = enter(i);
    TSUNAGU_RETURN_IF_ERROR(positions(v[i], pts));
    path_.resize(mark);
    std::string ring = "Polygon ring " + std::to_string(i);
    // RFC 7946 §3.1.6: a linear ring has four or more positions, the first equal to the last.
    if (pts.size() < 4) return fail(ring + " needs at least 4 positions");
    size_t last = alt_begin.back() + pts.size() - 1;
    bool same_alt = std::isnan(alts_[alt_begin.back()]) ? std::isnan(alts_[last])
                                                        : alts_[alt_begin.back()] == alts_[last];
    if (!bg::equals(pts.front(), pts.back()) || !same_alt) {
      return fail(ring + " is not closed (first and last positions differ)");
    }
    auto& r = i == 0 ? out.outer() : out.inners()[i - 1];
    r.assign(pts.begin(), pts.end());
  }
  return check_rings(out, alt_begin);
}

// Reorients rings to the right-hand rule (RFC 7946 §3.1.6 tells parsers not to reject the other
// orientation) and checks validity the way PostGIS ST_IsValid does, ring by ring first so the
// detail can name the ring. Both are decided on the lattice the relations use (lattice.hpp), so
// that every accepted shape is valid there.
Status Parser::check_rings(Polygon& poly, const std::vector<size_t>& alt_begin) {
  for (size_t i = 0; i < alt_begin.size(); ++i) {
    auto& r = i == 0 ? poly.outer() : poly.inners()[i - 1];
    LatticePolygon alone;
    alone.outer() = on_lattice(r);
    int turn = orientation(alone.outer());
    if ((i == 0 && turn < 0) || (i > 0 && turn > 0)) {
      std::reverse(r.begin(), r.end());
      std::reverse(alts_.begin() + alt_begin[i], alts_.begin() + alt_begin[i] + r.size());
      std::reverse(alone.outer().begin(), alone.outer().end());
    }
    if (i > 0) std::reverse(alone.outer().begin(), alone.outer().end());
    bg::validity_failure_type why = validity(alone);
    if (why == bg::no_failure) continue;
    std::string ring = "Polygon ring " + std::to_string(i);
    switch (why) {
      case bg::failure_few_points:
        return fail(ring + " needs at least 3 distinct positions");
      case bg::failure_wrong_topological_dimension:
        return fail(ring + " encloses no area");
      case bg::failure_spikes:
        return fail(ring + " has a spike (it turns back on itself)");
      case bg::failure_self_intersections:
        return fail("polygon ring " + std::to_string(i) + " crosses itself");
      case bg::failure_wrong_orientation:
        // Only a zero signed area survives the reorientation above. Boost looks at the area
        // before looking for crossings; unless the ring is flat, its lobes balance.
        if (!collinear(alone.outer())) {
          return fail("polygon ring " + std::to_string(i) + " crosses itself");
        }
        return fail(ring + " encloses no area");
      default:
        return fail(ring + " is invalid: " + validity_message(alone));
    }
  }
  const LatticePolygon lattice = on_lattice(poly);
  const bg::validity_failure_type why = validity(lattice);
  if (why == bg::no_failure) return Status::Ok();
  switch (why) {
    case bg::failure_interior_rings_outside:
      for (size_t j = 0; j < lattice.inners().size(); ++j) {
        LatticePolygon hole, shell;
        hole.outer().assign(lattice.inners()[j].rbegin(), lattice.inners()[j].rend());
        shell.outer() = lattice.outer();
        // Covered: no part of the hole's interior or boundary outside the shell.
        const std::string m = de9im(hole, shell);
        if (m[2] != 'F' || m[5] != 'F') {
          return fail("Polygon ring " + std::to_string(j + 1) + " lies outside ring 0");
        }
      }
      return fail("a Polygon hole lies outside ring 0");
    case bg::failure_nested_interior_rings:
      return fail("Polygon holes are nested in each other");
    case bg::failure_disconnected_interior:
      return fail("Polygon holes split its interior into disconnected parts");
    case bg::failure_self_intersections:
      return fail("Polygon rings cross each other");
    default:
      return fail("Polygon is invalid: " + validity_message(lattice));
  }
}

// OGC Simple Features (and ST_IsValid): the polygons of a MultiPolygon may touch at finitely
// many points, so their interiors must not meet and their boundaries must not share a stretch
// of edge. Decided on the lattice, as check_rings() is.
Status Parser::check_multipolygon(const MultiPolygon& mp) {
  LatticeMultiPolygon lattice;
  for (const Polygon& poly : mp)
    lattice.push_back(on_lattice(poly));
  if (validity(lattice) == bg::no_failure) return Status::Ok();
  for (size_t i = 0; i < lattice.size(); ++i) {
    for (size_t j = i + 1; j < lattice.size(); ++j) {
      const std::string m = de9im(lattice[i], lattice[j]);
      const std::string pair = std::to_string(i) + " and " + std::to_string(j);
      if (m[0] != 'F') return fail("MultiPolygon polygons " + pair + " overlap");
      if (m[4] == '1') return fail("MultiPolygon polygons " + pair + " share part of an edge");
    }
  }
  return fail("MultiPolygon is invalid: " + validity_message(lattice));
}

Result<Geometry> Parser::coordinates(GeometryType type, const JsonValue& c) {
  Geometry::Shape shape;
  switch (type) {
    case GeometryType::kPoint: {
      Point p;
      TSUNAGU_RETURN_IF_ERROR(position(c, p));
      shape = p;
      break;
    }
    case GeometryType::kMultiPoint: {
      std::vector<Point> pts;
      TSUNAGU_RETURN_IF_ERROR(positions(c, pts));
      if (pts.empty()) return fail("MultiPoint needs at least 1 position");
      shape = MultiPoint(pts.begin(), pts.end());
      break;
    }
    case GeometryType::kLineString: {
      LineString l;
      TSUNAGU_RETURN_IF_ERROR(line(c, l));
      shape = std::move(l);
      break;
    }
    case GeometryType::kMultiLineString: {
      TSUNAGU_RETURN_IF_ERROR(array(c, "LineStrings"));
      if (c.Empty()) return fail("MultiLineString needs at least 1 LineString");
      MultiLineString ml;
      ml.resize(c.Size());
      for (rapidjson::SizeType i = 0; i < c.Size(); ++i) {
        size_t mark = enter(i);
        TSUNAGU_RETURN_IF_ERROR(line(c[i], ml[i]));
        path_.resize(mark);
      }
      shape = std::move(ml);
      break;
    }
    case GeometryType::kPolygon: {
      Polygon poly;
      TSUNAGU_RETURN_IF_ERROR(polygon(c, poly));
      shape = std::move(poly);
      break;
    }
    case GeometryType::kMultiPolygon: {
      TSUNAGU_RETURN_IF_ERROR(array(c, "Polygons"));
      if (c.Empty()) return fail("MultiPolygon needs at least 1 Polygon");
      MultiPolygon mp;
      mp.resize(c.Size());
      for (rapidjson::SizeType i = 0; i < c.Size(); ++i) {
        size_t mark = enter(i);
        TSUNAGU_RETURN_IF_ERROR(polygon(c[i], mp[i]));
        path_.resize(mark);
      }
      TSUNAGU_RETURN_IF_ERROR(check_multipolygon(mp));
      shape = std::move(mp);
      break;
    }
    case GeometryType::kGeometryCollection:
      return fail("a GeometryCollection has no coordinates");
  }
  if (!has_alt_) alts_.clear();
  return Geometry(std::move(shape), std::move(alts_));
}

Result<Geometry> Parser::geometry(const JsonValue& v) {
  if (!v.IsObject()) {
    return fail(std::string("a GeoJSON geometry must be a JSON object, got ") + json_type_name(v));
  }
  auto t = v.FindMember("type");
  if (t == v.MemberEnd()) return Status::BadRequestData(member("type") + " is missing");
  if (!t->value.IsString()) {
    return Status::BadRequestData(member("type") + " must be a string, got " +
                                  json_type_name(t->value));
  }
  std::string_view name(t->value.GetString(), t->value.GetStringLength());
  auto type = geometry_type_from_name(name);
  if (!type) {
    return Status::BadRequestData(member("type") + " '" + std::string(name.substr(0, 64)) +
                                  "' is not a GeoJSON geometry type");
  }
  if (*type != GeometryType::kGeometryCollection) {
    auto c = v.FindMember("coordinates");
    if (c == v.MemberEnd()) return Status::BadRequestData(member("coordinates") + " is missing");
    return Parser(member("coordinates")).coordinates(*type, c->value);
  }
  auto g = v.FindMember("geometries");
  if (g == v.MemberEnd()) return Status::BadRequestData(member("geometries") + " is missing");
  Parser list(member("geometries"));
  TSUNAGU_RETURN_IF_ERROR(list.array(g->value, "geometries"));
  if (g->value.Empty()) return list.fail("GeometryCollection needs at least 1 geometry");
  GeometryCollection gc;
  for (rapidjson::SizeType i = 0; i < g->value.Size(); ++i) {
    auto one = Parser(member("geometries") + "[" + std::to_string(i) + "]").geometry(g->value[i]);
    if (!one.ok()) return std::move(one).status();
    gc.members.push_back(std::move(one).value());
  }
  return Geometry(std::move(gc));
}

}  // namespace

void set_max_positions(size_t n) {
  g_max_positions.store(n, std::memory_order_relaxed);
}

size_t max_positions() {
  return g_max_positions.load(std::memory_order_relaxed);
}

Result<Geometry> parse_geojson(const JsonValue& v) {
  return Parser("").geometry(v);
}

namespace {

// The end of the JSON number (RFC 8259 §6) that starts at `p`, or null.
const char* json_number_end(const char* p, const char* end) {
  auto digit = [&](const char* q) { return q < end && *q >= '0' && *q <= '9'; };
  if (p < end && *p == '-') ++p;
  if (!digit(p)) return nullptr;
  if (*p++ != '0') {
    while (digit(p))
      ++p;
  }
  if (p < end && *p == '.') {
    if (!digit(++p)) return nullptr;
    while (digit(p))
      ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (!digit(p)) return nullptr;
    while (digit(p))
      ++p;
  }
  return p;
}

// A 2D Point written as the store writes it, {"type":"Point","coordinates":[x,y]}, read without
// building a DOM (an entity's location is read back like this on every write, to index it).
// Anything else, including a "-0" (which RapidJSON reads as the integer 0) and numbers out of
// range, is left to the general reader, which names the fault.
std::optional<Geometry> plain_point(std::string_view s) {
  constexpr std::string_view kHead = R"({"type":"Point","coordinates":[)";
  constexpr std::string_view kTail = "]}";
  if (s.size() <= kHead.size() + kTail.size() || !s.starts_with(kHead) || !s.ends_with(kTail)) {
    return std::nullopt;
  }
  const char* p = s.data() + kHead.size();
  const char* end = s.data() + s.size() - kTail.size();
  double n[2];
  for (int i = 0; i < 2; ++i) {
    const char* stop = json_number_end(p, end);
    if (stop == nullptr || (stop - p == 2 && p[0] == '-' && p[1] == '0')) return std::nullopt;
    auto r = std::from_chars(p, stop, n[i]);
    if (r.ec != std::errc() || r.ptr != stop) return std::nullopt;
    if (i == 0 && (stop == end || *stop != ',')) return std::nullopt;
    p = stop + 1;
  }
  if (p != end + 1) return std::nullopt;
  if (!(n[0] >= -180 && n[0] <= 180 && n[1] >= -90 && n[1] <= 90)) return std::nullopt;
  return Geometry(Point(n[0], n[1]));
}

}  // namespace

Result<Geometry> parse_geojson_text(std::string_view json) {
  if (auto point = plain_point(json)) return std::move(*point);
  JsonDoc doc;
  TSUNAGU_RETURN_IF_ERROR(parse_json(json, doc));
  return parse_geojson(doc);
}

Result<Geometry> parse_coordinates(GeometryType type, const JsonValue& coordinates,
                                   std::string_view path) {
  return Parser(std::string(path)).coordinates(type, coordinates);
}

}  // namespace tsunagu::ngsild::geo
