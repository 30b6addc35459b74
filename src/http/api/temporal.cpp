// The temporal API (ETSI GS CIM 009 §5.6.11-§5.6.16, §5.7.3-§5.7.4; HTTP binding §6.18-§6.24):
// provision of temporal representations and their attributes and instances, and the
// retrieval and query of temporal evolution. The history is engine::TemporalService's; the
// time window and aggregation parameters are read by ngsild/temporal/, the payloads by the
// entity parser (one instance at a time), and the responses by ngsild/format/temporal_renderer.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "http/api/federation.hpp"
#include "ngsild/format/representation.hpp"
#include "ngsild/format/temporal_renderer.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "ngsild/query/query_request.hpp"
#include "ngsild/temporal/temporal_request.hpp"

namespace tsunagu::http::api {
namespace {

using engine::TemporalReadSpec;
using engine::TemporalService;
namespace temporal = ngsild::temporal;

const std::vector<MediaType> kBodies = {MediaType::kJson, MediaType::kJsonLd};
const std::vector<MediaType> kViews = {MediaType::kJson, MediaType::kJsonLd};
constexpr std::string_view kBase = "/ngsi-ld/v1/temporal/entities/";

Status unavailable() {
  return Status::NotSupported("this server keeps no history (--history off)");
}

Result<std::string> path_id(const Prepared& p) {
  const std::string& id = p.call.params.at(0);
  TSUNAGU_RETURN_IF_ERROR(ngsild::check_entity_id(id, "entity id"));
  return id;
}

Result<Atom> path_attr(const Prepared& p) {
  const std::string& name = p.call.params.at(1);
  if (!ngsild::valid_name(name)) {
    return Status::BadRequestData("'" + name.substr(0, 200) + "' is not a valid attribute name");
  }
  return p.ctx->expand(name);
}

// The entity, attribute and instanceId of .../attrs/{attrId}/{instanceId}, each checked.
struct InstancePath {
  std::string id;
  Atom name;
  std::string instance;
};

Result<InstancePath> instance_path(const Prepared& p) {
  auto id = path_id(p);
  if (!id.ok()) return id.status();
  auto name = path_attr(p);
  if (!name.ok()) return name.status();
  const std::string& instance = p.call.params.at(2);
  if (!is_absolute_uri(instance)) {
    return Status::BadRequestData("instanceId '" + instance.substr(0, 200) + "' is not a URI");
  }
  return InstancePath{std::move(*id), *name, instance};
}

// Members of an instance that the history keeps itself, not the attribute parser.
bool history_member(std::string_view key) {
  return key == "instanceId" || key == "createdAt" || key == "modifiedAt" || key == "deletedAt";
}

// One instance object of a temporal payload: the attribute and its instanceId.
Result<TemporalService::InstanceInput> parse_instance(const JsonValue& v, Atom name,
                                                      std::string_view key,
                                                      const ngsild::jsonld::Context& ctx) {
  if (!v.IsObject()) {
    return Status::BadRequestData(std::string(key) + ": each instance must be a JSON object");
  }
  TemporalService::InstanceInput in;
  bool has_history_members = false;
  for (const auto& m : v.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    if (k == "instanceId") {
      if (!m.value.IsString() ||
          !is_absolute_uri({m.value.GetString(), m.value.GetStringLength()})) {
        return Status::BadRequestData(std::string(key) + ": instanceId must be a URI");
      }
      in.instance_id.assign(m.value.GetString(), m.value.GetStringLength());
    }
    has_history_members = has_history_members || history_member(k);
  }
  // The attribute parser sees the instance without the members the history keeps itself: a
  // copy, only when there are some.
  JsonDoc copy;
  if (has_history_members) {
    copy.SetObject();
    for (const auto& m : v.GetObject()) {
      if (history_member({m.name.GetString(), m.name.GetStringLength()})) continue;
      copy.AddMember(JsonValue(m.name, copy.GetAllocator()),
                     JsonValue(m.value, copy.GetAllocator()), copy.GetAllocator());
    }
  }
  const JsonValue& attribute = has_history_members ? static_cast<const JsonValue&>(copy) : v;
  auto attrs = ngsild::parse_attribute_fragment(attribute, name, ctx, ngsild::ParseMode::kFragment);
  if (!attrs.ok()) return attrs.status();
  if (attrs->size() != 1) {
    return Status::BadRequestData(std::string(key) + ": an instance must be one attribute");
  }
  in.attr = std::move(attrs->front());
  return in;
}

// A temporal representation given for provision (§5.6.11, §5.6.12): id, type and scope as an
// entity has them, and each attribute as one instance or an array of them.
Result<TemporalService::Input> parse_temporal(const JsonValue& body,
                                              const ngsild::jsonld::Context& ctx,
                                              bool require_id_and_type) {
  if (!body.IsObject()) return Status::BadRequestData("the payload must be a JSON object");
  JsonDoc head;
  head.SetObject();
  for (const auto& m : body.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    if (k == "id" || k == "type" || k == "scope" || k == "@context") {
      head.AddMember(JsonValue(m.name, head.GetAllocator()),
                     JsonValue(m.value, head.GetAllocator()), head.GetAllocator());
    }
  }
  auto entity = ngsild::parse_entity(
      head, ctx,
      ngsild::ParseOptions{ngsild::ParseMode::kFragment, require_id_and_type, require_id_and_type});
  if (!entity.ok()) return entity.status();
  TemporalService::Input in;
  if (entity->id) in.id = *entity->id;
  in.types = std::move(entity->types);
  in.scopes = std::move(entity->scopes);
  for (const auto& m : body.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    if (k == "id" || k == "type" || k == "scope" || k == "@context") continue;
    if (!ngsild::valid_name(k)) {
      return Status::BadRequestData("'" + std::string(k.substr(0, 200)) +
                                    "' is not a valid attribute name");
    }
    Atom name = ctx.expand(k);
    if (m.value.IsArray()) {
      for (const auto& item : m.value.GetArray()) {
        auto one = parse_instance(item, name, k, ctx);
        if (!one.ok()) return one.status();
        in.instances.push_back(std::move(*one));
      }
    } else {
      auto one = parse_instance(m.value, name, k, ctx);
      if (!one.ok()) return one.status();
      in.instances.push_back(std::move(*one));
    }
  }
  return in;
}

// How a temporal read answers: the representation (options and format), and the instances it
// asks for (the time window, lastN, the projection and the datasetId selection).
struct ReadRequest {
  ngsild::RenderOptions render;
  ngsild::TemporalRenderOptions temporal;
  TemporalReadSpec spec;
};

Result<ReadRequest> read_request(const Prepared& p, size_t max_instances, bool timerel_required,
                                 const QueryParams* temporal_q = nullptr) {
  ReadRequest r;
  // The representation: format's when given, which takes precedence over options' (§6.3.12).
  std::optional<ngsild::TemporalFormat> from_format, from_options;
  QueryParams rest;
  for (const auto& [k, v] : p.call.query.items) {
    if (k == "options" || k == "format") {
      for (const auto& opt : split_list(v)) {
        std::optional<ngsild::TemporalFormat> f;
        if (opt == "temporalValues" || opt == "simplified" || opt == "keyValues") {
          f = ngsild::TemporalFormat::kTemporalValues;
        } else if (opt == "aggregatedValues") {
          f = ngsild::TemporalFormat::kAggregated;
        } else if (opt == "normalized") {
          f = ngsild::TemporalFormat::kNormalized;
        } else if (opt == "sysAttrs" && k == "options") {
          r.render.sys_attrs = true;
        } else {
          return Status::InvalidRequest(k + ": '" + opt +
                                        "' is not one of temporalValues, aggregatedValues, "
                                        "normalized" +
                                        (k == "options" ? ", sysAttrs" : ""));
        }
        if (!f) continue;
        auto& slot = k == "format" ? from_format : from_options;
        if (slot && *slot != *f) {
          return Status::BadRequestData(k + ": '" + v + "' asks for two representations");
        }
        slot = f;
      }
      continue;
    }
    rest.items.emplace_back(k, v);
  }
  ngsild::TemporalFormat format =
      from_format ? *from_format : from_options.value_or(ngsild::TemporalFormat::kNormalized);
  bool aggregated = format == ngsild::TemporalFormat::kAggregated;
  bool sys_attrs = r.render.sys_attrs;
  auto o = ngsild::representation_options(rest, *p.ctx, false);
  if (!o.ok()) return o.status();
  r.render = std::move(*o);
  r.render.sys_attrs = sys_attrs;
  r.render.with_context = p.accept == MediaType::kJsonLd;
  auto t = temporal::temporal_from_params(temporal_q ? *temporal_q : p.call.query, aggregated,
                                          timerel_required);
  if (!t.ok()) return t.status();
  if (temporal_q) {
    // lastN and the aggregation stay URI parameters beside a Query's temporalQ.
    auto rest_t = temporal::temporal_from_params(p.call.query, aggregated, false);
    if (!rest_t.ok()) return rest_t.status();
    t->last_n = rest_t->last_n;
    t->aggr_methods = rest_t->aggr_methods;
    t->aggr_period = rest_t->aggr_period;
  }
  r.spec.time = t->time;
  r.spec.last_n = t->last_n;
  const ngsild::Projection& pr = r.render.projection;
  r.spec.pick = pr.pick;
  r.spec.attrs = pr.pick_attrs;
  r.spec.omit = pr.omit_attrs;
  r.spec.dataset_filter = r.render.dataset_filter;
  r.spec.dataset_ids = r.render.dataset_ids;
  r.spec.max_instances = max_instances;
  r.temporal.format = format;
  r.temporal.time_property = t->time.property;
  r.temporal.aggr_methods = t->aggr_methods;
  r.temporal.aggr_period = t->aggr_period;
  if (t->time.rel == temporal::TimeRel::kAfter || t->time.rel == temporal::TimeRel::kBetween) {
    r.temporal.origin = t->time.at;
  }
  if (t->time.rel == temporal::TimeRel::kBetween) r.temporal.end = t->time.end_at;
  return r;
}

const std::vector<std::string_view> kTemporalParams = {
    "timerel", "timeAt", "endTimeAt", "timeproperty", "lastN", "aggrMethods", "aggrPeriodDuration"};

std::vector<std::string_view> with_temporal(std::vector<std::string_view> params) {
  params.insert(params.end(), kTemporalParams.begin(), kTemporalParams.end());
  return params;
}

// Content-Range of a temporal answer cut to the most instances one shows (§6.3.10):
// "date-time <start>-<end>/<size>", in the order the instances were kept (from the window's
// start forwards; with lastN from its end backwards), the size lastN or "*".
struct Cut {
  bool any = false;
  int64_t first = kNoTime, last = kNoTime;
  bool truncated = false;
  // The earliest and latest instance of the whole answer.
  void add(const temporal::TemporalEntityView& e) {
    truncated = truncated || e.truncated;
    if (e.first == kNoTime) return;
    first = any ? std::min(first, e.first) : e.first;
    last = any ? std::max(last, e.last) : e.last;
    any = true;
  }
};

std::optional<Header> content_range(const Cut& cut, const ReadRequest& r) {
  if (!cut.truncated || !cut.any) return std::nullopt;
  const auto& f = r.spec.time;
  int64_t start, end;
  std::string size = "*";
  if (r.spec.last_n > 0) {
    start = f.rel == temporal::TimeRel::kBefore    ? f.at
            : f.rel == temporal::TimeRel::kBetween ? f.end_at
                                                   : cut.last;
    end = cut.first;
    size = std::to_string(r.spec.last_n);
  } else {
    start = f.rel == temporal::TimeRel::kAfter || f.rel == temporal::TimeRel::kBetween ? f.at
                                                                                       : cut.first;
    end = cut.last;
  }
  return Header{"Content-Range",
                "date-time " + format_datetime(start) + "-" + format_datetime(end) + "/" + size};
}

engine::TemporalService::Done no_content(std::shared_ptr<Prepared> p) {
  return [p](const Status& st) {
    if (!st.ok()) return p->fail(st);
    p->respond_empty(204);
  };
}

void respond_entity(Prepared& p, const temporal::TemporalEntityView& e, const ReadRequest& r,
                    std::vector<Header> extra) {
  const ngsild::Projection& pr = r.render.projection;
  if ((pr.pick || !pr.omit_attrs.empty() || pr.omit_id || pr.omit_type) && e.series.empty() &&
      !pr.keeps_id() && !pr.keeps_type()) {
    return p.fail(
        Status::NotFound("entity '" + e.id + "' has none of the members that pick or omit leave"));
  }
  std::string body;
  JsonWriter w(body);
  ngsild::render_temporal_entity(e, r.render, r.temporal, w);
  Cut cut;
  cut.add(e);
  auto range = content_range(cut, r);
  if (range) extra.push_back(std::move(*range));
  p.respond_json(range ? 206 : 200, std::move(body), std::move(extra));
}

void respond_entities(Prepared& p, const std::vector<temporal::TemporalEntityView>& entities,
                      const ReadRequest& r, std::vector<Header> extra) {
  std::string body;
  JsonWriter w(body);
  Cut cut;
  w.begin_array();
  for (const auto& e : entities) {
    ngsild::render_temporal_entity(e, r.render, r.temporal, w);
    cut.add(e);
  }
  w.end_array();
  auto range = content_range(cut, r);
  if (range) extra.push_back(std::move(*range));
  p.respond_json(range ? 206 : 200, std::move(body), std::move(extra));
}

// Distributed temporal reads (§4.3.6.2): the registered sources that take the operation are
// asked for the same entities and window in the normalized representation, and their instances
// are added to those held here before the answer is shaped (docs/federation.md). Aggregated
// values cannot be added up from other sources' aggregates, so those reads stay local.
std::vector<engine::RegistrationService::RegistrationPtr> temporal_sources(
    Env& env, const Prepared& p, const ReadRequest& r, std::string_view operation,
    const ngsild::registration::RegistrationQuery& which) {
  if (r.temporal.format == ngsild::TemporalFormat::kAggregated) return {};
  return read_sources(env, p, {operation}, which);
}

// The request's parameters as a source is sent them: what selects entities, attributes and
// instances, not what shapes the answer here.
std::string temporal_forward_query(const QueryParams& params) {
  return query_without(
      params, {"options", "format", "local", "limit", "offset", "count", "pick", "omit", "lang",
               "orderBy", "orderFrom", "orderGeometry", "collation", "expandValues"});
}

// Adds the instances of a source's temporal entity to `into` (the same entity): those of the
// attributes the read asks for, in time order.
void merge_temporal(temporal::TemporalEntityView& into, TemporalService::Input&& from,
                    const TemporalReadSpec& spec) {
  for (Atom t : from.types) {
    if (std::find(into.types.begin(), into.types.end(), t) == into.types.end()) {
      into.types.push_back(t);
    }
  }
  for (auto& in : from.instances) {
    const Atom name = in.attr.name;
    if ((spec.pick && std::find(spec.attrs.begin(), spec.attrs.end(), name) == spec.attrs.end()) ||
        std::find(spec.omit.begin(), spec.omit.end(), name) != spec.omit.end()) {
      continue;
    }
    auto& series = into.series;
    auto it = std::find_if(series.begin(), series.end(), [&](const temporal::TemporalSeries& s) {
      return s.name == name && s.dataset_id == in.attr.dataset_id;
    });
    if (it == series.end()) {
      // After the series of the same name, which stay adjacent.
      auto after = std::find_if(series.rbegin(), series.rend(),
                                [&](const temporal::TemporalSeries& s) { return s.name == name; });
      it = series.insert(after.base(), {name, in.attr.dataset_id, in.attr.kind, {}});
    }
    // The same instance reached here by two ways (a source that is also a source of this
    // broker's): same instanceId and time. An instanceId alone is each broker's own.
    const bool held = std::any_of(
        it->instances.begin(), it->instances.end(), [&](const temporal::TemporalInstance& i) {
          return i.instance_id == in.instance_id && i.attr.observed_at == in.attr.observed_at &&
                 i.attr.observed_at != kNoTime;
        });
    if (held) continue;
    it->instances.push_back({std::move(in.attr), std::move(in.instance_id), kNoTime});
  }
  for (auto& s : into.series) {
    std::stable_sort(s.instances.begin(), s.instances.end(), [](const auto& a, const auto& b) {
      auto at = [](const temporal::TemporalInstance& i) {
        return i.attr.observed_at != kNoTime ? i.attr.observed_at : i.attr.created_at;
      };
      return at(a) < at(b);
    });
  }
}

// Asks `sources` for `path_query` and hands on the temporal entities they answered with (an
// entity or an array of them), and the warning naming those that failed.
void ask_temporal_sources(
    Env& env, const Prepared& p,
    const std::vector<engine::RegistrationService::RegistrationPtr>& sources,
    const std::string& path_query,
    std::function<void(std::vector<TemporalService::Input>, std::vector<Header>)> done) {
  std::vector<Forward> requests(sources.size(), Forward{"GET", path_query});
  fan_out(env, p, sources, std::move(requests),
          [ctx = p.ctx, done = std::move(done)](std::vector<SourceAnswer> answers) {
            std::vector<TemporalService::Input> entities;
            for (auto& a : answers) {
              JsonDoc d;
              if (!a.outcome.ok() || !parse_json(a.outcome.body, d).ok()) continue;
              auto take = [&](const JsonValue& v) {
                auto in = parse_temporal(v, *ctx, true);
                if (in.ok()) {
                  entities.push_back(std::move(*in));
                } else {
                  a.outcome.status = 502;  // named in the warning
                  a.outcome.error = "its temporal entity is not valid: " + in.status().detail();
                }
              };
              if (d.IsArray()) {
                for (const auto& v : d.GetArray())
                  take(v);
              } else {
                take(d);
              }
            }
            done(std::move(entities), source_warnings(answers));
          });
}

void run_query(Env& env, std::shared_ptr<Prepared> p, ngsild::query::EntityQuery q, ReadRequest r,
               std::vector<engine::RegistrationService::RegistrationPtr> sources = {}) {
  q.restriction = p->restriction;  // a role reads the history of what it may read
  boost::asio::post(env.blocking, [&env, p, q = std::move(q), r = std::move(r),
                                   sources = std::move(sources)] {
    auto page = env.temporal->query(p->tenant, q, r.spec);
    if (!page.ok()) return p->fail(page.status());
    std::vector<Header> extra;
    if (q.count) extra.push_back({"NGSILD-Results-Count", std::to_string(page->total)});
    if (sources.empty()) return respond_entities(*p, page->entities, r, std::move(extra));
    const std::string path =
        "/ngsi-ld/v1/temporal/entities" + temporal_forward_query(p->call.query);
    ask_temporal_sources(
        env, *p, sources, path,
        [p, r, extra = std::move(extra), entities = std::move(page->entities)](
            std::vector<TemporalService::Input> found, std::vector<Header> warnings) mutable {
          for (auto& in : found) {
            auto it = std::find_if(entities.begin(), entities.end(),
                                   [&](const auto& e) { return e.id == in.id; });
            if (it == entities.end()) {
              entities.push_back({in.id, {}, {}, kNoTime, kNoTime, {}, false, kNoTime, kNoTime});
              it = entities.end() - 1;
            }
            merge_temporal(*it, std::move(in), r.spec);
          }
          extra.insert(extra.end(), warnings.begin(), warnings.end());
          respond_entities(*p, entities, r, std::move(extra));
        });
  });
}

}  // namespace

void create_temporal(Env& env, Call&& c) {
  static const CallSpec spec{true, kBodies, {}, {}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    auto in = parse_temporal(*p.body, *p.ctx, true);
    if (!in.ok()) return p.fail(in.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    std::string location = std::string(kBase) + percent_encode_segment(in->id);
    env.temporal->upsert(
        shared->tenant, std::move(*in),
        [shared, location](const Status& st, bool created) {
          if (!st.ok()) return shared->fail(st);
          if (created) return shared->respond_empty(201, {{"Location", location}});
          shared->respond_empty(204);
        },
        shared->restriction);
  });
}

void retrieve_temporal(Env& env, Call&& c) {
  static const CallSpec spec{false,
                             {},
                             kViews,
                             with_temporal({"attrs", "pick", "omit", "datasetId", "lang", "options",
                                            "format", "local", "type"})};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    auto id = path_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto r = read_request(p, env.temporal_max_instances, false);
    if (!r.ok()) return p.fail(r.status());
    ngsild::registration::RegistrationQuery which;
    which.entities.ids = {*id};
    auto sources = temporal_sources(env, p, *r, "retrieveTemporal", which);
    auto shared = std::make_shared<Prepared>(std::move(p));
    boost::asio::post(env.blocking, [&env, shared, id = std::move(*id), r = std::move(*r),
                                     sources = std::move(sources)] {
      auto e = env.temporal->retrieve(shared->tenant, id, r.spec, shared->restriction);
      if (sources.empty() || (!e.ok() && e.status().kind() != ErrorKind::kResourceNotFound)) {
        if (!e.ok()) return shared->fail(e.status());
        return respond_entity(*shared, *e, r, {});
      }
      std::optional<temporal::TemporalEntityView> held;
      if (e.ok()) held = std::move(*e);
      const std::string path = "/ngsi-ld/v1/temporal/entities/" + percent_encode_segment(id) +
                               temporal_forward_query(shared->call.query);
      ask_temporal_sources(
          env, *shared, sources, path,
          [shared, id, r, held = std::move(held)](std::vector<TemporalService::Input> found,
                                                  std::vector<Header> warnings) mutable {
            for (auto& in : found) {
              if (in.id != id) continue;
              if (!held) held = temporal::TemporalEntityView{id};
              merge_temporal(*held, std::move(in), r.spec);
            }
            if (!held) {
              return shared->fail(Status::NotFound("entity '" + id + "' does not exist"));
            }
            respond_entity(*shared, *held, r, std::move(warnings));
          });
    });
  });
}

void query_temporal(Env& env, Call&& c) {
  static const CallSpec spec{
      false,
      {},
      kViews,
      with_temporal({"id",           "idPattern", "type",      "attrs",         "pick",
                     "omit",         "q",         "geometry",  "georel",        "coordinates",
                     "geoproperty",  "lang",      "scopeQ",    "datasetId",     "limit",
                     "offset",       "count",     "options",   "format",        "local",
                     "expandValues", "orderBy",   "orderFrom", "orderGeometry", "collation"})};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    auto q = ngsild::query::query_from_params(p.call.query, *p.ctx, env.limits);
    if (!q.ok()) return p.fail(q.status());
    auto r = read_request(p, env.temporal_max_instances, true);
    if (!r.ok()) return p.fail(r.status());
    auto sources = temporal_sources(env, p, *r, "queryTemporal", sources_query(*q));
    run_query(env, std::make_shared<Prepared>(std::move(p)), std::move(*q), std::move(*r),
              std::move(sources));
  });
}

void query_temporal_batch(Env& env, Call&& c) {
  static const CallSpec spec{
      true,
      kBodies,
      kViews,
      {"limit", "offset", "count", "options", "format", "local", "lastN", "aggrMethods",
       "aggrPeriodDuration", "orderBy", "orderFrom", "orderGeometry", "collation"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    if (!p.body->IsObject()) return p.fail(Status::BadRequestData("a Query must be a JSON object"));
    // temporalQ (§5.2.21) is this query's: its members read as the URI parameters would.
    QueryParams temporal_q;
    if (auto t = p.body->FindMember("temporalQ"); t != p.body->MemberEnd()) {
      if (!t->value.IsObject()) {
        return p.fail(Status::BadRequestData("temporalQ must be a JSON object"));
      }
      for (const auto& m : t->value.GetObject()) {
        if (!m.value.IsString()) {
          return p.fail(Status::BadRequestData(std::string("temporalQ.") + m.name.GetString() +
                                               " must be a string"));
        }
        temporal_q.items.emplace_back(m.name.GetString(), m.value.GetString());
      }
      p.body->RemoveMember("temporalQ");
    }
    auto r = read_request(p, env.temporal_max_instances, true, &temporal_q);
    if (!r.ok()) return p.fail(r.status());
    auto q = ngsild::query::query_from_object(*p.body, p.call.query, *p.ctx, env.limits, r->render);
    if (!q.ok()) return p.fail(q.status());
    const ngsild::Projection& pr = r->render.projection;
    r->spec.pick = pr.pick;
    r->spec.attrs = pr.pick_attrs;
    r->spec.omit = pr.omit_attrs;
    run_query(env, std::make_shared<Prepared>(std::move(p)), std::move(*q), std::move(*r));
  });
}

void delete_temporal(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {"local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    auto id = path_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.temporal->remove(shared->tenant, std::move(*id), no_content(shared), shared->restriction);
  });
}

void add_temporal_attrs(Env& env, Call&& c) {
  static const CallSpec spec{true, kBodies, {}, {}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    auto id = path_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto in = parse_temporal(*p.body, *p.ctx, false);
    if (!in.ok()) return p.fail(in.status());
    if (!in->id.empty() && in->id != *id) {
      return p.fail(Status::BadRequestData("id: the payload names '" + in->id +
                                           "' but the path names '" + *id + "'"));
    }
    in->id = *id;
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.temporal->add_attributes(shared->tenant, std::move(*in), no_content(shared),
                                 shared->restriction);
  });
}

void delete_temporal_attr(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {"datasetId", "deleteAll", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    auto id = path_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto name = path_attr(p);
    if (!name.ok()) return p.fail(name.status());
    auto all = flag_param(p.call.query, "deleteAll");
    if (!all.ok()) return p.fail(all.status());
    std::optional<Atom> dataset;
    if (const std::string* d = p.call.query.find("datasetId")) {
      if (!is_absolute_uri(*d)) return p.fail(Status::BadRequestData("datasetId must be a URI"));
      dataset = Atom::intern(*d);
    }
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.temporal->delete_attribute(shared->tenant, std::move(*id), *name, dataset, *all,
                                   no_content(shared), shared->restriction);
  });
}

void update_temporal_instance(Env& env, Call&& c) {
  static const CallSpec spec{true, kBodies, {}, {}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    auto at = instance_path(p);
    if (!at.ok()) return p.fail(at.status());
    // The body is the attribute with the one instance (§6.22.3.1): {"attr": [{...}]} or the
    // instance itself.
    const JsonValue* item = p.body.get();
    std::string key(p.call.params.at(1));
    if (p.body->IsObject()) {
      if (auto m = p.body->FindMember(key.c_str()); m != p.body->MemberEnd()) {
        item = &m->value;
        if (item->IsArray()) {
          if (item->Size() != 1) {
            return p.fail(Status::BadRequestData(key + ": give exactly one instance"));
          }
          item = &(*item)[0];
        }
      }
    }
    auto in = parse_instance(*item, at->name, key, *p.ctx);
    if (!in.ok()) return p.fail(in.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.temporal->update_instance(shared->tenant, std::move(at->id), at->name,
                                  std::move(at->instance), std::move(in->attr), no_content(shared),
                                  shared->restriction);
  });
}

void delete_temporal_instance(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.temporal == nullptr) return p.fail(unavailable());
    auto at = instance_path(p);
    if (!at.ok()) return p.fail(at.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.temporal->delete_instance(shared->tenant, std::move(at->id), at->name,
                                  std::move(at->instance), no_content(shared), shared->restriction);
  });
}

}  // namespace tsunagu::http::api
