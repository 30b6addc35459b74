// A spatial index over the lon/lat boxes of entity geometries, keyed by a caller-chosen uint64_t
// (an entity's row id). It answers "which entities could match this geo-query" so that matches()
// runs on a few candidates instead of every entity; it never decides a match itself.
//
// Points, most of what a city indexes, go to a grid of kCellDegrees cells held in a hash map;
// every other shape to an R-tree. Inserting a point is a push onto its cell's array instead of a
// descent through the tree with node splits, and the points of a small search box are a few
// contiguous arrays to compare against it. docs/geo.md has the figures.
#pragma once

#include <boost/iterator/function_output_iterator.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/flat_hash_map.hpp"
#include "ngsild/geo/algorithms.hpp"  // bg::intersects, and the R-tree
#include "ngsild/geo/geometry.hpp"
#include "ngsild/geo/geoquery.hpp"

namespace tsunagu::ngsild::geo {

// Owned by one store/engine object. Not thread-safe: the owner serialises writers against
// readers (const members may run concurrently with each other only).
class SpatialIndex {
 public:
  // Indexes `g` under `key`, replacing what `key` held before.
  void insert(uint64_t key, const Geometry& g);
  // Forgets `key`; false when it was not indexed.
  bool remove(uint64_t key);
  size_t size() const { return where_.size(); }
  void clear();

  // Calls f(key, box) once for every key whose geometry may match `q`: its index box meets
  // search_boxes(q), or every key when the query cannot prune (near;minDistance, disjoint).
  // `box` is the key's index box; one with equal corners is a Point's position.
  // Order is unspecified. `f` must not modify the index.
  template <class F>
  void for_each_candidate(const GeoQuery& q, F&& f) const;
  // The same, appended to `out`.
  void query(const GeoQuery& q, std::vector<uint64_t>& out) const;

  // Cell edge of the point grid. About 1 km: a `near` of a few hundred metres or a
  // neighbourhood's polygon reads a handful of cells, and a city's points spread over hundreds
  // of them (200,000 points over a city of 36 x 33 km hold about 170 per cell).
  static constexpr double kCellDegrees = 0.01;

 private:
  using Entry = std::pair<Box, uint64_t>;
  // Quadratic split rather than R*: inserts cost a fifth (0.8-0.9 us against 4.1 us with
  // rstar<16>, `bench/run.sh --micro --benchmark_filter=SpatialIndexInsert` with 200,000 points
  // when they still went to the tree).
  using Tree = boost::geometry::index::rtree<Entry, boost::geometry::index::quadratic<16>>;
  static constexpr uint32_t kInTree = UINT32_MAX;

  struct Where {
    Box box;
    uint32_t pos;  // index in its cell's array, or kInTree
  };
  // Takes `key`'s entry (placed as `w`) out of its cell or the tree; where_ is left to the
  // caller.
  void unplace(uint64_t key, const Where& w);
  static int64_t cell_coord(double degrees);
  static uint64_t cell_key(int64_t x, int64_t y);
  // Calls f(entry) for every point of the grid inside `b` (edges included).
  template <class F>
  void for_each_point(const Box& b, F&& f) const;

  FlatHashMap<uint64_t, Where> where_;               // every key
  FlatHashMap<uint64_t, std::vector<Entry>> cells_;  // points by cell_key
  Tree tree_;                                        // the other shapes
};

inline int64_t SpatialIndex::cell_coord(double degrees) {
  // Clamped so that no coordinate can overflow the key; valid ones are far inside.
  return static_cast<int64_t>(std::floor(std::clamp(degrees, -1e6, 1e6) / kCellDegrees));
}

inline uint64_t SpatialIndex::cell_key(int64_t x, int64_t y) {
  return (static_cast<uint64_t>(x + (int64_t{1} << 31)) << 32) |
         static_cast<uint32_t>(y + (int64_t{1} << 31));
}

template <class F>
void SpatialIndex::for_each_point(const Box& b, F&& f) const {
  namespace bg = boost::geometry;
  const double x0 = bg::get<bg::min_corner, 0>(b), y0 = bg::get<bg::min_corner, 1>(b);
  const double x1 = bg::get<bg::max_corner, 0>(b), y1 = bg::get<bg::max_corner, 1>(b);
  if (cells_.empty() || x0 > x1 || y0 > y1) return;
  auto scan = [&](const std::vector<Entry>& cell) {
    for (const Entry& e : cell) {
      const double x = bg::get<bg::min_corner, 0>(e.first), y = bg::get<bg::min_corner, 1>(e.first);
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) f(e);
    }
  };
  const int64_t cx0 = cell_coord(x0), cx1 = cell_coord(x1);
  const int64_t cy0 = cell_coord(y0), cy1 = cell_coord(y1);
  // A box wider than the occupied cells (a country, the globe) visits the occupied cells.
  const double covered =
      (static_cast<double>(cx1 - cx0) + 1) * (static_cast<double>(cy1 - cy0) + 1);
  if (covered > static_cast<double>(cells_.size())) {
    for (const auto& [key, cell] : cells_) {
      const int64_t cx = static_cast<int64_t>(key >> 32) - (int64_t{1} << 31);
      const int64_t cy = static_cast<int64_t>(key & 0xffffffffu) - (int64_t{1} << 31);
      if (cx >= cx0 && cx <= cx1 && cy >= cy0 && cy <= cy1) scan(cell);
    }
    return;
  }
  for (int64_t cx = cx0; cx <= cx1; ++cx) {
    for (int64_t cy = cy0; cy <= cy1; ++cy) {
      auto it = cells_.find(cell_key(cx, cy));
      if (it != cells_.end()) scan(it->second);
    }
  }
}

template <class F>
void SpatialIndex::for_each_candidate(const GeoQuery& q, F&& f) const {
  namespace bg = boost::geometry;
  namespace bgi = boost::geometry::index;
  const SearchBoxes sb = search_boxes(q);
  if (!sb.prunes) {
    for (const auto& kv : where_)
      f(kv.first, kv.second.box);
    return;
  }
  auto emit = [&f](const Entry& e) { f(e.second, e.first); };
  for_each_point(sb.boxes[0], emit);
  if (!tree_.empty())
    tree_.query(bgi::intersects(sb.boxes[0]), boost::make_function_output_iterator(emit));
  // A box meeting both halves of an area cut at the antimeridian is reported once.
  if (sb.count == 2) {
    for_each_point(sb.boxes[1], [&](const Entry& e) {
      if (!bg::intersects(e.first, sb.boxes[0])) emit(e);
    });
    if (!tree_.empty()) {
      tree_.query(bgi::intersects(sb.boxes[1]) && !bgi::intersects(sb.boxes[0]),
                  boost::make_function_output_iterator(emit));
    }
  }
}

}  // namespace tsunagu::ngsild::geo
