#include "ngsild/geo/query_index.hpp"

#include <boost/iterator/function_output_iterator.hpp>

namespace tsunagu::ngsild::geo {

bool QueryIndex::insert(uint64_t key, const GeoQuery& q) {
  remove(key);
  SearchBoxes sb = search_boxes(q);
  if (!sb.prunes) return false;
  for (int i = 0; i < sb.count; ++i)
    tree_.insert(Entry{sb.boxes[i], key});
  boxes_[key] = sb;
  return true;
}

bool QueryIndex::remove(uint64_t key) {
  auto it = boxes_.find(key);
  if (it == boxes_.end()) return false;
  for (int i = 0; i < it->second.count; ++i)
    tree_.remove(Entry{it->second.boxes[i], key});
  boxes_.erase(it);
  return true;
}

void QueryIndex::candidates(const Geometry& g, std::vector<uint64_t>& out) const {
  namespace bgi = boost::geometry::index;
  if (tree_.empty()) return;
  tree_.query(
      bgi::intersects(index_envelope(g)),
      boost::make_function_output_iterator([&out](const Entry& e) { out.push_back(e.second); }));
}

}  // namespace tsunagu::ngsild::geo
