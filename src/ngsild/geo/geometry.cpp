#include "ngsild/geo/geometry.hpp"

#include <cmath>

#include "common/json_writer.hpp"
#include "ngsild/geo/algorithms.hpp"

namespace tsunagu::ngsild::geo {
namespace {

constexpr std::string_view kTypeNames[] = {
    "Point",   "MultiPoint",   "LineString",        "MultiLineString",
    "Polygon", "MultiPolygon", "GeometryCollection"};

template <class Out, class In>
Out positions_on_lattice(const In& positions) {
  Out out;
  out.reserve(positions.size());
  for (const Point& p : positions)
    out.push_back(on_lattice(p));
  return out;
}

LatticeShape lattice_of(const Geometry::Shape& shape) {
  return std::visit(
      [](const auto& s) -> LatticeShape {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, GeometryCollection>) {
          return std::monostate();
        } else if constexpr (std::is_same_v<T, MultiPoint>) {
          return positions_on_lattice<LatticeMultiPoint>(s);
        } else if constexpr (std::is_same_v<T, MultiLineString>) {
          LatticeMultiLineString out;
          for (const auto& line : s)
            out.push_back(on_lattice(line));
          return out;
        } else if constexpr (std::is_same_v<T, MultiPolygon>) {
          LatticeMultiPolygon out;
          for (const auto& poly : s)
            out.push_back(on_lattice(poly));
          return out;
        } else {
          return on_lattice(s);
        }
      },
      shape);
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

LatticePoint on_lattice(const Point& p) {
  return LatticePoint(to_lattice(bg::get<0>(p)), to_lattice(bg::get<1>(p)));
}

LatticeLineString on_lattice(const LineString& line) {
  return positions_on_lattice<LatticeLineString>(line);
}

LatticePolygon::ring_type on_lattice(const Polygon::ring_type& ring) {
  return positions_on_lattice<LatticePolygon::ring_type>(ring);
}

LatticePolygon on_lattice(const Polygon& poly) {
  LatticePolygon out;
  out.outer() = on_lattice(poly.outer());
  for (const auto& ring : poly.inners())
    out.inners().push_back(on_lattice(ring));
  return out;
}

void leaves(const Geometry& g, std::vector<const Geometry*>& out) {
  if (const auto* gc = g.get_if<GeometryCollection>()) {
    for (const auto& m : gc->members)
      leaves(m, out);
  } else {
    out.push_back(&g);
  }
}

Geometry::Geometry(Shape shape, std::vector<double> altitudes)
    : shape_(std::move(shape)), lattice_(lattice_of(shape_)), altitudes_(std::move(altitudes)) {}

std::string_view type_name(GeometryType t) {
  return kTypeNames[static_cast<size_t>(t)];
}

std::optional<GeometryType> geometry_type_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == name) return static_cast<GeometryType>(i);
  }
  return std::nullopt;
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
