// The integer lattice on which the planar relations (within, contains, intersects, equals,
// disjoint, overlaps) and the validity checks are decided: every position rounded to a whole
// number of 1e-7 degrees. Geometry (geometry.hpp) keeps each shape in this form beside its
// doubles; geoquery.cpp and the GeoJSON parser call the predicates below.
#pragma once

// GCC 12 reports false -Wmaybe-uninitialized inside Boost.Geometry 1.74 envelope/relate code at
// -O2; the warning is located in these headers, so silencing it here leaves ours checked.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/geometry.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cmath>
#include <cstdint>
#include <string>
#include <variant>

namespace tsunagu::ngsild::geo {

namespace bg = boost::geometry;

// Lattice units per degree. 1e-7 degree is about 1.1 cm of latitude, finer than ordinary
// position fixes, and every decimal with up to 7 digits after the point lands on the lattice
// exactly.
//
// Why a lattice: Boost.Geometry 1.74 decides relations between two areas in floating point by
// first snapping both onto its own integer grid of 1e7 steps across their common bounding box
// (its "rescaling" robustness policy). A vertex lying exactly on another polygon's slanted edge
// then lands a step off it, and Boost reports crossing interiors (or none) where PostGIS, whose
// GEOS orientation predicates are exact, reports a single touching point. On integer
// coordinates Boost does not rescale, and with the 128-bit side tests of lattice.cpp every
// orientation test is exact. docs/geo.md has the details and the measurements.
inline constexpr double kLatticeUnitsPerDegree = 1e7;

using LatticePoint = bg::model::point<int64_t, 2, bg::cs::cartesian>;
using LatticeMultiPoint = bg::model::multi_point<LatticePoint>;
using LatticeLineString = bg::model::linestring<LatticePoint>;
using LatticeMultiLineString = bg::model::multi_linestring<LatticeLineString>;
// Oriented and closed as geometry.hpp's Polygon.
using LatticePolygon = bg::model::polygon<LatticePoint, /*ClockWise=*/false, /*Closed=*/true>;
using LatticeMultiPolygon = bg::model::multi_polygon<LatticePolygon>;

// Alternative i is the lattice form of alternative i of Geometry::Shape; a GeometryCollection
// has none of its own (std::monostate): its members carry theirs.
using LatticeShape =
    std::variant<LatticePoint, LatticeMultiPoint, LatticeLineString, LatticeMultiLineString,
                 LatticePolygon, LatticeMultiPolygon, std::monostate>;

// `degrees` as the nearest whole number of lattice units (halves away from zero), as
// std::llround rounds, without its library call for every coordinate (a geo-query rounds each
// candidate point): below 2^52 the truncated value and the remainder are exact.
inline int64_t to_lattice(double degrees) {
  const double v = degrees * kLatticeUnitsPerDegree;
  if (!(std::fabs(v) < 0x1p52)) return std::llround(v);
  const auto whole = static_cast<int64_t>(v);
  const double rest = v - static_cast<double>(whole);
  return whole + (rest >= 0.5) - (rest <= -0.5);
}

// The DE-9IM matrix of `a` against `b` as 9 characters of F, 0, 1, 2 (row-major: interior,
// boundary, exterior of `a` against those of `b`), e.g. "FF2F01212". Exact on the lattice, with
// one exception: when the two together span 2^31 units (about 214.7 degrees) of longitude or
// more, longitudes are halved first, so that Boost's 64-bit intermediate products cannot
// overflow; such pairs are decided at 2e-7 degree of longitude. Neither may be std::monostate.
std::string de9im(const LatticeShape& a, const LatticeShape& b);

// Where `p` lies against an area: 1 in its interior, 0 on its boundary, -1 outside it; what
// de9im(p, area) says in its first row, found by counting ring crossings with exact 128-bit side
// tests, without Boost's general relate machinery. Exact for any span (de9im() halves
// longitudes past 2^31 units; callers wanting its answer there check the span themselves).
int locate(const LatticePoint& p, const LatticePolygon& area);
int locate(const LatticePoint& p, const LatticeMultiPolygon& area);

// The OGC validity of a shape as Boost's is_valid defines it (bg::no_failure when valid), with
// the same exactness and the same exception as de9im().
bg::validity_failure_type validity(const LatticeLineString& g);
bg::validity_failure_type validity(const LatticePolygon& g);
bg::validity_failure_type validity(const LatticeMultiPolygon& g);
// Boost's wording of the failure, for the failures the parser has no words of its own for;
// positions in it are in lattice units, and it ends with " (positions in 1e-7 degrees)".
std::string validity_message(const LatticePolygon& g);
std::string validity_message(const LatticeMultiPolygon& g);

// The sign of a closed ring's area, computed exactly: 1 when counterclockwise, -1 when
// clockwise, 0 when it encloses no area (or the lobes of a figure eight balance).
int orientation(const LatticePolygon::ring_type& ring);
// Whether every position of `ring` lies on one straight line.
bool collinear(const LatticePolygon::ring_type& ring);

}  // namespace tsunagu::ngsild::geo
