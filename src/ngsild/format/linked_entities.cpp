// Following Relationships across the tenant's entities: breadth first, so that an entity two
// steps away is reached through the shortest way there, and each entity is written once.
#include "ngsild/format/linked_entities.hpp"

#include <unordered_set>

namespace tsunagu::ngsild {

std::vector<std::string> relationship_objects(const Attribute& a) {
  std::vector<std::string> out;
  for_each_object(a, [&](std::string_view uri) { out.emplace_back(uri); });
  return out;
}

std::vector<LinkedEntity> linked_entities(std::span<const Entity* const> roots,
                                          const RenderOptions& o) {
  static const Projection kWhole;
  std::vector<LinkedEntity> out;
  if (o.join != Join::kFlat || !o.lookup || !o.join_budget) return out;
  std::unordered_set<std::string> seen(o.contained_by.begin(), o.contained_by.end());
  struct Step {
    const Entity* entity;
    const Projection* projection;
  };
  std::vector<Step> level;
  for (const Entity* e : roots) {
    seen.insert(e->id);
    level.push_back({e, &o.projection});
  }
  for (int depth = 0; depth < o.join_level && !level.empty(); ++depth) {
    std::vector<Step> next;
    for (const Step& s : level) {
      for (const Attribute& a : s.entity->attrs) {
        if (!s.projection->keeps(a.name)) continue;
        const Projection* p = s.projection->linked_for(a.name);
        for (auto& id : relationship_objects(a)) {
          if (!seen.insert(id).second) continue;
          auto linked = o.lookup(id);
          if (!linked || !o.join_budget->take()) continue;
          next.push_back({linked.get(), p != nullptr ? p : &kWhole});
          out.push_back({std::move(linked), next.back().projection});
        }
      }
    }
    level = std::move(next);
  }
  return out;
}

bool keeps_any(const Entity& e, const Projection& p) {
  if (p.keeps_id() || p.keeps_type() || (!e.scopes.empty() && p.keeps_scope())) return true;
  for (const Attribute& a : e.attrs) {
    if (p.keeps(a.name)) return true;
  }
  return false;
}

}  // namespace tsunagu::ngsild
