// What a role of a tenant may read and change of the tenant's entities (docs/security.md,
// "Roles"): rules, each naming a set of entities by type, id and scope, for reading or for
// reading and writing. A caller with a restriction sees only the entities some rule covers, as
// if the others did not exist (a query's matches and its count, a retrieval, a notification),
// and changes only those a write rule covers, before and after the change.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/atom.hpp"
#include "ngsild/model/entity.hpp"
#include "ngsild/query/selection.hpp"

namespace tsunagu::ngsild::query {

struct AccessRule {
  bool write = false;                    // reading and writing; false: reading
  std::vector<Atom> types;               // the entity has one of them (expanded); empty: any
  std::shared_ptr<re2::RE2> id_pattern;  // the whole id matches; null: any id
  std::optional<ScopeQuery> scope;       // the entity's scopes satisfy it; absent: any
  bool covers(const Entity& e) const;
};

struct Restriction {
  std::string role;  // named in refusals
  std::vector<AccessRule> rules;

  bool can_read(const Entity& e) const;   // some rule covers it
  bool can_write(const Entity& e) const;  // some write rule covers it
  bool writes() const;                    // some rule is a write rule
};

using RestrictionPtr = std::shared_ptr<const Restriction>;

}  // namespace tsunagu::ngsild::query
