// Query Entities: GET /ngsi-ld/v1/entities (§6.4.3.2) and POST /entityOperations/query
// (§6.23), and Purge Entities. Both queries read one EntityQuery (ngsild/query/query_request),
// run it through the EntityService, and render the page (ngsild/format/response_body) with
// the HTTP part around it: the count header and the paging links.
#include "common/json_writer.hpp"
#include "http/api/api.hpp"
#include "ngsild/format/representation.hpp"
#include "ngsild/format/response_body.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "ngsild/query/query_request.hpp"

namespace tsunagu::http::api {
namespace {

using ngsild::query::EntityQuery;
namespace jsonld = ngsild::jsonld;

const std::vector<MediaType> kListViews = {MediaType::kJson, MediaType::kJsonLd,
                                           MediaType::kGeoJson};

std::string page_link(const Request& req, size_t offset, size_t limit, const char* rel) {
  std::string target = page_base(req);
  target += "offset=" + std::to_string(offset) + "&limit=" + std::to_string(limit);
  return "<" + target + ">; rel=\"" + rel + "\"";
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
  ngsild::render_page(r.entities, options, body_shape(p), env.renders, w);
  if (Status st = ngsild::join_complete(options); !st.ok()) return p.fail(st);
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

void query_entity(Env& env, Call&& c) {
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
    auto q = ngsild::query::query_from_params(p.call.query, *p.ctx, env.limits);
    if (!q.ok()) return p.fail(q.status());
    respond_page(env, p, *q, *options);
  });
}

// Purge Entities (§5.6.21).
void purge_entities(Env& env, Call&& c) {
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
    auto q = ngsild::query::query_from_params(p.call.query, *p.ctx, env.limits, true);
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
}

// Query Entities with a Query object (§5.7.2, §6.23).
void query_batch(Env& env, Call&& c) {
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
    auto q = ngsild::query::query_from_object(*p.body, p.call.query, *p.ctx, env.limits, *options);
    if (!q.ok()) return p.fail(q.status());
    if (Status st = ngsild::check_linked_projection(*options); !st.ok()) return p.fail(st);
    respond_page(env, p, *q, *options);
  });
}

}  // namespace tsunagu::http::api
