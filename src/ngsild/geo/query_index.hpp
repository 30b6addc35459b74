// The reverse of SpatialIndex: geo-queries (a subscription's geoQ) indexed by the boxes a
// matching geometry must meet (search_boxes()), keyed by a caller-chosen uint64_t. It answers
// "which of these queries could this entity's geometry match", so that a change is tried against
// a few geo-subscriptions instead of all of them; it never decides a match itself. A query that
// cannot prune (near;minDistance, disjoint: matches may lie anywhere) is not taken; the caller
// keeps it with what is tried for every change. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/flat_hash_map.hpp"
#include "ngsild/geo/algorithms.hpp"
#include "ngsild/geo/geometry.hpp"
#include "ngsild/geo/geoquery.hpp"

namespace tsunagu::ngsild::geo {

class QueryIndex {
 public:
  // Indexes `q` under `key` (replacing what `key` held); false, and nothing indexed, when `q`
  // cannot prune.
  bool insert(uint64_t key, const GeoQuery& q);
  // Forgets `key`; false when it was not indexed.
  bool remove(uint64_t key);
  size_t size() const { return boxes_.size(); }
  bool empty() const { return boxes_.empty(); }

  // Appends every key whose query's boxes meet index_envelope(g) (a key may come twice when its
  // query has two boxes, across the antimeridian).
  void candidates(const Geometry& g, std::vector<uint64_t>& out) const;

 private:
  using Entry = std::pair<Box, uint64_t>;
  using Tree = boost::geometry::index::rtree<Entry, boost::geometry::index::quadratic<16>>;
  Tree tree_;
  FlatHashMap<uint64_t, SearchBoxes> boxes_;  // what each key was indexed under, to remove it
};

}  // namespace tsunagu::ngsild::geo
