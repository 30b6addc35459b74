// The NGSI-LD Query Language (ETSI GS CIM 009 §4.9): `q` text to a store-neutral expression tree,
// and its evaluation against an in-memory Entity. Attribute names are expanded with the
// request's @context when parsed; compound-value member paths ([a.b]) are not
// (docs/decisions.md, "Queries").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/atom.hpp"
#include "common/status.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/model/entity.hpp"

namespace re2 {
class RE2;
}

namespace tsunagu::ngsild::query {

enum class Op : unsigned char { kExists, kEq, kNe, kGt, kGe, kLt, kLe, kMatch, kNotMatch };

// One literal of a query term.
struct Literal {
  enum class Kind : unsigned char { kNumber, kString, kBool, kDateTime, kDate, kTime };
  Kind kind = Kind::kString;
  bool quoted = false;  // a "quoted" string (otherwise a URI or bare word)
  double number = 0;
  bool boolean = false;
  int64_t time = 0;      // DateTime/Date: µs since the epoch; Time: µs after midnight
  std::string text;      // strings; also the literal as written
  std::string expanded;  // strings that are terms, expanded with the @context (VocabProperty)
};

// The trailing metadata member a path may address (temperature.observedAt).
enum class Meta : unsigned char {
  kNone,
  kObservedAt,
  kCreatedAt,
  kModifiedAt,
  kUnitCode,
  kDatasetId
};

struct AttrPath {
  std::vector<Atom> names;  // the attribute, then sub-attribute names (expanded)
  Meta meta = Meta::kNone;
  std::vector<std::string> member;  // [a.b] path into a compound value, or [lang] / [*]
  std::string text;                 // as written, for messages
};

struct Term {
  AttrPath path;
  Op op = Op::kExists;
  enum class Shape : unsigned char { kSingle, kRange, kList } shape = Shape::kSingle;
  std::vector<Literal> values;      // one, two (range) or several (list)
  std::shared_ptr<re2::RE2> regex;  // kMatch / kNotMatch
};

struct Expr {
  enum class Kind : unsigned char { kAnd, kOr, kTerm } kind = Kind::kTerm;
  std::vector<Expr> children;
  std::shared_ptr<const Term> term;
};

// How a parser turns names into atoms: kLookup for a request that reads (a name nobody stored
// matches nothing and costs nothing), kIntern for what is kept and evaluated against later
// writes (a Subscription's q and entity types, §5.8.1), whose names must keep their atoms.
enum class NameUse : unsigned char { kLookup, kIntern };

// Parses `q`. BadRequestData naming the character position of the fault:
// "q: expected a value after '>=' at position 12". `expand_values` lists the attributes whose
// values are terms to expand with the @context (the expandValues parameter); unquoted values of
// other attributes must be numbers, booleans, dates, times or URIs.
Result<Expr> parse_q(std::string_view q, const jsonld::Context& ctx,
                     const std::vector<std::string>& expand_values = {},
                     NameUse names = NameUse::kLookup);

// True when the entity satisfies the expression.
bool matches(const Expr& e, const Entity& entity);

// Visits every term (for planners that look for indexable terms).
template <class F>
void for_each_term(const Expr& e, F&& f) {
  if (e.kind == Expr::Kind::kTerm) {
    f(*e.term);
    return;
  }
  for (const auto& c : e.children)
    for_each_term(c, f);
}

}  // namespace tsunagu::ngsild::query
