// The store-neutral form of a Query Entities request (ETSI GS CIM 009 §5.7.2): every filter
// parsed and expanded once, plus ordering (§4.23) and paging. The in-memory engine evaluates it;
// a SQL backend would translate it.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ngsild/geo/geoquery.hpp"
#include "ngsild/model/entity.hpp"
#include "ngsild/query/collation.hpp"
#include "ngsild/query/q.hpp"
#include "ngsild/query/restriction.hpp"
#include "ngsild/query/selection.hpp"

namespace tsunagu::ngsild::query {

// One orderBy element: an attribute path (or id/type/scope) and a direction.
struct OrderTerm {
  enum class Member : unsigned char { kAttribute, kId, kType, kScope } member = Member::kAttribute;
  AttrPath path;
  enum class Direction : unsigned char {
    kAsc,
    kDesc,
    kDistAsc,
    kDistDesc
  } direction = Direction::kAsc;
};

// One element of a Query's "entities" (EntitySelector, §5.2.33): id, or idPattern, and types.
struct EntitySelector {
  std::optional<std::string> id;
  std::shared_ptr<re2::RE2> id_pattern;
  std::optional<TypeSelection> types;
  bool matches(const Entity& e) const;
};

struct EntityQuery {
  std::vector<EntitySelector> selectors;  // POST /entityOperations/query: any of them
  std::vector<std::string> ids;           // exact ids (any of)
  std::shared_ptr<re2::RE2> id_pattern;   // idPattern (searched, not anchored)
  std::optional<TypeSelection> types;
  std::optional<Expr> q;
  std::vector<Atom> attrs;  // the entity must hold at least one
  std::optional<geo::GeoQuery> geo;
  Atom geo_property;  // geo->geoproperty, expanded
  std::optional<ScopeQuery> scope;
  // The caller's role (docs/security.md, "Roles"): only what it may read matches; null: all.
  RestrictionPtr restriction;

  std::vector<OrderTerm> order_by;
  std::optional<geo::Geometry> order_from;     // reference geometry of dist-asc/dist-desc
  std::shared_ptr<const Collation> collation;  // string order (root collation when null)

  size_t offset = 0;
  size_t limit = 20;
  bool count = false;

  // Filters a caller has already applied through an index, and need not be checked again.
  struct Skip {
    bool types = false;
    bool geo = false;
  };
  // True when `e` passes every filter (not paging or ordering).
  bool matches(const Entity& e) const { return matches(e, Skip{}); }
  bool matches(const Entity& e, Skip skip) const;
  // The geo-query alone: some instance of the GeoProperty satisfies it (§5.7.2.4).
  bool geo_matches(const Entity& e) const;
};

// Parses orderBy ("name,age;desc", "location;dist-asc"). BadRequestData names the fault.
Result<std::vector<OrderTerm>> parse_order_by(std::string_view text, const jsonld::Context& ctx);

// The value an entity sorts by for one OrderTerm, ranked by the datatype order of §4.23.2.
struct SortKey {
  int rank = 0;       // datatype rank; lower sorts first in ascending order
  double number = 0;  // numbers, booleans, distances
  int64_t time = 0;   // Time/Date/DateTime
  std::string text;   // strings: collation sort key; compound values: JSON text
};

// The keys of `e` for every term; `from` is the reference geometry of dist-* terms.
std::vector<SortKey> sort_keys(const Entity& e, const std::vector<OrderTerm>& terms,
                               const geo::Geometry* from, const Collation& collation);
// <0, 0, >0: how a's keys order against b's under `terms` (directions applied).
int compare_keys(const std::vector<SortKey>& a, const std::vector<SortKey>& b,
                 const std::vector<OrderTerm>& terms);

// The geometry of GeoProperty `name` of `e` (its default instance, else the first), if any.
std::optional<geo::Geometry> geometry_of(const Entity& e, Atom name);

}  // namespace tsunagu::ngsild::query
