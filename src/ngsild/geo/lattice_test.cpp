#include "ngsild/geo/lattice.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ngsild/geo/algorithms.hpp"
#include "ngsild/geo/geoquery.hpp"

namespace tsunagu::ngsild::geo {
namespace {

TEST(LatticeTest, RoundsToTheNearestTenMillionthOfADegree) {
  EXPECT_EQ(to_lattice(139.7671234), 1397671234);
  EXPECT_EQ(to_lattice(-3.46875), -34687500);
  EXPECT_EQ(to_lattice(180), 1800000000);
  EXPECT_EQ(to_lattice(-90), -900000000);
  EXPECT_EQ(to_lattice(0.00000004), 0);
  EXPECT_EQ(to_lattice(-0.00000006), -1);
}

// to_lattice() rounds as std::llround does, halves and the largest double below a half
// included, and beyond the range where it computes the rounding itself.
TEST(LatticeTest, RoundsAsLlround) {
  std::vector<double> units = {0.5,
                               -0.5,
                               1.5,
                               -1.5,
                               2.5,
                               -2.5,
                               0.49999999999999994,
                               -0.49999999999999994,
                               0x1p52 - 0.5,
                               0x1p52,
                               -0x1p52,
                               1e18,
                               -1e18,
                               0,
                               -0.0};
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> degrees(-200, 200);
  for (int i = 0; i < 100000; ++i) {
    units.push_back(degrees(rng) * kLatticeUnitsPerDegree);
    // Exactly halfway between two lattice units.
    units.push_back(std::floor(units.back()) + 0.5);
  }
  for (double u : units) {
    const double d = u / kLatticeUnitsPerDegree;
    EXPECT_EQ(to_lattice(d), std::llround(d * kLatticeUnitsPerDegree)) << d;
  }
}

// The edge from (-100, -85) to (99.9999999, 84.9999997) passes half a lattice unit (in
// cross-product terms, 1 of 3.4e18) from P = (81.3953487, 69.1860462), on its right, and from
// Q = (-81.3953488, -69.1860465), on its left. Boost's own side test for int64_t points rounds
// the products to doubles and finds P on the edge.
TEST(LatticeTest, SideTestsAreExactOnLongEdges) {
  const LatticePoint s1(-1000000000, -850000000), s2(999999999, 849999997);
  const LatticePoint p(813953487, 691860462), q(-813953488, -691860465);
  EXPECT_EQ(de9im(p, LatticeLineString{s1, s2}), "FF0FFF102");
  EXPECT_EQ(de9im(q, LatticeLineString{s1, s2}), "FF0FFF102");
  const LatticePolygon triangle{{s1, s2, LatticePoint(-1000000000, 849999997), s1}};
  EXPECT_EQ(de9im(p, triangle), "FF0FFF212");
  EXPECT_EQ(de9im(q, triangle), "0FFFFF212");
  EXPECT_EQ(orientation({s1, s2, p, s1}), -1);
  EXPECT_EQ(orientation({s1, p, s2, s1}), 1);
  // Through the public door: the same point as an entity, the edge as a query.
  auto line = parse_geoquery("intersects", "LineString", "[[-100,-85],[99.9999999,84.9999997]]");
  ASSERT_TRUE(line.ok());
  EXPECT_FALSE(matches(*line, Geometry(Point(81.3953487, 69.1860462))));
  // On an edge whose differences share the factor 2, the lattice point halfway lies on it.
  const LatticePoint e2(999999998, 849999994), mid(-1, -3);
  EXPECT_EQ(de9im(mid, LatticeLineString{s1, e2}), "0FFFFF102");
  EXPECT_TRUE(collinear({s1, e2, mid, s1}));
  EXPECT_EQ(orientation({s1, e2, mid, s1}), 0);
  EXPECT_FALSE(collinear({s1, s2, p, s1}));
}

// Pairs spanning 2^31 lattice units of longitude or more (about 214.7 degrees) are decided with
// longitudes halved, so that Boost's 64-bit products cannot overflow: two diagonals of the
// whole map would need 1.3e19.
TEST(LatticeTest, WidePairsAreDecidedWithHalvedLongitudes) {
  const LatticeLineString sw_ne{LatticePoint(-1800000000, -900000000),
                                LatticePoint(1800000000, 900000000)};
  const LatticeLineString nw_se{LatticePoint(-1800000000, 900000000),
                                LatticePoint(1800000000, -900000000)};
  EXPECT_EQ(de9im(sw_ne, nw_se), "0F1FF0102");
  auto world = [](std::string_view rel) {
    auto q =
        parse_geoquery(rel, "Polygon", "[[[-180,-90],[180,-90],[180,90],[-180,90],[-180,-90]]]");
    EXPECT_TRUE(q.ok());
    return q.ok() ? std::move(q).value() : GeoQuery();
  };
  EXPECT_TRUE(matches(world("within"), Geometry(Point(179.9999998, 0))));
  EXPECT_TRUE(matches(world("within"), Geometry(Point(-179.9999998, 89.9999999))));
  EXPECT_FALSE(matches(world("within"), Geometry(Point(180, 0))));
  EXPECT_TRUE(matches(world("intersects"), Geometry(Point(180, 0))));
  // The price: an odd longitude rounds to its even neighbour, here onto the edge (PostGIS and
  // a narrower query both say within).
  EXPECT_FALSE(matches(world("within"), Geometry(Point(179.9999999, 0))));
}

TEST(LatticeTest, GeometryHoldsItsLatticeForm) {
  Geometry line(LineString{Point(-3.46875, 40.375), Point(139.7671234, 35.6895)});
  ASSERT_TRUE(std::holds_alternative<LatticeLineString>(line.lattice()));
  EXPECT_TRUE(bg::equals(
      std::get<LatticeLineString>(line.lattice()),
      LatticeLineString{LatticePoint(-34687500, 403750000), LatticePoint(1397671234, 356895000)}));
  Geometry gc(GeometryCollection{{line}});
  EXPECT_TRUE(std::holds_alternative<std::monostate>(gc.lattice()));
  EXPECT_TRUE(std::holds_alternative<LatticePoint>(Geometry().lattice()));
}

}  // namespace
}  // namespace tsunagu::ngsild::geo
