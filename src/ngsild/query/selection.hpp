// The NGSI-LD Entity Type Selection Language (ETSI GS CIM 009 §4.17) and Scope Query Language
// (§4.19): both are disjunctions of conjunctions, parsed once per request and evaluated per entity.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/atom.hpp"
#include "common/status.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::ngsild::query {

// OR of AND-groups of expanded type IRIs. `any` for "*".
struct TypeSelection {
  bool any = false;
  std::vector<std::vector<Atom>> groups;

  bool matches(const Entity& e) const;
  // The one type an entity must have when the selection names just one ("Building"), else the
  // empty Atom.
  Atom single() const {
    return !any && groups.size() == 1 && groups[0].size() == 1 ? groups[0][0] : Atom();
  }
  // The types named, in order of appearance (for index selection).
  std::vector<Atom> all_types() const;
};

// "Building|House", "Building,House", "(Home;Vehicle)|Motorhome", "*". With `intern`, the type
// names are interned (Context::expand), for selections kept past the request (subscriptions).
Result<TypeSelection> parse_type_selection(std::string_view text, const jsonld::Context& ctx,
                                           bool intern = false);

// One scope pattern: levels with "+" wildcards, optionally ending in "#" (whole subtree).
struct ScopePattern {
  std::vector<std::string> levels;
  bool subtree = false;  // trailing /#
  bool any = false;      // "/#": any non-empty scope
  bool matches(std::string_view scope) const;
};

struct ScopeQuery {
  std::vector<std::vector<ScopePattern>> groups;  // OR of AND-groups
  bool matches(const Entity& e) const;
};

// "/Madrid/Gardens/#", "/Madrid/+/ParqueNorte", "(/Madrid/Districts;/CompanyA)|/CompanyB".
Result<ScopeQuery> parse_scope_query(std::string_view text);

}  // namespace tsunagu::ngsild::query
