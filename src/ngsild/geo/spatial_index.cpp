#include "ngsild/geo/spatial_index.hpp"
#include "ngsild/geo/algorithms.hpp"

namespace tsunagu::ngsild::geo {

void SpatialIndex::insert(uint64_t key, const Geometry& g) {
  namespace bg = boost::geometry;
  const Box box = index_envelope(g);
  auto [it, fresh] = where_.try_emplace(key);
  if (!fresh) unplace(key, it->second);  // no insertion into where_: `it` stays valid
  const double x = bg::get<bg::min_corner, 0>(box), y = bg::get<bg::min_corner, 1>(box);
  if (x == bg::get<bg::max_corner, 0>(box) && y == bg::get<bg::max_corner, 1>(box)) {
    auto& cell = cells_[cell_key(cell_coord(x), cell_coord(y))];
    it->second = Where{box, static_cast<uint32_t>(cell.size())};
    cell.emplace_back(box, key);
    return;
  }
  it->second = Where{box, kInTree};
  tree_.insert(Entry(box, key));
}

bool SpatialIndex::remove(uint64_t key) {
  auto it = where_.find(key);
  if (it == where_.end()) return false;
  const Where w = it->second;
  where_.erase(it);
  unplace(key, w);
  return true;
}

void SpatialIndex::unplace(uint64_t key, const Where& w) {
  namespace bg = boost::geometry;
  if (w.pos == kInTree) {
    tree_.remove(Entry(w.box, key));
    return;
  }
  auto cell = cells_.find(cell_key(cell_coord(bg::get<bg::min_corner, 0>(w.box)),
                                   cell_coord(bg::get<bg::min_corner, 1>(w.box))));
  std::vector<Entry>& entries = cell->second;
  if (w.pos + 1 != entries.size()) {
    entries[w.pos] = entries.back();
    where_.find(entries[w.pos].second)->second.pos = w.pos;
  }
  entries.pop_back();
  if (entries.empty()) cells_.erase(cell);
}

void SpatialIndex::clear() {
  tree_.clear();
  cells_.clear();
  where_.clear();
}

void SpatialIndex::query(const GeoQuery& q, std::vector<uint64_t>& out) const {
  for_each_candidate(q, [&out](uint64_t key, const Box&) { out.push_back(key); });
}

}  // namespace tsunagu::ngsild::geo
