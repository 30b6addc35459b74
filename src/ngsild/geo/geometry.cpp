#include "ngsild/geo/geometry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/json_writer.hpp"

namespace tsunagu::ngsild::geo {
namespace {

constexpr std::string_view kTypeNames[] = {
    "Point",   "MultiPoint",   "LineString",        "MultiLineString",
    "Polygon", "MultiPolygon", "GeometryCollection"};

std::string number_text(double d) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

// Twice the signed area (shoelace); positive for a counterclockwise ring.
double signed_area2(const Polygon::ring_type& ring) {
  double sum = 0;
  for (size_t i = 0; i + 1 < ring.size(); ++i) {
    sum += bg::get<0>(ring[i]) * bg::get<1>(ring[i + 1]) -
           bg::get<0>(ring[i + 1]) * bg::get<1>(ring[i]);
  }
  return sum;
}

// Reads coordinates with a JSON path that names the fault, collecting altitudes on the way.
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
  if (!bg::is_valid(out)) return fail("LineString needs at least 2 distinct positions");
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
// detail can name the ring.
Status Parser::check_rings(Polygon& poly, const std::vector<size_t>& alt_begin) {
  for (size_t i = 0; i < alt_begin.size(); ++i) {
    auto& r = i == 0 ? poly.outer() : poly.inners()[i - 1];
    double a2 = signed_area2(r);
    if ((i == 0 && a2 < 0) || (i > 0 && a2 > 0)) {
      std::reverse(r.begin(), r.end());
      std::reverse(alts_.begin() + alt_begin[i], alts_.begin() + alt_begin[i] + r.size());
    }
    Polygon alone;
    alone.outer() = r;
    if (i > 0) std::reverse(alone.outer().begin(), alone.outer().end());
    bg::validity_failure_type why;
    if (bg::is_valid(alone, why)) continue;
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
        // Only a zero signed area survives the reorientation above: a figure eight whose
        // lobes balance, which Boost reports as misoriented before looking for crossings.
        if (bg::intersects(alone)) {
          return fail("polygon ring " + std::to_string(i) + " crosses itself");
        }
        return fail(ring + " encloses no area");
      default: {
        std::string msg;
        bg::is_valid(alone, msg);
        return fail(ring + " is invalid: " + msg);
      }
    }
  }
  bg::validity_failure_type why;
  if (bg::is_valid(poly, why)) return Status::Ok();
  switch (why) {
    case bg::failure_interior_rings_outside:
      for (size_t j = 0; j < poly.inners().size(); ++j) {
        Polygon hole;
        hole.outer().assign(poly.inners()[j].rbegin(), poly.inners()[j].rend());
        Polygon shell;
        shell.outer() = poly.outer();
        if (!bg::covered_by(hole, shell)) {
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
    default: {
      std::string msg;
      bg::is_valid(poly, msg);
      return fail("Polygon is invalid: " + msg);
    }
  }
}

// OGC Simple Features (and ST_IsValid): the polygons of a MultiPolygon may touch at points but
// their interiors must not meet.
Status Parser::check_multipolygon(const MultiPolygon& mp) {
  bg::validity_failure_type why;
  if (bg::is_valid(mp, why)) return Status::Ok();
  for (size_t i = 0; i < mp.size(); ++i) {
    for (size_t j = i + 1; j < mp.size(); ++j) {
      if (bg::relate(mp[i], mp[j], bg::de9im::mask("T********"))) {
        return fail("MultiPolygon polygons " + std::to_string(i) + " and " + std::to_string(j) +
                    " overlap");
      }
    }
  }
  std::string msg;
  bg::is_valid(mp, msg);
  return fail("MultiPolygon is invalid: " + msg);
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

// Writes positions in stored order, taking altitudes from the geometry's list as it goes.
class Renderer {
 public:
  Renderer(JsonWriter& w, const std::vector<double>& alts) : w_(w), alts_(alts) {}

  void position(const Point& p) {
    w_.begin_array();
    w_.number(bg::get<0>(p));
    w_.number(bg::get<1>(p));
    if (next_ < alts_.size() && !std::isnan(alts_[next_])) w_.number(alts_[next_]);
    ++next_;
    w_.end_array();
  }
  template <class Range>
  void positions(const Range& r) {
    w_.begin_array();
    for (const auto& p : r)
      position(p);
    w_.end_array();
  }
  void polygon(const Polygon& poly) {
    w_.begin_array();
    positions(poly.outer());
    for (const auto& ring : poly.inners())
      positions(ring);
    w_.end_array();
  }
  template <class Multi, class F>
  void each(const Multi& m, F f) {
    w_.begin_array();
    for (const auto& part : m)
      (this->*f)(part);
    w_.end_array();
  }

 private:
  JsonWriter& w_;
  const std::vector<double>& alts_;
  size_t next_ = 0;
};

void write_geometry(const Geometry& g, JsonWriter& w) {
  w.begin_object();
  w.key("type");
  w.string(type_name(g.type()));
  if (const auto* gc = g.get_if<GeometryCollection>()) {
    w.key("geometries");
    w.begin_array();
    for (const auto& m : gc->members)
      write_geometry(m, w);
    w.end_array();
    w.end_object();
    return;
  }
  w.key("coordinates");
  Renderer r(w, g.altitudes());
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, Point>)
          r.position(s);
        else if constexpr (std::is_same_v<T, MultiPoint> || std::is_same_v<T, LineString>)
          r.positions(s);
        else if constexpr (std::is_same_v<T, MultiLineString>)
          r.each(s, &Renderer::positions<LineString>);
        else if constexpr (std::is_same_v<T, Polygon>)
          r.polygon(s);
        else if constexpr (std::is_same_v<T, MultiPolygon>)
          r.each(s, &Renderer::polygon);
      },
      g.shape());
  w.end_object();
}

}  // namespace

std::string_view type_name(GeometryType t) {
  return kTypeNames[static_cast<size_t>(t)];
}

std::optional<GeometryType> geometry_type_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == name) return static_cast<GeometryType>(i);
  }
  return std::nullopt;
}

Result<Geometry> parse_geojson(const JsonValue& v) {
  return Parser("").geometry(v);
}

Result<Geometry> parse_geojson_text(std::string_view json) {
  JsonDoc doc;
  TSUNAGU_RETURN_IF_ERROR(parse_json(json, doc));
  return parse_geojson(doc);
}

Result<Geometry> parse_coordinates(GeometryType type, const JsonValue& coordinates,
                                   std::string_view path) {
  return Parser(std::string(path)).coordinates(type, coordinates);
}

Box envelope(const Geometry& g) {
  if (const auto* gc = g.get_if<GeometryCollection>()) {
    Box box = envelope(gc->members.front());
    for (size_t i = 1; i < gc->members.size(); ++i)
      bg::expand(box, envelope(gc->members[i]));
    return box;
  }
  return std::visit(
      [](const auto& s) -> Box {
        if constexpr (std::is_same_v<std::decay_t<decltype(s)>, GeometryCollection>) {
          return {};
        } else {
          return bg::return_envelope<Box>(s);
        }
      },
      g.shape());
}

std::string to_geojson(const Geometry& g) {
  std::string out;
  append_geojson(g, out);
  return out;
}

void append_geojson(const Geometry& g, std::string& out) {
  JsonWriter w(out);
  write_geometry(g, w);
}

}  // namespace tsunagu::ngsild::geo
