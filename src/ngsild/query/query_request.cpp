// The Query Entities request (ETSI GS CIM 009 §5.7.2), from URI parameters (§6.4.3.2) or from
// a Query object (§5.2.23), into one store-neutral EntityQuery: selection, q, geo-query,
// scopeQ, ordering (§4.23) and paging (§6.3.10, §6.3.13).
#include "ngsild/query/query_request.hpp"

#include <algorithm>
#include <optional>

#include "common/uri.hpp"
#include "ngsild/format/representation.hpp"
#include "ngsild/geo/geoquery.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::ngsild::query {
namespace {

Result<size_t> non_negative(const std::string& name, const std::string& v) {
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::BadRequestData(name + ": '" + v.substr(0, 40) +
                                  "' is not a non-negative integer");
  }
  return static_cast<size_t>(std::stoull(v));
}

// Paging and counting (§6.3.10, §6.3.13), shared by GET and POST.
Status paging(const QueryParams& params, const PageLimits& limits, EntityQuery& q) {
  q.limit = static_cast<size_t>(limits.default_limit);
  auto count = flag_param(params, "count");
  if (!count.ok()) return count.status();
  q.count = *count;
  if (const std::string* v = params.find("limit")) {
    auto n = non_negative("limit", *v);
    if (!n.ok()) return n.status();
    if (*n == 0 && !q.count) {
      return Status::BadRequestData("limit: 0 is only allowed together with count=true");
    }
    if (*n > static_cast<size_t>(limits.max_limit)) {
      return Status(ErrorKind::kTooManyResults, "limit: " + *v +
                                                    " is above the maximum page size of " +
                                                    std::to_string(limits.max_limit));
    }
    q.limit = *n;
  }
  if (const std::string* v = params.find("offset")) {
    auto n = non_negative("offset", *v);
    if (!n.ok()) return n.status();
    q.offset = *n;
  }
  return Status::Ok();
}

// `local` (§5.5.13): explicit true/false, or unset.
Result<std::optional<bool>> local_flag(const QueryParams& params) {
  const std::string* v = params.find("local");
  if (v == nullptr) return std::optional<bool>();
  auto b = parse_flag("local", *v);
  if (!b.ok()) return b.status();
  return std::optional<bool>(*b);
}

// orderBy, orderFrom, orderGeometry, collation (§4.23). Every query is answered from local data
// (there are no context source registrations yet), so ordering needs no local=true.
Status ordering(const QueryParams& params, const jsonld::Context& ctx, EntityQuery& q) {
  if (const std::string* c = params.find("collation")) {
    auto collation = Collation::get(*c);
    if (!collation.ok()) return collation.status();
    q.collation = std::move(*collation);
  }
  const std::string* order = params.find("orderBy");
  const std::string* from = params.find("orderFrom");
  const std::string* geometry = params.find("orderGeometry");
  if (order == nullptr) {
    if (from || geometry) {
      return Status::BadRequestData(
          "orderFrom and orderGeometry need orderBy with dist-asc or "
          "dist-desc");
    }
    return Status::Ok();
  }
  auto terms = parse_order_by(*order, ctx);
  if (!terms.ok()) return terms.status();
  q.order_by = std::move(*terms);
  bool by_distance = false;
  for (const auto& t : q.order_by) {
    by_distance = by_distance || t.direction == OrderTerm::Direction::kDistAsc ||
                  t.direction == OrderTerm::Direction::kDistDesc;
  }
  if (!by_distance) {
    if (from || geometry) {
      return Status::BadRequestData(
          "orderFrom/orderGeometry are only used with dist-asc or "
          "dist-desc");
    }
    return Status::Ok();
  }
  if (from == nullptr) return Status::BadRequestData("orderFrom: required by dist-asc/dist-desc");
  std::string type = geometry ? *geometry : "Point";
  auto t = geo::geometry_type_from_name(type);
  if (!t || *t == geo::GeometryType::kGeometryCollection) {
    return Status::BadRequestData("orderGeometry: '" + type + "' is not a geometry type");
  }
  JsonDoc d;
  if (!parse_json(*from, d).ok()) {
    return Status::BadRequestData("orderFrom: '" + from->substr(0, 100) +
                                  "' is not a JSON coordinates array");
  }
  auto g = geo::parse_coordinates(*t, d, "orderFrom");
  if (!g.ok()) return Status::BadRequestData(g.status().detail());
  q.order_from = std::move(*g);
  return Status::Ok();
}

Status geo_query(std::string_view georel, std::string_view geometry, std::string_view coords,
                 std::string_view geoproperty, const jsonld::Context& ctx, EntityQuery& q) {
  auto g = geo::parse_geoquery(georel, geometry, coords);
  if (!g.ok()) return g.status();
  q.geo = std::move(*g);
  if (!geoproperty.empty()) {
    if (!valid_name(geoproperty)) {
      return Status::BadRequestData("geoproperty: '" + std::string(geoproperty) +
                                    "' is not a valid attribute name");
    }
    q.geo->geoproperty = std::string(geoproperty);
  }
  q.geo_property = ctx.lookup(q.geo->geoproperty);
  return Status::Ok();
}

}  // namespace

Result<EntityQuery> query_from_params(const QueryParams& params, const jsonld::Context& ctx,
                                      const PageLimits& limits, bool narrowed) {
  EntityQuery q;
  if (const std::string* v = params.find("id")) {
    for (auto& id : split_list(*v)) {
      TSUNAGU_RETURN_IF_ERROR(check_entity_id(id));
      q.ids.push_back(std::move(id));
    }
  }
  if (const std::string* v = params.find("idPattern")) {
    auto re = compile_id_pattern(*v, "idPattern");
    if (!re.ok()) return re.status();
    q.id_pattern = std::move(*re);
  }
  if (const std::string* v = params.find("type")) {
    auto t = parse_type_selection(*v, ctx);
    if (!t.ok()) return t.status();
    q.types = std::move(*t);
  }
  if (const std::string* v = params.find("attrs")) {
    for (const auto& a : split_list(*v)) {
      if (!valid_name(a)) {
        return Status::BadRequestData("attrs: '" + a + "' is not a valid attribute name");
      }
      q.attrs.push_back(ctx.lookup(a));
    }
  }
  if (const std::string* v = params.find("q")) {
    std::vector<std::string> expand;
    if (const std::string* ev = params.find("expandValues")) expand = split_list(*ev);
    auto e = parse_q(*v, ctx, expand);
    if (!e.ok()) return e.status();
    q.q = std::move(*e);
  }
  const std::string* georel = params.find("georel");
  const std::string* geometry = params.find("geometry");
  const std::string* coords = params.find("coordinates");
  if (georel || geometry || coords) {
    const std::string* gp = params.find("geoproperty");
    TSUNAGU_RETURN_IF_ERROR(geo_query(georel ? *georel : "", geometry ? *geometry : "",
                                      coords ? *coords : "", gp ? *gp : "", ctx, q));
  }
  if (const std::string* v = params.find("scopeQ")) {
    auto s = parse_scope_query(*v);
    if (!s.ok()) return s.status();
    q.scope = std::move(*s);
  }
  auto local_param = local_flag(params);
  if (!local_param.ok()) return local_param.status();
  // "type=*" implies local and must not be combined with local=false (Table 6.4.3.2-1).
  bool any_type = q.types && q.types->any;
  if (any_type && *local_param == std::optional<bool>(false)) {
    return Status::BadRequestData(
        "type: '*' implies local=true and cannot be used with "
        "local=false");
  }
  bool local = local_param->value_or(false) || any_type;
  // §5.7.2.4: a query must name a type, attributes, a q or a geo-query, unless it is local.
  if (!narrowed && !local && !q.types && q.attrs.empty() && !q.q && !q.geo) {
    return Status::BadRequestData(
        "too wide query: give at least one of type, attrs, q or georel, or local=true "
        "(§5.7.2.4)");
  }
  TSUNAGU_RETURN_IF_ERROR(paging(params, limits, q));
  TSUNAGU_RETURN_IF_ERROR(ordering(params, ctx, q));
  // Every entity is whole here: nothing to split, but the value must be one.
  if (auto split = flag_param(params, "splitEntities"); !split.ok()) return split.status();
  return q;
}

Result<EntityQuery> query_from_object(const JsonValue& b, const QueryParams& params,
                                      const jsonld::Context& ctx, const PageLimits& limits,
                                      RenderOptions& options) {
  if (!b.IsObject()) return Status::BadRequestData("the payload must be a Query object");
  EntityQuery q;
  auto str = [](const JsonValue& v) { return std::string(v.GetString(), v.GetStringLength()); };
  auto type_member = b.FindMember("type");
  if (type_member == b.MemberEnd())
    return Status::BadRequestData("type: missing (must be \"Query\")");
  for (const auto& m : b.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    const JsonValue& v = m.value;
    if (key == "@context") continue;
    if (key == "type") {
      if (!v.IsString() || str(v) != "Query") {
        return Status::BadRequestData("type: must be \"Query\"");
      }
    } else if (key == "entities") {
      if (!v.IsArray() || v.Empty()) {
        return Status::BadRequestData("entities: must be a non-empty array of EntitySelectors");
      }
      for (const auto& s : v.GetArray()) {
        if (!s.IsObject()) return Status::BadRequestData("entities: each item must be an object");
        EntitySelector sel;
        for (const auto& f : s.GetObject()) {
          std::string fk(f.name.GetString(), f.name.GetStringLength());
          if (!f.value.IsString()) {
            return Status::BadRequestData("entities[]." + fk + ": must be a string");
          }
          if (fk == "id") {
            if (!is_absolute_uri(str(f.value))) {
              return Status::BadRequestData("entities[].id: '" + str(f.value) + "' is not a URI");
            }
            sel.id = str(f.value);
          } else if (fk == "idPattern") {
            auto re = compile_id_pattern(str(f.value), "idPattern");
            if (!re.ok()) return re.status();
            sel.id_pattern = std::move(*re);
          } else if (fk == "type") {
            auto t = parse_type_selection(str(f.value), ctx);
            if (!t.ok()) return t.status();
            sel.types = std::move(*t);
          } else {
            return Status::BadRequestData("entities[]: unknown member '" + fk + "'");
          }
        }
        if (!sel.types) {
          return Status::BadRequestData("entities[]: each EntitySelector needs a type (§5.2.33)");
        }
        if (sel.id) sel.id_pattern = nullptr;  // id takes precedence over idPattern (§5.2.33)
        q.selectors.push_back(std::move(sel));
      }
    } else if (key == "attrs") {
      if (!v.IsArray()) return Status::BadRequestData("attrs: must be an array of names");
      for (const auto& a : v.GetArray()) {
        if (!a.IsString() || !valid_name(str(a))) {
          return Status::BadRequestData("attrs: each item must be an attribute name");
        }
        q.attrs.push_back(ctx.lookup(str(a)));
      }
      options.projection.pick = true;
      options.projection.pick_id = options.projection.pick_type = options.projection.pick_scope =
          true;
      options.projection.pick_attrs = q.attrs;
    } else if (key == "q") {
      if (!v.IsString()) return Status::BadRequestData("q: must be a string");
      auto e = parse_q(str(v), ctx);
      if (!e.ok()) return e.status();
      q.q = std::move(*e);
    } else if (key == "geoQ") {
      auto g = geo::parse_geoquery_json(v);
      if (!g.ok()) return Status::BadRequestData("geoQ: " + g.status().detail());
      q.geo = std::move(*g);
      q.geo_property = ctx.lookup(q.geo->geoproperty);
    } else if (key == "scopeQ") {
      if (!v.IsString()) return Status::BadRequestData("scopeQ: must be a string");
      auto s = parse_scope_query(str(v));
      if (!s.ok()) return s.status();
      q.scope = std::move(*s);
    } else if (key == "lang") {
      if (!v.IsString()) return Status::BadRequestData("lang: must be a string");
      options.lang = str(v);
    } else if (key == "join" || key == "joinLevel") {
      if (key == "joinLevel" && v.IsInt()) {
        TSUNAGU_RETURN_IF_ERROR(apply_join_member(key, std::to_string(v.GetInt()), options));
      } else if (v.IsString()) {
        TSUNAGU_RETURN_IF_ERROR(apply_join_member(key, str(v), options));
      } else {
        return Status::BadRequestData(
            key + (key == "join" ? ": must be a string" : ": must be a whole number"));
      }
    } else if (key == "pick" || key == "omit" || key == "datasetId" || key == "containedBy") {
      // Same meaning as the URI parameters; given here as a string or an array of strings.
      std::string list;
      if (v.IsString()) {
        list = str(v);
      } else if (v.IsArray()) {
        for (const auto& e : v.GetArray()) {
          if (!e.IsString()) return Status::BadRequestData(key + ": items must be strings");
          if (!list.empty()) list += ",";
          list += str(e);
        }
      } else {
        return Status::BadRequestData(key + ": must be a string or an array of strings");
      }
      TSUNAGU_RETURN_IF_ERROR(key == "containedBy"
                                  ? apply_join_member(key, list, options)
                                  : apply_representation_member(key, list, ctx, options));
    } else {
      return Status::BadRequestData("unknown Query member '" + key + "'");
    }
  }
  auto local_param = local_flag(params);
  if (!local_param.ok()) return local_param.status();
  bool local = local_param->value_or(false);
  bool typed = std::any_of(q.selectors.begin(), q.selectors.end(),
                           [](const auto& s) { return s.types.has_value(); });
  if (!local && !typed && q.attrs.empty() && !q.q && !q.geo) {
    return Status::BadRequestData(
        "too wide query: give entities with a type, attrs, q or geoQ, "
        "or local=true (§5.7.2.4)");
  }
  TSUNAGU_RETURN_IF_ERROR(paging(params, limits, q));
  TSUNAGU_RETURN_IF_ERROR(ordering(params, ctx, q));
  return q;
}

Result<std::shared_ptr<re2::RE2>> compile_id_pattern(std::string_view pattern,
                                                     std::string_view member) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  auto re = std::make_shared<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), o);
  if (!re->ok()) {
    return Status::BadRequestData(std::string(member) + ": '" +
                                  std::string(pattern.substr(0, 100)) +
                                  "' is not a valid regular expression: " + re->error());
  }
  return re;
}

}  // namespace tsunagu::ngsild::query
