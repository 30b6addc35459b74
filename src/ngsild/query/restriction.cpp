#include "ngsild/query/restriction.hpp"

#include <algorithm>

namespace tsunagu::ngsild::query {

bool AccessRule::covers(const Entity& e) const {
  if (!types.empty() &&
      std::none_of(types.begin(), types.end(), [&e](Atom t) { return e.has_type(t); })) {
    return false;
  }
  if (id_pattern && !RE2::FullMatch(e.id, *id_pattern)) return false;
  return !scope || scope->matches(e);
}

bool Restriction::can_read(const Entity& e) const {
  return std::any_of(rules.begin(), rules.end(), [&e](const AccessRule& r) { return r.covers(e); });
}

bool Restriction::can_write(const Entity& e) const {
  return std::any_of(rules.begin(), rules.end(),
                     [&e](const AccessRule& r) { return r.write && r.covers(e); });
}

bool Restriction::writes() const {
  return std::any_of(rules.begin(), rules.end(), [](const AccessRule& r) { return r.write; });
}

}  // namespace tsunagu::ngsild::query
