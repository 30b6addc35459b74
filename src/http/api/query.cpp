// Query Entities: GET /ngsi-ld/v1/entities (§6.4.3.2) and POST /entityOperations/query
// (§6.23). Both build one store-neutral EntityQuery, run it on the tenant, and render the page
// as a JSON array or a GeoJSON FeatureCollection.
#include "common/json_writer.hpp"
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::http::api {
namespace {

using ngsild::query::EntityQuery;
namespace jsonld = ngsild::jsonld;

const std::vector<MediaType> kListViews = {MediaType::kJson, MediaType::kJsonLd,
                                           MediaType::kGeoJson};

Result<size_t> non_negative(const std::string& name, const std::string& v) {
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::BadRequestData(name + ": '" + v.substr(0, 40) +
                                  "' is not a non-negative integer");
  }
  return static_cast<size_t>(std::stoull(v));
}

Result<std::shared_ptr<re2::RE2>> id_pattern(const std::string& pattern) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  auto re = std::make_shared<re2::RE2>(pattern, o);
  if (!re->ok()) {
    return Status::BadRequestData("idPattern: '" + pattern.substr(0, 100) +
                                  "' is not a valid regular expression: " + re->error());
  }
  return re;
}

// Paging and counting (§6.3.10, §6.3.13), shared by GET and POST.
Status paging(const QueryParams& params, const Limits& limits, EntityQuery& q) {
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
    auto collation = ngsild::query::Collation::get(*c);
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
  auto terms = ngsild::query::parse_order_by(*order, ctx);
  if (!terms.ok()) return terms.status();
  q.order_by = std::move(*terms);
  bool by_distance = false;
  for (const auto& t : q.order_by) {
    by_distance = by_distance || t.direction == ngsild::query::OrderTerm::Direction::kDistAsc ||
                  t.direction == ngsild::query::OrderTerm::Direction::kDistDesc;
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
  auto t = ngsild::geo::geometry_type_from_name(type);
  if (!t || *t == ngsild::geo::GeometryType::kGeometryCollection) {
    return Status::BadRequestData("orderGeometry: '" + type + "' is not a geometry type");
  }
  JsonDoc d;
  if (!parse_json(*from, d).ok()) {
    return Status::BadRequestData("orderFrom: '" + from->substr(0, 100) +
                                  "' is not a JSON coordinates array");
  }
  auto g = ngsild::geo::parse_coordinates(*t, d, "orderFrom");
  if (!g.ok()) return Status::BadRequestData(g.status().detail());
  q.order_from = std::move(*g);
  return Status::Ok();
}

Status geo_query(std::string_view georel, std::string_view geometry, std::string_view coords,
                 std::string_view geoproperty, const jsonld::Context& ctx, EntityQuery& q) {
  auto g = ngsild::geo::parse_geoquery(georel, geometry, coords);
  if (!g.ok()) return g.status();
  q.geo = std::move(*g);
  if (!geoproperty.empty()) {
    if (!ngsild::valid_name(geoproperty)) {
      return Status::BadRequestData("geoproperty: '" + std::string(geoproperty) +
                                    "' is not a valid attribute name");
    }
    q.geo->geoproperty = std::string(geoproperty);
  }
  q.geo_property = ctx.lookup(q.geo->geoproperty);
  return Status::Ok();
}

// `narrowed`: the caller has its own rule for queries too wide to answer (purge).
Result<EntityQuery> from_params(const Prepared& p, const Limits& limits, bool narrowed = false) {
  const QueryParams& params = p.call.query;
  const jsonld::Context& ctx = *p.ctx;
  EntityQuery q;
  if (const std::string* v = params.find("id")) {
    for (auto& id : split_list(*v)) {
      TSUNAGU_RETURN_IF_ERROR(ngsild::check_entity_id(id));
      q.ids.push_back(std::move(id));
    }
  }
  if (const std::string* v = params.find("idPattern")) {
    auto re = id_pattern(*v);
    if (!re.ok()) return re.status();
    q.id_pattern = std::move(*re);
  }
  if (const std::string* v = params.find("type")) {
    auto t = ngsild::query::parse_type_selection(*v, ctx);
    if (!t.ok()) return t.status();
    q.types = std::move(*t);
  }
  if (const std::string* v = params.find("attrs")) {
    for (const auto& a : split_list(*v)) {
      if (!ngsild::valid_name(a)) {
        return Status::BadRequestData("attrs: '" + a + "' is not a valid attribute name");
      }
      q.attrs.push_back(ctx.lookup(a));
    }
  }
  if (const std::string* v = params.find("q")) {
    std::vector<std::string> expand;
    if (const std::string* ev = params.find("expandValues")) expand = split_list(*ev);
    auto e = ngsild::query::parse_q(*v, ctx, expand);
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
    auto s = ngsild::query::parse_scope_query(*v);
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

// The Query data type (§5.2.23) of POST /entityOperations/query.
Result<EntityQuery> from_body(const Prepared& p, const Limits& limits,
                              ngsild::RenderOptions& options) {
  const JsonValue& b = *p.body;
  const jsonld::Context& ctx = *p.ctx;
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
        ngsild::query::EntitySelector sel;
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
            auto re = id_pattern(str(f.value));
            if (!re.ok()) return re.status();
            sel.id_pattern = std::move(*re);
          } else if (fk == "type") {
            auto t = ngsild::query::parse_type_selection(str(f.value), ctx);
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
        if (!a.IsString() || !ngsild::valid_name(str(a))) {
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
      auto e = ngsild::query::parse_q(str(v), ctx);
      if (!e.ok()) return e.status();
      q.q = std::move(*e);
    } else if (key == "geoQ") {
      auto g = ngsild::geo::parse_geoquery_json(v);
      if (!g.ok()) return Status::BadRequestData("geoQ: " + g.status().detail());
      q.geo = std::move(*g);
      q.geo_property = ctx.lookup(q.geo->geoproperty);
    } else if (key == "scopeQ") {
      if (!v.IsString()) return Status::BadRequestData("scopeQ: must be a string");
      auto s = ngsild::query::parse_scope_query(str(v));
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
  auto local_param = local_flag(p.call.query);
  if (!local_param.ok()) return local_param.status();
  bool local = local_param->value_or(false);
  bool typed = std::any_of(q.selectors.begin(), q.selectors.end(),
                           [](const auto& s) { return s.types.has_value(); });
  if (!local && !typed && q.attrs.empty() && !q.q && !q.geo) {
    return Status::BadRequestData(
        "too wide query: give entities with a type, attrs, q or geoQ, "
        "or local=true (§5.7.2.4)");
  }
  TSUNAGU_RETURN_IF_ERROR(paging(p.call.query, limits, q));
  TSUNAGU_RETURN_IF_ERROR(ordering(p.call.query, ctx, q));
  return q;
}

std::string page_link(const Request& req, size_t offset, size_t limit, const char* rel) {
  std::string target = req.path + "?";
  size_t pos = 0;
  const std::string& query = req.query;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string_view item(query.data() + pos, amp - pos);
    pos = amp + 1;
    if (item.empty() || item.substr(0, 7) == "offset=" || item.substr(0, 6) == "limit=") continue;
    target.append(item);
    target.push_back('&');
  }
  target += "offset=" + std::to_string(offset) + "&limit=" + std::to_string(limit);
  return "<" + target + ">; rel=\"" + rel + "\"";
}

// Before rendering entity i of a page, a pipeline: the entity three ahead is fetched, the
// attribute array of the one two ahead (whose entity arrived meanwhile), and the values of the
// next one (whose attributes did).
void prefetch_ahead(const std::vector<engine::EntityPtr>& page, size_t i) {
  if (i + 3 < page.size()) __builtin_prefetch(page[i + 3].get());
  if (i + 2 < page.size()) ngsild::prefetch_attributes(*page[i + 2]);
  if (i + 1 < page.size()) ngsild::prefetch_values(*page[i + 1]);
}

void respond_page(Env& env, Prepared& p, EntityQuery& q, ngsild::RenderOptions& options) {
  // An entity that pick leaves empty is not in the result (§4.21): pick without id, type or
  // scope matches the entities holding one of the picked attributes, as attrs does.
  const ngsild::Projection& pr = options.projection;
  if (pr.pick && !pr.pick_id && !pr.pick_type && !pr.pick_scope && q.attrs.empty()) {
    q.attrs = pr.pick_attrs;
  }
  auto result = env.entities.query(p.tenant, q, options);
  if (!result.ok()) return p.fail(result.status());
  const engine::QueryResult& r = *result;
  std::string body;
  body.reserve(256 + r.entities.size() * 1400);
  JsonWriter w(body);
  if (p.accept == MediaType::kGeoJson) {
    const std::string* gp = p.call.query.find("geometryProperty");
    Atom geometry = p.ctx->lookup(gp ? *gp : "location");
    // The @context goes on the collection, once (§5.2.30).
    ngsild::RenderOptions feature = options;
    feature.with_context = false;
    w.begin_object();
    w.key("type");
    w.string("FeatureCollection");
    w.key("features");
    w.begin_array();
    for (size_t i = 0; i < r.entities.size(); ++i) {
      prefetch_ahead(r.entities, i);
      ngsild::render_feature(*r.entities[i], feature, geometry, w);
    }
    w.end_array();
    if (options.with_context) {
      w.key("@context");
      w.raw(p.ctx->body_json());
    }
    w.end_object();
  } else {
    w.begin_array();
    // Kept renderings need the entity's stamp and the cache's slot and entry, not the
    // entity's attributes and values: the same pipeline, other stages.
    const bool kept = env.renders.keeps(options);
    const auto& page = r.entities;
    for (size_t i = 0; i < page.size(); ++i) {
      if (!kept) {
        prefetch_ahead(page, i);
      } else {
        if (i + 6 < page.size()) __builtin_prefetch(page[i + 6].get());
        if (i + 4 < page.size()) env.renders.prefetch(*page[i + 4], options, 1);
        if (i + 2 < page.size()) env.renders.prefetch(*page[i + 2], options, 2);
      }
      env.renders.render(*page[i], options, w);
    }
    if (options.join == ngsild::Join::kFlat) {
      std::vector<const ngsild::Entity*> roots;
      for (const auto& e : page)
        roots.push_back(e.get());
      render_linked(ngsild::linked_entities(roots, options), options, w);
    }
    w.end_array();
  }
  if (Status st = join_complete(options); !st.ok()) return p.fail(st);
  std::vector<Header> extra;
  if (q.count) extra.push_back({"NGSILD-Results-Count", std::to_string(r.total)});
  // Paging links (§5.5.9, RFC 8288): the same request with another offset.
  // limit=0 (count only) has no pages: a "next" to the same offset would never end.
  if (r.more && q.limit > 0)
    extra.push_back({"Link", page_link(p.call.req, q.offset + q.limit, q.limit, "next")});
  if (q.offset > 0 && q.limit > 0) {
    size_t prev = q.offset > q.limit ? q.offset - q.limit : 0;
    extra.push_back({"Link", page_link(p.call.req, prev, q.limit, "prev")});
  }
  p.respond_json(200, std::move(body), std::move(extra));
}

}  // namespace

void add_query_routes(Router& r, Env& env) {
  r.add(Method::kGet, "/ngsi-ld/v1/entities", [&env](Call&& c) {
    static const CallSpec spec{
        false, {}, kListViews, {"id",        "idPattern",     "type",        "attrs",
                                "pick",      "omit",          "q",           "geometry",
                                "georel",    "coordinates",   "geoproperty", "geometryProperty",
                                "lang",      "scopeQ",        "datasetId",   "limit",
                                "offset",    "count",         "options",     "format",
                                "local",     "orderBy",       "orderFrom",   "orderGeometry",
                                "collation", "splitEntities", "jsonKeys",    "expandValues",
                                "join",      "joinLevel",     "containedBy"}};
    prepare(env, std::move(c), spec, [&env](Prepared&& p) {
      auto options = render_options(p, true);
      if (!options.ok()) return p.fail(options.status());
      auto q = from_params(p, env.limits);
      if (!q.ok()) return p.fail(q.status());
      respond_page(env, p, *q, *options);
    });
  });
  // Purge Entities (§5.6.21).
  r.add(Method::kDelete, "/ngsi-ld/v1/entities", [&env](Call&& c) {
    static const CallSpec spec{false,
                               {},
                               {},
                               {"id", "idPattern", "type", "q", "geometry", "georel", "coordinates",
                                "geoproperty", "scopeQ", "drop", "keep", "local"}};
    prepare(env, std::move(c), spec, [&env](Prepared&& p) {
      const QueryParams& params = p.call.query;
      const std::string* local = params.find("local");
      bool narrowed = params.find("type") || params.find("q") || params.find("georel") ||
                      params.find("drop") || params.find("keep") || (local && *local == "true");
      if (!narrowed) {
        return p.fail(Status::BadRequestData(
            "purge needs at least one of type, q, georel, drop or keep (or local=true): ids "
            "alone are too wide"));
      }
      // With drop or keep, ids alone narrow enough: only those attributes go (ETSI suite 060_05).
      auto q = from_params(p, env.limits, true);
      if (!q.ok()) return p.fail(q.status());
      std::vector<Atom> drop, keep;
      for (auto [name, list] : {std::pair{"drop", &drop}, std::pair{"keep", &keep}}) {
        if (const std::string* v = params.find(name)) {
          for (const auto& a : split_list(*v)) {
            if (!ngsild::valid_name(a)) {
              return p.fail(Status::BadRequestData(std::string(name) + ": '" + a +
                                                   "' is not a valid attribute name"));
            }
            list->push_back(p.ctx->expand(a));
          }
        }
      }
      if (!drop.empty() && !keep.empty()) {
        return p.fail(Status::BadRequestData("drop and keep cannot be used together"));
      }
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.purge(shared->tenant, std::move(*q), std::move(drop), std::move(keep),
                         [shared](const Status& st) {
                           if (!st.ok()) return shared->fail(st);
                           shared->respond_empty(204);
                         });
    });
  });
  r.add(Method::kPost, "/ngsi-ld/v1/entityOperations/query", [&env](Call&& c) {
    static const CallSpec spec{
        true,
        {MediaType::kJson, MediaType::kJsonLd},
        kListViews,
        {"limit", "offset", "count", "options", "format", "local", "orderBy", "orderFrom",
         "orderGeometry", "collation", "geometryProperty", "datasetId", "lang", "pick", "omit",
         "join", "joinLevel", "containedBy"}};
    prepare(env, std::move(c), spec, [&env](Prepared&& p) {
      auto options = render_options(p, true);
      if (!options.ok()) return p.fail(options.status());
      auto q = from_body(p, env.limits, *options);
      if (!q.ok()) return p.fail(q.status());
      if (Status st = check_linked_projection(*options); !st.ok()) return p.fail(st);
      respond_page(env, p, *q, *options);
    });
  });
}

}  // namespace tsunagu::http::api
