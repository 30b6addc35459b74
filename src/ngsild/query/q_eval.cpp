// Evaluating q terms against an Entity (ETSI GS CIM 009 §4.9, "semantics of the operators"):
// a term holds when any target value of any matching attribute instance satisfies it; values of
// different data types never compare (so "10" does not equal 10).
#include <re2/re2.h>

#include "common/time.hpp"
#include "ngsild/query/q.hpp"

namespace tsunagu::ngsild::query {
namespace {

// One value reached by a term's path.
struct Target {
  // kTime is a system time (observedAt, ...) or a typed {"@type": "DateTime", "@value"} value;
  // kDate and kTimeOfDay are typed Date and Time values.
  enum class Kind : unsigned char { kNumber, kString, kBool, kTime, kDate, kTimeOfDay, kOther };
  explicit Target(Kind k) : kind(k) {}

  Kind kind;
  double number = 0;
  bool boolean = false;
  int64_t time = 0;
  std::string_view text;
  bool object = false;  // a Relationship/ListRelationship object: only == and != apply
  bool vocab = false;   // a VocabProperty IRI
};

// Visitors are callables bool(const Target&) returning true to stop; templates keep the scan
// free of allocations.

std::string_view sv(const JsonValue& v) {
  return {v.GetString(), v.GetStringLength()};
}

template <class Visit>
bool visit_dom(const JsonValue& v, const Visit& f, bool flatten_arrays, bool object) {
  Target t{Target::Kind::kOther};
  t.object = object;
  switch (v.GetType()) {
    case rapidjson::kNumberType:
      t.kind = Target::Kind::kNumber;
      t.number = v.GetDouble();
      return f(t);
    case rapidjson::kStringType:
      t.kind = Target::Kind::kString;
      t.text = sv(v);
      return f(t);
    case rapidjson::kTrueType:
    case rapidjson::kFalseType:
      t.kind = Target::Kind::kBool;
      t.boolean = v.GetBool();
      return f(t);
    case rapidjson::kArrayType:
      if (flatten_arrays) {
        for (const auto& e : v.GetArray()) {
          if (visit_dom(e, f, false, object)) return true;
        }
        return false;
      }
      return f(t);
    case rapidjson::kObjectType: {
      // A typed value {"@type": "DateTime", "@value": "..."} (also Date, Time) is of that data
      // type, not a string (§4.9: values of different data types never match).
      auto type = v.FindMember("@type");
      auto value = v.FindMember("@value");
      if (type != v.MemberEnd() && value != v.MemberEnd() && type->value.IsString() &&
          value->value.IsString()) {
        std::string_view tn = sv(type->value), text = sv(value->value);
        std::optional<int64_t> time;
        if (tn == "DateTime") {
          time = parse_datetime(text);
          t.kind = Target::Kind::kTime;
        } else if (tn == "Date") {
          time = parse_date(text);
          t.kind = Target::Kind::kDate;
        } else if (tn == "Time") {
          time = parse_time(text);
          t.kind = Target::Kind::kTimeOfDay;
        }
        if (time)
          t.time = *time;
        else
          t.kind = Target::Kind::kOther;
      }
      return f(t);
    }
    default:
      return f(t);
  }
}

// Follows a [a.b] member path inside a JSON value.
const JsonValue* member(const JsonValue& root, const std::vector<std::string>& path) {
  const JsonValue* v = &root;
  for (const auto& name : path) {
    if (!v->IsObject()) return nullptr;
    auto it = v->FindMember(rapidjson::StringRef(name.data(), name.size()));
    if (it == v->MemberEnd()) return nullptr;
    v = &it->value;
  }
  return v;
}

template <class Visit>
bool visit_value(const Attribute& a, const AttrPath& p, const Visit& f) {
  Target t{Target::Kind::kOther};
  switch (p.meta) {
    case Meta::kObservedAt:
    case Meta::kCreatedAt:
    case Meta::kModifiedAt: {
      int64_t v = p.meta == Meta::kObservedAt  ? a.observed_at
                  : p.meta == Meta::kCreatedAt ? a.created_at
                                               : a.modified_at;
      if (v == kNoTime) return false;
      t.kind = Target::Kind::kTime;
      t.time = v;
      return f(t);
    }
    case Meta::kUnitCode:
    case Meta::kDatasetId: {
      Atom v = p.meta == Meta::kUnitCode ? a.unit_code : a.dataset_id;
      if (v.empty()) return false;
      t.kind = Target::Kind::kString;
      t.text = v.str();
      return f(t);
    }
    case Meta::kNone:
      break;
  }
  const Value& v = a.value;
  switch (a.kind) {
    case AttrKind::kRelationship:
      if (v.is_string()) {
        t.kind = Target::Kind::kString;
        t.text = v.text();
        t.object = true;
        return f(t);
      }
      break;
    case AttrKind::kVocabProperty:
      if (v.is_string()) {
        t.kind = Target::Kind::kString;
        t.text = v.text();
        t.vocab = true;
        return f(t);
      }
      break;
    case AttrKind::kProperty:
    case AttrKind::kJsonProperty:
      if (!v.is_json() && p.member.empty()) {
        switch (v.type()) {
          case Value::Type::kInt:
          case Value::Type::kDouble:
            t.kind = Target::Kind::kNumber;
            t.number = v.as_double();
            return f(t);
          case Value::Type::kString:
            t.kind = Target::Kind::kString;
            t.text = v.text();
            return f(t);
          case Value::Type::kBool:
            t.kind = Target::Kind::kBool;
            t.boolean = v.as_bool();
            return f(t);
          default:
            return f(t);
        }
      }
      break;
    default:
      break;
  }
  if (!v.is_json()) return false;  // a member path into a scalar addresses nothing
  JsonDoc d;
  if (!parse_json(v.text(), d).ok()) return false;
  bool object = a.kind == AttrKind::kRelationship || a.kind == AttrKind::kListRelationship;
  switch (a.kind) {
    case AttrKind::kLanguageProperty: {
      bool any = p.member.empty() || (p.member.size() == 1 && p.member[0] == "*");
      for (const auto& m : d.GetObject()) {
        if (!any && !(p.member.size() == 1 && sv(m.name) == p.member[0])) continue;
        if (visit_dom(m.value, f, true, false)) return true;
      }
      return false;
    }
    case AttrKind::kListRelationship: {
      for (const auto& e : d.GetArray()) {
        auto o = e.IsObject() ? e.FindMember("object") : e.MemberEnd();
        if (e.IsObject() && o != e.MemberEnd() && visit_dom(o->value, f, false, true)) return true;
      }
      return false;
    }
    case AttrKind::kVocabProperty: {
      for (const auto& e : d.GetArray()) {
        t = Target{Target::Kind::kString};
        if (!e.IsString()) continue;
        t.text = sv(e);
        t.vocab = true;
        if (f(t)) return true;
      }
      return false;
    }
    case AttrKind::kGeoProperty:
      if (!p.member.empty()) {
        const JsonValue* m = member(d, p.member);
        return m != nullptr && visit_dom(*m, f, true, false);
      }
      return f(t);
    default: {
      const JsonValue* m = member(d, p.member);
      if (m == nullptr) return false;
      return visit_dom(*m, f, true, object);
    }
  }
}

template <class Visit>
bool walk(const Attribute& a, const AttrPath& p, size_t depth, const Visit& f) {
  if (depth == p.names.size()) return visit_value(a, p, f);
  for (const auto& s : instances_of(a.subs, p.names[depth])) {
    if (walk(s, p, depth + 1, f)) return true;
  }
  return false;
}

// Visits every target value of `p` in the entity; stops early when f returns true.
template <class Visit>
bool visit_targets(const Entity& e, const AttrPath& p, const Visit& f) {
  for (const auto& a : e.instances(p.names[0])) {
    if (walk(a, p, 1, f)) return true;
  }
  return false;
}

// -1, 0, 1, or 2 when the two cannot be compared (different data types).
int compare(const Target& t, const Literal& l) {
  auto cmp = [](auto a, auto b) { return a < b ? -1 : (a > b ? 1 : 0); };
  switch (l.kind) {
    case Literal::Kind::kNumber:
      return t.kind == Target::Kind::kNumber ? cmp(t.number, l.number) : 2;
    case Literal::Kind::kBool:
      return t.kind == Target::Kind::kBool ? cmp(t.boolean, l.boolean) : 2;
    case Literal::Kind::kString:
      if (t.kind != Target::Kind::kString) return 2;
      if (t.vocab && !l.expanded.empty() && t.text == l.expanded) return 0;
      return cmp(t.text, std::string_view(l.text));
    case Literal::Kind::kDateTime: {
      if (t.kind == Target::Kind::kTime) return cmp(t.time, l.time);
      if (t.kind != Target::Kind::kString) return 2;
      // A plain string holding a date-time also compares as one (docs/decisions.md).
      auto v = parse_datetime(t.text);
      return v ? cmp(*v, l.time) : 2;
    }
    case Literal::Kind::kDate: {
      if (t.kind == Target::Kind::kDate) return cmp(t.time, l.time);
      if (t.kind != Target::Kind::kString) return 2;
      auto v = parse_date(t.text);
      return v ? cmp(*v, l.time) : 2;
    }
    case Literal::Kind::kTime: {
      if (t.kind == Target::Kind::kTimeOfDay) return cmp(t.time, l.time);
      if (t.kind != Target::Kind::kString) return 2;
      auto v = parse_time(t.text);
      return v ? cmp(*v, l.time) : 2;
    }
  }
  return 2;
}

// Does this single target value equal the term's value (single, list or range)?
bool equals(const Term& term, const Target& t) {
  if (term.shape == Term::Shape::kRange) {
    if (t.object) return false;
    int lo = compare(t, term.values[0]);
    int hi = compare(t, term.values[1]);
    return lo != 2 && hi != 2 && lo >= 0 && hi <= 0;
  }
  for (const auto& l : term.values) {
    if (compare(t, l) == 0) return true;
  }
  return false;
}

bool eval_term(const Term& term, const Entity& e) {
  switch (term.op) {
    case Op::kExists:
      return visit_targets(e, term.path, [](const Target&) { return true; });
    case Op::kEq:
      return visit_targets(e, term.path, [&](const Target& t) { return equals(term, t); });
    case Op::kNe: {
      bool exists = false, equal = false;
      visit_targets(e, term.path, [&](const Target& t) {
        exists = true;
        equal = equals(term, t);
        return equal;
      });
      return exists && !equal;
    }
    case Op::kGt:
    case Op::kGe:
    case Op::kLt:
    case Op::kLe:
      return visit_targets(e, term.path, [&](const Target& t) {
        if (t.object) return false;
        int c = compare(t, term.values[0]);
        if (c == 2) return false;
        switch (term.op) {
          case Op::kGt:
            return c > 0;
          case Op::kGe:
            return c >= 0;
          case Op::kLt:
            return c < 0;
          default:
            return c <= 0;
        }
      });
    case Op::kMatch:
      // Patterns apply to String values only; never to Relationship objects (§4.9).
      return visit_targets(e, term.path, [&](const Target& t) {
        return t.kind == Target::Kind::kString && !t.object &&
               re2::RE2::PartialMatch(re2::StringPiece(t.text.data(), t.text.size()), *term.regex);
      });
    case Op::kNotMatch: {
      bool strings = false, matched = false;
      visit_targets(e, term.path, [&](const Target& t) {
        if (t.kind != Target::Kind::kString || t.object) return false;
        strings = true;
        matched =
            re2::RE2::PartialMatch(re2::StringPiece(t.text.data(), t.text.size()), *term.regex);
        return matched;
      });
      return strings && !matched;
    }
  }
  return false;
}

}  // namespace

bool matches(const Expr& e, const Entity& entity) {
  switch (e.kind) {
    case Expr::Kind::kTerm:
      return eval_term(*e.term, entity);
    case Expr::Kind::kAnd:
      for (const auto& c : e.children) {
        if (!matches(c, entity)) return false;
      }
      return true;
    case Expr::Kind::kOr:
      for (const auto& c : e.children) {
        if (matches(c, entity)) return true;
      }
      return false;
  }
  return false;
}

}  // namespace tsunagu::ngsild::query
