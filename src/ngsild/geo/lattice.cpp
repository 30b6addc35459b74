#include "ngsild/geo/lattice.hpp"
#include "ngsild/geo/algorithms.hpp"

#include <algorithm>
#include <compare>
#include <concepts>
#include <limits>

namespace tsunagu::ngsild::geo {
namespace {

class Int128;

// An Int128 with an Int128 or a built-in integer, in either order.
template <class A, class B>
concept Mixed = (std::same_as<A, Int128> && (std::same_as<B, Int128> || std::integral<B>)) ||
                (std::integral<A> && std::same_as<B, Int128>);

// Boost.Geometry's CalculationType for lattice coordinates: exact 128-bit integers. Left to
// itself, Boost computes the side test of int64_t points in double (select_most_precise prefers
// a floating type to an integral one), and the 53-bit products of two 32-bit differences round:
// a point one lattice step off a 200-degree edge reads as lying on it (LatticeTest). Boost
// keeps a class type as the calculation type throughout (it is not "fundamental"), and the
// differences of lattice coordinates (below 2^33) multiply and subtract within 128 bits.
class Int128 {
 public:
  constexpr Int128() = default;
  template <std::integral I>
  constexpr Int128(I v) : v_(v) {}  // NOLINT(google-explicit-constructor): Boost converts.
  // Boost writes the intersection points it computes back into int64_t coordinates.
  constexpr operator int64_t() const { return static_cast<int64_t>(v_); }  // NOLINT

  constexpr Int128 operator-() const { return raw(-v_); }
  constexpr Int128& operator+=(Int128 b) { return *this = raw(v_ + b.v_); }
  constexpr Int128& operator-=(Int128 b) { return *this = raw(v_ - b.v_); }
  // Both conversions being implicit, a mixed operation must match exactly to be unambiguous.
  template <class A, class B>
  requires Mixed<A, B>
  friend constexpr Int128 operator+(A a, B b) { return raw(wide(a) + wide(b)); }
  template <class A, class B>
  requires Mixed<A, B>
  friend constexpr Int128 operator-(A a, B b) { return raw(wide(a) - wide(b)); }
  template <class A, class B>
  requires Mixed<A, B>
  friend constexpr Int128 operator*(A a, B b) { return raw(wide(a) * wide(b)); }
  template <class A, class B>
  requires Mixed<A, B>
  friend constexpr Int128 operator/(A a, B b) { return raw(wide(a) / wide(b)); }
  template <class A, class B>
  requires Mixed<A, B>
  friend constexpr bool operator==(A a, B b) { return wide(a) == wide(b); }
  template <class A, class B>
  requires Mixed<A, B>
  friend constexpr auto operator<=>(A a, B b) { return wide(a) <=> wide(b); }

 private:
  static constexpr Int128 raw(__int128 v) {
    Int128 r;
    r.v_ = v;
    return r;
  }
  static constexpr __int128 wide(Int128 x) { return x.v_; }
  static constexpr __int128 wide(std::integral auto x) { return x; }

  __int128 v_ = 0;
};

// The strategies that make Boost compute with Int128: segment against segment (which brings
// its side test and point-in-polygon strategy with it) and point against anything.
using Segments = bg::strategy::intersection::cartesian_segments<Int128>;
using Winding = bg::strategy::within::cartesian_winding<void, void, Int128>;

// Boost's segment intersection (Cramer's rule) and its collinear turn handling compute in the
// coordinate type itself, not in Int128: sums of two products of coordinate differences. With
// every difference below 2^31 (latitudes differ by at most 1.8e9 units anyway) each product
// stays below 2^62 and each sum below 2^63.
constexpr int64_t kMaxLongitudeSpan = int64_t{1} << 31;

// Rounds half away from zero, as to_lattice() does.
int64_t halve(int64_t v) {
  return v >= 0 ? (v + 1) / 2 : -((-v + 1) / 2);
}

template <class G>
void halve_longitudes(G& g) {
  bg::for_each_point(g, [](LatticePoint& p) { bg::set<0>(p, halve(bg::get<0>(p))); });
}

// Whether the positions of all `gs` together span kMaxLongitudeSpan or more.
template <class... G>
bool too_wide(const G&... gs) {
  int64_t west = std::numeric_limits<int64_t>::max(), east = std::numeric_limits<int64_t>::min();
  auto add = [&](const LatticePoint& p) {
    west = std::min(west, bg::get<0>(p));
    east = std::max(east, bg::get<0>(p));
  };
  (bg::for_each_point(gs, add), ...);
  return west <= east && east - west >= kMaxLongitudeSpan;
}

template <class A, class B>
std::string exact_relation(const A& a, const B& b) {
  constexpr bool a_points = bg::topological_dimension<A>::value == 0;
  constexpr bool b_points = bg::topological_dimension<B>::value == 0;
  if constexpr (a_points && b_points) {
    return bg::relation(a, b).str();  // comparisons only: exact for any coordinate type
  } else if constexpr (a_points || b_points) {
    return bg::relation(a, b, Winding()).str();
  } else {
    return bg::relation(a, b, Segments()).str();
  }
}

// Boost's is_valid with `Out` (a failure type or a message) on `g`, halving longitudes as
// de9im() does when `g` spans too many.
template <class G, class Out>
Out checked(const G& g, Out why) {
  if (!too_wide(g)) {
    bg::is_valid(g, why, Segments());
    return why;
  }
  G half = g;
  halve_longitudes(half);
  bg::is_valid(half, why, Segments());
  return why;
}

}  // namespace

std::string de9im(const LatticeShape& a, const LatticeShape& b) {
  return std::visit(
      [](const auto& x, const auto& y) -> std::string {
        using X = std::decay_t<decltype(x)>;
        using Y = std::decay_t<decltype(y)>;
        if constexpr (std::is_same_v<X, std::monostate> || std::is_same_v<Y, std::monostate>) {
          return "FFFFFFFFF";  // unreachable: collections are judged member by member
        } else {
          if (!too_wide(x, y)) return exact_relation(x, y);
          X hx = x;
          Y hy = y;
          halve_longitudes(hx);
          halve_longitudes(hy);
          return exact_relation(hx, hy);
        }
      },
      a, b);
}

namespace {

// locate() for one closed ring: 0 on it, 1 inside, -1 outside. A ray from `p` towards +x
// crosses an edge when the edge's ends lie on either side of p's row (the lower end counting as
// above, so that a vertex on the row is crossed once) and p lies left of the edge as it rises.
int locate_in_ring(const LatticePoint& p, const LatticePolygon::ring_type& ring) {
  const int64_t px = bg::get<0>(p), py = bg::get<1>(p);
  bool inside = false;
  for (size_t i = 0; i + 1 < ring.size(); ++i) {
    const int64_t ax = bg::get<0>(ring[i]), ay = bg::get<1>(ring[i]);
    const int64_t bx = bg::get<0>(ring[i + 1]), by = bg::get<1>(ring[i + 1]);
    const bool crosses_row = (ay > py) != (by > py);
    const bool in_box = std::min(ax, bx) <= px && px <= std::max(ax, bx) &&
                        std::min(ay, by) <= py && py <= std::max(ay, by);
    if (!crosses_row && !in_box) continue;  // most edges: no product needed
    // Twice the signed area of (a, b, p): > 0 when p is left of a -> b.
    const __int128 side =
        static_cast<__int128>(bx - ax) * (py - ay) - static_cast<__int128>(by - ay) * (px - ax);
    if (side == 0 && in_box) return 0;
    if (crosses_row && (side > 0) == (by > ay)) inside = !inside;
  }
  return inside ? 1 : -1;
}

}  // namespace

int locate(const LatticePoint& p, const LatticePolygon& area) {
  const int outer = locate_in_ring(p, area.outer());
  if (outer != 1) return outer;
  for (const auto& hole : area.inners()) {
    const int in_hole = locate_in_ring(p, hole);
    if (in_hole != -1) return -in_hole;  // on a hole's ring: boundary; inside it: outside
  }
  return 1;
}

int locate(const LatticePoint& p, const LatticeMultiPolygon& area) {
  // The parts of a valid multipolygon meet at most at points of their boundaries.
  int best = -1;
  for (const auto& part : area) {
    best = std::max(best, locate(p, part));
    if (best == 1) break;
  }
  return best;
}

bg::validity_failure_type validity(const LatticeLineString& g) {
  return checked(g, bg::no_failure);
}

bg::validity_failure_type validity(const LatticePolygon& g) {
  return checked(g, bg::no_failure);
}

bg::validity_failure_type validity(const LatticeMultiPolygon& g) {
  return checked(g, bg::no_failure);
}

std::string validity_message(const LatticePolygon& g) {
  return checked(g, std::string()) + " (positions in 1e-7 degrees)";
}

std::string validity_message(const LatticeMultiPolygon& g) {
  return checked(g, std::string()) + " (positions in 1e-7 degrees)";
}

int orientation(const LatticePolygon::ring_type& ring) {
  // Shoelace on differences from the first position: each term is below 2^64 in magnitude.
  __int128 sum = 0;
  for (size_t i = 1; i + 1 < ring.size(); ++i) {
    const __int128 x1 = bg::get<0>(ring[i]) - bg::get<0>(ring[0]);
    const __int128 y1 = bg::get<1>(ring[i]) - bg::get<1>(ring[0]);
    const __int128 x2 = bg::get<0>(ring[i + 1]) - bg::get<0>(ring[0]);
    const __int128 y2 = bg::get<1>(ring[i + 1]) - bg::get<1>(ring[0]);
    sum += x1 * y2 - x2 * y1;
  }
  return sum > 0 ? 1 : sum < 0 ? -1 : 0;
}

bool collinear(const LatticePolygon::ring_type& ring) {
  for (size_t i = 1; i < ring.size(); ++i) {
    if (bg::equals(ring[i], ring[0])) continue;
    // ring[i] is the first position apart from ring[0]: every other must lie on their line.
    const __int128 dx = bg::get<0>(ring[i]) - bg::get<0>(ring[0]);
    const __int128 dy = bg::get<1>(ring[i]) - bg::get<1>(ring[0]);
    return std::all_of(ring.begin(), ring.end(), [&](const LatticePoint& p) {
      const __int128 px = bg::get<0>(p) - bg::get<0>(ring[0]);
      const __int128 py = bg::get<1>(p) - bg::get<1>(ring[0]);
      return dx * py == dy * px;
    });
  }
  return true;
}

}  // namespace tsunagu::ngsild::geo
