#include "ngsild/geo/spatial_index.hpp"

#include <algorithm>
#include <iterator>

namespace tsunagu::ngsild::geo {

namespace bgi = boost::geometry::index;

void SpatialIndex::insert(uint64_t key, const Geometry& g) {
  const Box box = index_envelope(g);
  auto [it, fresh] = boxes_.try_emplace(key, box);
  if (!fresh) {
    tree_.remove(Entry(it->second, key));
    it->second = box;
  }
  tree_.insert(Entry(box, key));
}

bool SpatialIndex::remove(uint64_t key) {
  auto it = boxes_.find(key);
  if (it == boxes_.end()) return false;
  tree_.remove(Entry(it->second, key));
  boxes_.erase(it);
  return true;
}

void SpatialIndex::clear() {
  tree_.clear();
  boxes_.clear();
}

void SpatialIndex::query(const GeoQuery& q, std::vector<uint64_t>& out) const {
  for_each_candidate(q, [&out](uint64_t key, const Box&) { out.push_back(key); });
}

// The R-tree's own nearest search ranks by planar degrees, which stretch with latitude and break
// at the antimeridian. Its k nearest only serve to bound the geodesic distance of the true k-th
// nearest; every box within that bound is then ranked geodesically.
std::vector<std::pair<uint64_t, double>> SpatialIndex::nearest(const Point& p, size_t k) const {
  std::vector<std::pair<uint64_t, double>> out;
  if (k == 0 || tree_.empty()) return out;
  std::vector<Entry> first;
  tree_.query(bgi::nearest(p, static_cast<unsigned>(std::min(k, tree_.size()))),
              std::back_inserter(first));
  double bound = 0;
  for (const Entry& e : first)
    bound = std::max(bound, distance_m(p, e.first));

  GeoQuery around;
  around.rel = GeoRel::kNear;
  around.max_distance_m = bound;
  around.geometry = Geometry(p);
  for_each_candidate(around, [&](uint64_t key, const Box& box) {
    double d = distance_m(p, box);
    if (d <= bound) out.emplace_back(key, d);
  });
  auto closer = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second < b.second : a.first < b.first;
  };
  size_t n = std::min(k, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), closer);
  out.resize(n);
  return out;
}

}  // namespace tsunagu::ngsild::geo
