// Query Entities: GET /ngsi-ld/v1/entities (§6.4.3.2) and POST /entityOperations/query
// (§6.23), and Purge Entities. Both queries read one EntityQuery (ngsild/query/query_request),
// run it through the EntityService, and render the page (ngsild/format/response_body) with
// the HTTP part around it: the count header and the paging links.
#include <unordered_map>

#include "common/json_writer.hpp"
#include "http/api/api.hpp"
#include "http/api/federation.hpp"
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

void write_page(Prepared& p, const EntityQuery& q, ngsild::RenderOptions& options,
                const engine::QueryResult& r, ngsild::RenderCache& renders,
                std::vector<Header> extra);

// An entity that pick leaves empty is not in the result (§4.21): pick without id, type or
// scope matches the entities holding one of the picked attributes, as attrs does.
void narrow_by_pick(EntityQuery& q, const ngsild::RenderOptions& options) {
  const ngsild::Projection& pr = options.projection;
  if (pr.pick && !pr.pick_id && !pr.pick_type && !pr.pick_scope && q.attrs.empty()) {
    q.attrs = pr.pick_attrs;
  }
}

// Query Entities over this broker and the registered sources that may hold matches
// (§4.3.6): each source is asked (by `make`) for the entities up to the end of the requested
// window; local ones come first in their order, then the sources' in theirs, an entity held in
// several places merged into one. `attrs`: the attribute names a source's entity must hold one
// of, when the request to the sources did not say (empty: any).
void respond_distributed(
    Env& env, Prepared&& p, EntityQuery q, ngsild::RenderOptions options,
    const std::vector<engine::RegistrationService::RegistrationPtr>& sources,
    std::function<Forward(const ngsild::registration::Registration&, size_t window)> make,
    std::vector<std::string> attrs) {
  narrow_by_pick(q, options);
  q.restriction = p.restriction;
  const size_t offset = q.offset, limit = q.limit;
  EntityQuery window = q;
  window.offset = 0;
  window.limit = offset + limit;
  auto local = env.entities.query(p.tenant, window, options);
  if (!local.ok()) return p.fail(local.status());
  auto shared = std::make_shared<Prepared>(std::move(p));
  std::vector<Forward> requests;
  for (const auto& r : sources)
    requests.push_back(make(*r, offset + limit));
  fan_out(
      env, *shared, sources, std::move(requests),
      [shared, q = std::move(q), options = std::move(options), local = std::move(*local), offset,
       limit, attrs = std::move(attrs)](std::vector<SourceAnswer> answers) mutable {
        std::vector<std::shared_ptr<ngsild::Entity>> merged;
        std::unordered_map<std::string, size_t> at;
        for (const auto& e : local.entities) {
          at.emplace(e->id, merged.size());
          merged.push_back(std::make_shared<ngsild::Entity>(*e));
        }
        // Each source's entities, with its registration's mode; auxiliary sources last.
        std::vector<std::pair<std::shared_ptr<ngsild::Entity>, ngsild::registration::Mode>> remote;
        auxiliary_last(answers);
        for (auto& a : answers) {
          if (!a.outcome.ok()) continue;
          auto entities = source_entities(a.outcome.body, *shared->ctx);
          if (!entities.ok()) {
            a.outcome.error = entities.status().detail();
            continue;
          }
          for (auto& e : *entities)
            remote.emplace_back(std::move(e), a.registration->mode);
        }
        // The sources' names are known now (reading their entities interned them).
        std::vector<Atom> wanted;
        for (const auto& a : attrs)
          wanted.push_back(shared->ctx->lookup(a));
        size_t remote_only = 0;
        for (auto& [e, mode] : remote) {
          auto it = at.find(e->id);
          if (it != at.end()) {
            merge_entity(*merged[it->second], *e, mode);
            continue;
          }
          const ngsild::Entity& entity = *e;
          const bool holds =
              wanted.empty() || std::any_of(wanted.begin(), wanted.end(),
                                            [&](Atom n) { return !entity.instances(n).empty(); });
          if (!holds) continue;
          at.emplace(e->id, merged.size());
          merged.push_back(std::move(e));
          ++remote_only;
        }
        engine::QueryResult r;
        r.total = local.total + remote_only;
        r.more = local.more || merged.size() > offset + limit;
        for (size_t i = offset; i < merged.size() && i < offset + limit; ++i)
          r.entities.push_back(merged[i]);
        q.offset = offset;
        q.limit = limit;
        auto fresh = render_options(*shared, true);
        if (fresh.ok() && shared->call.req.method == Method::kGet) options = std::move(*fresh);
        // Merged entities are this answer's only: not kept among the renderings.
        static ngsild::RenderCache kNotKept(0);
        write_page(*shared, q, options, r, kNotKept, source_warnings(answers));
      });
}

void respond_page(Env& env, Prepared& p, EntityQuery& q, ngsild::RenderOptions& options) {
  narrow_by_pick(q, options);
  q.restriction = p.restriction;
  auto result = env.entities.query(p.tenant, q, options);
  if (!result.ok()) return p.fail(result.status());
  write_page(p, q, options, *result, env.renders, {});
}

// One page of entities with its headers. `extra`: headers of the answer besides.
void write_page(Prepared& p, const EntityQuery& q, ngsild::RenderOptions& options,
                const engine::QueryResult& r, ngsild::RenderCache& renders,
                std::vector<Header> extra) {
  std::string body;
  body.reserve(256 + r.entities.size() * 1400);
  JsonWriter w(body);
  ngsild::render_page(r.entities, options, body_shape(p), renders, w);
  if (Status st = ngsild::join_complete(options); !st.ok()) return p.fail(st);
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
    // Registered sources that may hold matches (§4.3.6, §5.12).
    std::vector<engine::RegistrationService::RegistrationPtr> sources;
    if (may_forward(env, p)) {
      sources = read_sources(env, p, {"queryEntity", "queryBatch"}, sources_query(*q));
    }
    if (!sources.empty()) {
      const bool paged = p.call.query.find("limit") || p.call.query.find("offset");
      auto make = [query = p.call.query, paged](const ngsild::registration::Registration& r,
                                                size_t window) {
        if (!ngsild::registration::supports(r, "queryEntity")) {
          return Forward{"POST", "/ngsi-ld/v1/entityOperations/query", query_object_of(query)};
        }
        std::string path = "/ngsi-ld/v1/entities" + forwarded_query(query);
        if (paged) {
          path += (path.find('?') == std::string::npos ? "?" : "&") + std::string("limit=") +
                  std::to_string(window);
        }
        return Forward{"GET", path, ""};
      };
      std::vector<std::string> attrs;
      if (const std::string* a = p.call.query.find("attrs")) attrs = split_list(*a);
      return respond_distributed(env, std::move(p), std::move(*q), std::move(*options), sources,
                                 make, std::move(attrs));
    }
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
    if (refused_loop(env, p)) return;
    // The sources whose registrations may hold what the purge selects, and that take deletes of
    // entities (purge is one, §4.20), purge it there too; this broker purges what it holds.
    std::vector<engine::RegistrationService::RegistrationPtr> sources;
    if (may_forward(env, p)) {
      auto which = sources_query(*q);
      which.entities.attrs = drop.empty() ? keep : drop;
      for (auto& r : read_sources(env, p, {"deleteEntity"}, which)) {
        if (r->mode != ngsild::registration::Mode::kAuxiliary) sources.push_back(std::move(r));
      }
    }
    q->restriction = p.restriction;
    auto shared = std::make_shared<Prepared>(std::move(p));
    auto purge = [&env, shared, q = std::move(*q), drop = std::move(drop),
                  keep = std::move(keep)](std::vector<Header> warnings) mutable {
      env.entities.purge(shared->tenant, std::move(q), std::move(drop), std::move(keep),
                         [shared, warnings = std::move(warnings)](const Status& st) {
                           if (!st.ok()) return shared->fail(st);
                           shared->respond_empty(204, warnings);
                         });
    };
    if (sources.empty()) return purge({});
    // A purge selects entities by query, so no per-entity result can be told: the sources that
    // failed are named in NGSILD-Warning (§6.3.17).
    std::vector<Forward> requests(
        sources.size(),
        Forward{"DELETE", "/ngsi-ld/v1/entities" + forwarded_query(shared->call.query)});
    fan_out(env, *shared, sources, std::move(requests),
            [purge = std::move(purge)](std::vector<SourceAnswer> answers) mutable {
              purge(source_warnings(answers));
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
    // Sources that take a Query object are sent this one as it came.
    std::vector<engine::RegistrationService::RegistrationPtr> sources;
    if (may_forward(env, p)) {
      ngsild::registration::RegistrationQuery which;
      which.entities.types = q->types;
      which.entities.attrs = q->attrs;
      sources = read_sources(env, p, {"queryBatch"}, which);
    }
    if (!sources.empty()) {
      // The Query as it was read (the request's own text was parsed in place).
      auto make = [body = json_text(*p.body)](const ngsild::registration::Registration&, size_t) {
        return Forward{"POST", "/ngsi-ld/v1/entityOperations/query", body};
      };
      return respond_distributed(env, std::move(p), std::move(*q), std::move(*options), sources,
                                 make, {});
    }
    respond_page(env, p, *q, *options);
  });
}

}  // namespace tsunagu::http::api
