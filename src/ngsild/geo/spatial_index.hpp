// An R-tree over the lon/lat boxes of entity geometries, keyed by a caller-chosen uint64_t (an
// entity's row id). It answers "which entities could match this geo-query" so that matches()
// runs on a few candidates instead of every entity; it never decides a match itself.
#pragma once

// See lattice.hpp: GCC 12 false positives inside Boost.Geometry.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/geometry/index/rtree.hpp>
#pragma GCC diagnostic pop
#include <boost/iterator/function_output_iterator.hpp>

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

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
  size_t size() const { return boxes_.size(); }
  void clear();

  // Calls f(key, box) once for every key whose geometry may match `q`: its index box meets
  // search_boxes(q), or every key when the query cannot prune (near;minDistance, disjoint).
  // `box` is the key's index box; one with equal corners is a Point's position.
  // Order is unspecified. `f` must not modify the index.
  template <class F>
  void for_each_candidate(const GeoQuery& q, F&& f) const;
  // The same, appended to `out`.
  void query(const GeoQuery& q, std::vector<uint64_t>& out) const;

  // Up to k keys nearest to `p` by geodesic distance (metres) to their index boxes, nearest
  // first, with that distance. For point geometries this is the entity's own distance; for
  // other shapes it is a lower bound the caller refines with distance_m().
  std::vector<std::pair<uint64_t, double>> nearest(const Point& p, size_t k) const;

 private:
  using Entry = std::pair<Box, uint64_t>;
  // Quadratic split rather than R*: `bench/run.sh --micro --benchmark_filter=SpatialIndex`
  // (200,000 points over a city) gives 0.8-0.9 us per insert against 4.1 us with rstar<16>, and
  // 6.6-7.8 us against 3.8 us for the candidates of a 500 m `near`. Every created entity pays the
  // insert when it is committed; a geo-query's cost is dominated by rendering its matches.
  using Tree = boost::geometry::index::rtree<Entry, boost::geometry::index::quadratic<16>>;

  Tree tree_;
  // key -> the box it was indexed under, so that removal needs only the key.
  std::unordered_map<uint64_t, Box> boxes_;
};

template <class F>
void SpatialIndex::for_each_candidate(const GeoQuery& q, F&& f) const {
  namespace bgi = boost::geometry::index;
  const SearchBoxes sb = search_boxes(q);
  if (!sb.prunes) {
    for (const auto& kv : boxes_)
      f(kv.first, kv.second);
    return;
  }
  auto emit = boost::make_function_output_iterator([&f](const Entry& e) { f(e.second, e.first); });
  tree_.query(bgi::intersects(sb.boxes[0]), emit);
  // A box meeting both halves of an area cut at the antimeridian is reported once.
  if (sb.count == 2)
    tree_.query(bgi::intersects(sb.boxes[1]) && !bgi::intersects(sb.boxes[0]), emit);
}

}  // namespace tsunagu::ngsild::geo
