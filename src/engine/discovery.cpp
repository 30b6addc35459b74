#include "engine/discovery.hpp"

namespace tsunagu::engine {

std::vector<TypeInfo> Discovery::types(const Tenant& t) {
  std::shared_lock lock(t.mu_);
  std::vector<TypeInfo> out;
  out.reserve(t.type_counts_.size());
  for (const auto& [type, n] : t.type_counts_) {
    TypeInfo info{type, n, {}};
    for (const auto& [attr, stats] : t.attribute_stats_) {
      if (stats.types.count(type) != 0) info.attributes.push_back(attr);
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<AttributeInfo> Discovery::attributes(const Tenant& t) {
  std::shared_lock lock(t.mu_);
  std::vector<AttributeInfo> out;
  out.reserve(t.attribute_stats_.size());
  for (const auto& [attr, stats] : t.attribute_stats_) {
    AttributeInfo info{attr, stats.entities, stats.instances, {}, {}};
    for (size_t k = 0; k < stats.kinds.size(); ++k) {
      if (stats.kinds[k] != 0) info.kinds.push_back(static_cast<ngsild::AttrKind>(k));
    }
    for (const auto& [type, n] : stats.types)
      info.types.push_back(type);
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace tsunagu::engine
