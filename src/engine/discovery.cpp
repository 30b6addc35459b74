#include "engine/discovery.hpp"

namespace tsunagu::engine {

DiscoveryStats Discovery::visible(const Tenant& t, const ngsild::query::Restriction& restriction) {
  DiscoveryStats stats;
  for (const SeqList::Entry& entry : t.all_.entries()) {
    if (entry.slot == SeqList::kDead) continue;
    const ngsild::Entity& e = *t.slots_[entry.slot].entity;
    if (restriction.can_read(e)) stats.add(e, +1);
  }
  return stats;
}

std::vector<TypeInfo> Discovery::types(const Tenant& t,
                                       const ngsild::query::RestrictionPtr& restriction) {
  std::shared_lock lock(t.mu_);
  return restriction ? types_of(visible(t, *restriction)) : types_of(t.stats_);
}

std::vector<AttributeInfo> Discovery::attributes(const Tenant& t,
                                                 const ngsild::query::RestrictionPtr& restriction) {
  std::shared_lock lock(t.mu_);
  return restriction ? attributes_of(visible(t, *restriction)) : attributes_of(t.stats_);
}

std::vector<TypeInfo> Discovery::types_of(const DiscoveryStats& stats) {
  std::vector<TypeInfo> out;
  out.reserve(stats.types.size());
  for (const auto& [type, n] : stats.types) {
    TypeInfo info{type, n, {}};
    for (const auto& [attr, s] : stats.attributes) {
      if (s.types.count(type) != 0) info.attributes.push_back(attr);
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<AttributeInfo> Discovery::attributes_of(const DiscoveryStats& stats) {
  std::vector<AttributeInfo> out;
  out.reserve(stats.attributes.size());
  for (const auto& [attr, s] : stats.attributes) {
    AttributeInfo info{attr, s.entities, s.instances, {}, {}};
    for (size_t k = 0; k < s.kinds.size(); ++k) {
      if (s.kinds[k] != 0) info.kinds.push_back(static_cast<ngsild::AttrKind>(k));
    }
    for (const auto& [type, n] : s.types)
      info.types.push_back(type);
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace tsunagu::engine
