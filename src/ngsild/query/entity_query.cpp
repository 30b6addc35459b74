// Filtering and ordering of entities for Query Entities (ETSI GS CIM 009 §5.7.2, §4.23).
#include "ngsild/query/entity_query.hpp"

#include <algorithm>
#include <cmath>

#include "common/time.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::ngsild::query {
namespace {

// §4.23.2: numbers, strings, objects, arrays, booleans, times, dates, date-times, null, absent.
enum Rank { kNumber, kString, kObject, kArray, kBoolean, kTime, kDate, kDateTime, kNull, kAbsent };

SortKey key_of_dom(const JsonValue& v) {
  SortKey k;
  switch (v.GetType()) {
    case rapidjson::kNumberType:
      k.rank = kNumber;
      k.number = v.GetDouble();
      break;
    case rapidjson::kStringType:
      k.rank = kString;
      k.text.assign(v.GetString(), v.GetStringLength());
      break;
    case rapidjson::kTrueType:
    case rapidjson::kFalseType:
      k.rank = kBoolean;
      k.number = v.GetBool() ? 1 : 0;
      break;
    case rapidjson::kNullType:
      k.rank = kNull;
      break;
    case rapidjson::kArrayType:
      k.rank = kArray;
      k.text = json_text(v);
      break;
    case rapidjson::kObjectType: {
      auto t = v.FindMember("@type");
      auto val = v.FindMember("@value");
      if (t != v.MemberEnd() && val != v.MemberEnd() && t->value.IsString() &&
          val->value.IsString()) {
        std::string_view type(t->value.GetString(), t->value.GetStringLength());
        std::string_view text(val->value.GetString(), val->value.GetStringLength());
        std::optional<int64_t> time;
        if (type == "DateTime") {
          time = parse_datetime(text);
          k.rank = kDateTime;
        } else if (type == "Date") {
          time = parse_date(text);
          k.rank = kDate;
        } else if (type == "Time") {
          time = parse_time(text);
          k.rank = kTime;
        }
        if (time) {
          k.time = *time;
          break;
        }
      }
      k.rank = kObject;
      k.text = json_text(v);
      break;
    }
  }
  return k;
}

const Attribute* first_instance(const std::vector<Attribute>& list, Atom name) {
  auto span = instances_of(list, name);
  if (span.empty()) return nullptr;
  for (const auto& a : span) {
    if (a.dataset_id.empty()) return &a;
  }
  return &span[0];
}

SortKey value_key(const Entity& e, const AttrPath& p) {
  SortKey absent;
  absent.rank = kAbsent;
  const Attribute* a = first_instance(e.attrs, p.names[0]);
  for (size_t i = 1; a != nullptr && i < p.names.size(); ++i)
    a = first_instance(a->subs, p.names[i]);
  if (a == nullptr) return absent;
  SortKey k;
  switch (p.meta) {
    case Meta::kObservedAt:
    case Meta::kCreatedAt:
    case Meta::kModifiedAt: {
      int64_t t = p.meta == Meta::kObservedAt  ? a->observed_at
                  : p.meta == Meta::kCreatedAt ? a->created_at
                                               : a->modified_at;
      if (t == kNoTime) return absent;
      k.rank = kDateTime;
      k.time = t;
      return k;
    }
    case Meta::kUnitCode:
    case Meta::kDatasetId: {
      Atom v = p.meta == Meta::kUnitCode ? a->unit_code : a->dataset_id;
      if (v.empty()) return absent;
      k.rank = kString;
      k.text = std::string(v.str());
      return k;
    }
    case Meta::kNone:
      break;
  }
  const Value& v = a->value;
  if (!v.is_json() && p.member.empty()) {
    switch (v.type()) {
      case Value::Type::kInt:
      case Value::Type::kDouble:
        k.rank = kNumber;
        k.number = v.as_double();
        return k;
      case Value::Type::kString:
        k.rank = kString;
        k.text = std::string(v.text());
        return k;
      case Value::Type::kBool:
        k.rank = kBoolean;
        k.number = v.as_bool() ? 1 : 0;
        return k;
      default:
        k.rank = kNull;
        return k;
    }
  }
  if (!v.is_json()) return absent;
  JsonDoc d;
  if (!parse_json(v.text(), d).ok()) return absent;
  const JsonValue* m = &d;
  for (const auto& name : p.member) {
    if (!m->IsObject()) return absent;
    auto it = m->FindMember(rapidjson::StringRef(name.data(), name.size()));
    if (it == m->MemberEnd()) return absent;
    m = &it->value;
  }
  return key_of_dom(*m);
}

int cmp_keys(const SortKey& a, const SortKey& b) {
  if (a.rank != b.rank) return a.rank < b.rank ? -1 : 1;
  if (a.number != b.number) return a.number < b.number ? -1 : 1;
  if (a.time != b.time) return a.time < b.time ? -1 : 1;
  int c = a.text.compare(b.text);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

std::optional<geo::Geometry> geometry_of(const Entity& e, Atom name) {
  const Attribute* a = first_instance(e.attrs, name);
  if (a == nullptr || a->kind != AttrKind::kGeoProperty) return std::nullopt;
  auto g = geo::parse_geojson_text(a->value.text());
  if (!g.ok()) return std::nullopt;
  return std::move(*g);
}

bool EntitySelector::matches(const Entity& e) const {
  if (id && e.id != *id) return false;
  if (id_pattern && !re2::RE2::PartialMatch(e.id, *id_pattern)) return false;
  return !types || types->matches(e);
}

bool EntityQuery::matches(const Entity& e, Skip skip) const {
  if (!selectors.empty() && std::none_of(selectors.begin(), selectors.end(),
                                         [&](const EntitySelector& s) { return s.matches(e); })) {
    return false;
  }
  if (!ids.empty() && std::find(ids.begin(), ids.end(), e.id) == ids.end()) return false;
  if (id_pattern && !re2::RE2::PartialMatch(e.id, *id_pattern)) return false;
  if (types && !skip.types && !types->matches(e)) return false;
  if (!attrs.empty() &&
      std::none_of(attrs.begin(), attrs.end(), [&](Atom a) { return !e.instances(a).empty(); })) {
    return false;
  }
  if (scope && !scope->matches(e)) return false;
  if (q && !query::matches(*q, e)) return false;
  if (geo && !skip.geo && !geo_matches(e)) return false;
  return !restriction || restriction->can_read(e);
}

bool EntityQuery::geo_matches(const Entity& e) const {
  for (const auto& a : e.instances(geo_property)) {
    if (a.kind != AttrKind::kGeoProperty) continue;
    auto g = geo::parse_geojson_text(a.value.text());
    if (g.ok() && geo::matches(*geo, *g)) return true;
  }
  return false;
}

Result<std::vector<OrderTerm>> parse_order_by(std::string_view text, const jsonld::Context& ctx) {
  std::vector<OrderTerm> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) return Status::BadRequestData("orderBy: an element is empty");
    OrderTerm t;
    size_t semi = item.find(';');
    std::string_view name = item.substr(0, semi);
    if (semi != std::string_view::npos) {
      std::string_view dir = item.substr(semi + 1);
      if (dir == "asc")
        t.direction = OrderTerm::Direction::kAsc;
      else if (dir == "desc")
        t.direction = OrderTerm::Direction::kDesc;
      else if (dir == "dist-asc")
        t.direction = OrderTerm::Direction::kDistAsc;
      else if (dir == "dist-desc")
        t.direction = OrderTerm::Direction::kDistDesc;
      else {
        return Status::BadRequestData("orderBy: '" + std::string(dir) +
                                      "' is not asc, desc, dist-asc or dist-desc");
      }
    }
    if (name == "id")
      t.member = OrderTerm::Member::kId;
    else if (name == "type")
      t.member = OrderTerm::Member::kType;
    else if (name == "scope")
      t.member = OrderTerm::Member::kScope;
    else {
      // Reuse the q path grammar: parse "name" as a bare existence term.
      auto e = parse_q(name, ctx);
      if (!e.ok() || e->kind != Expr::Kind::kTerm || e->term->op != Op::kExists) {
        return Status::BadRequestData("orderBy: '" + std::string(name) +
                                      "' is not an attribute path");
      }
      t.path = e->term->path;
    }
    bool dist = t.direction == OrderTerm::Direction::kDistAsc ||
                t.direction == OrderTerm::Direction::kDistDesc;
    if (dist && (t.member != OrderTerm::Member::kAttribute || t.path.names.size() != 1 ||
                 t.path.meta != Meta::kNone || !t.path.member.empty())) {
      return Status::BadRequestData("orderBy: '" + std::string(item) +
                                    "': distance ordering needs a GeoProperty name");
    }
    out.push_back(std::move(t));
    if (comma == text.size()) break;
  }
  return out;
}

std::vector<SortKey> sort_keys(const Entity& e, const std::vector<OrderTerm>& terms,
                               const geo::Geometry* from, const Collation& collation) {
  std::vector<SortKey> keys;
  keys.reserve(terms.size());
  for (const auto& t : terms) {
    SortKey k;
    switch (t.member) {
      case OrderTerm::Member::kId:
        k.rank = kString;
        k.text = e.id;
        break;
      case OrderTerm::Member::kType:
        k.rank = kString;
        k.text = e.types.empty() ? std::string() : std::string(e.types[0].str());
        break;
      case OrderTerm::Member::kScope:
        if (e.scopes.empty())
          k.rank = kAbsent;
        else {
          k.rank = kString;
          k.text = e.scopes[0];
        }
        break;
      case OrderTerm::Member::kAttribute:
        if (t.direction == OrderTerm::Direction::kDistAsc ||
            t.direction == OrderTerm::Direction::kDistDesc) {
          // GeoProperties first (by distance), then the rest by value (§4.23.2).
          auto g = from ? geometry_of(e, t.path.names[0]) : std::nullopt;
          if (g) {
            k.rank = -1;
            k.number = geo::distance_m(*from, *g);
          } else {
            k = value_key(e, t.path);
          }
        } else {
          k = value_key(e, t.path);
        }
        break;
    }
    if (k.rank == kString) k.text = collation.sort_key(k.text);
    keys.push_back(std::move(k));
  }
  return keys;
}

int compare_keys(const std::vector<SortKey>& a, const std::vector<SortKey>& b,
                 const std::vector<OrderTerm>& terms) {
  for (size_t i = 0; i < terms.size(); ++i) {
    int c = cmp_keys(a[i], b[i]);
    if (c == 0) continue;
    const auto dir = terms[i].direction;
    bool desc = dir == OrderTerm::Direction::kDesc || dir == OrderTerm::Direction::kDistDesc;
    // Null and missing values come last in either direction (§4.23.2).
    bool a_tail = a[i].rank >= kNull, b_tail = b[i].rank >= kNull;
    if (a_tail != b_tail) return a_tail ? 1 : -1;
    if (a_tail) return c;
    if (dir == OrderTerm::Direction::kDistAsc || dir == OrderTerm::Direction::kDistDesc) {
      // GeoProperties (by distance) before anything else, which stays in value order.
      bool ag = a[i].rank == -1, bg = b[i].rank == -1;
      if (ag != bg) return ag ? -1 : 1;
      if (!ag) return c;
    }
    return desc ? -c : c;
  }
  return 0;
}

}  // namespace tsunagu::ngsild::query
