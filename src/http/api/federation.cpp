#include "http/api/federation.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <mutex>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
#include "http/problem.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::http::api {
namespace {

namespace reg = ngsild::registration;
using RegistrationPtr = engine::RegistrationService::RegistrationPtr;

// Whether the request already passed this broker: its Via names our identity (RFC 9110 §7.6.3:
// "received-protocol received-by", comma-separated).
bool passed_here(const Env& env, const Request& req) {
  std::string_view via = req.header("via");
  const std::string& me = env.source_identity;
  if (me.empty()) return false;
  for (size_t at = via.find(me); at != std::string_view::npos; at = via.find(me, at + 1)) {
    const bool starts = at == 0 || via[at - 1] == ' ';
    const size_t end = at + me.size();
    const bool ends = end == via.size() || via[end] == ',' || via[end] == ' ';
    if (starts && ends) return true;
  }
  return false;
}

// The time an instance stands for, to choose between two sources' instances.
int64_t instance_time(const ngsild::Attribute& a) {
  return a.observed_at != kNoTime ? a.observed_at : a.modified_at;
}

// A ProblemDetails for a source's answer that was not a success: the one it sent when it sent
// one, else one made here with its status (504 when no answer came).
std::string source_problem(const SourceAnswer& a) {
  const auto& o = a.outcome;
  JsonDoc doc;
  if (o.error.empty() && parse_json(o.body, doc).ok() && doc.IsObject() && doc.HasMember("type") &&
      doc["type"].IsString()) {
    if (!doc.HasMember("status")) {
      doc.AddMember("status", o.status, doc.GetAllocator());
    }
    return json_text(doc);
  }
  const ErrorKind kind = o.status == 0     ? ErrorKind::kGatewayTimeout
                         : o.status == 400 ? ErrorKind::kBadRequestData
                         : o.status == 404 ? ErrorKind::kResourceNotFound
                         : o.status == 409 ? ErrorKind::kAlreadyExists
                                           : ErrorKind::kInternalError;
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("type");
  w.string(problem_type(kind));
  w.key("title");
  w.string(problem_title(kind));
  w.key("status");
  w.number(int64_t{o.status == 0 ? 504 : o.status});
  w.key("detail");
  w.string("context source " + a.registration->endpoint + " (" + a.registration->id +
           "): " + (o.error.empty() ? "answered " + std::to_string(o.status) : o.error));
  w.end_object();
  return body;
}

}  // namespace

bool may_forward(Env& env, const Prepared& p) {
  // A caller with a role is kept to this broker's entities, where its rules apply
  // (docs/security.md, "Roles").
  if (!env.forward || p.restriction || env.registrations == nullptr ||
      !env.registrations->any(p.tenant)) {
    return false;
  }
  const std::string* local = p.call.query.find("local");
  return (local == nullptr || *local != "true") && !passed_here(env, p.call.req);
}

std::vector<RegistrationPtr> read_sources(Env& env, const Prepared& p,
                                          std::initializer_list<std::string_view> ops,
                                          const reg::RegistrationQuery& q) {
  if (!may_forward(env, p)) return {};
  std::vector<RegistrationPtr> out;
  for (auto& v : env.registrations->query(p.tenant, q)) {
    // A registration of this very broker would only come back here.
    if (v.def->alias && (*v.def->alias == env.source_identity ||
                         *v.def->alias == env.source_identity + "/" + p.tenant)) {
      continue;
    }
    if (std::any_of(ops.begin(), ops.end(),
                    [&v](std::string_view op) { return reg::supports(*v.def, op); })) {
      out.push_back(std::move(v.def));
    }
  }
  return out;
}

reg::RegistrationQuery sources_query(const ngsild::query::EntityQuery& q) {
  reg::RegistrationQuery which;
  which.entities.ids = q.ids;
  which.entities.id_pattern = q.id_pattern;
  which.entities.types = q.types;
  which.entities.attrs = q.attrs;
  which.entities.geo = q.geo;
  which.entities.geo_property = q.geo_property;
  return which;
}

void fan_out(Env& env, const Prepared& p, const std::vector<RegistrationPtr>& sources,
             std::vector<Forward> requests, std::function<void(std::vector<SourceAnswer>)> done) {
  struct Gather {
    std::mutex mu;
    std::vector<SourceAnswer> answers;
    size_t left = 0;
    std::function<void(std::vector<SourceAnswer>)> done;
  };
  auto g = std::make_shared<Gather>();
  g->left = sources.size();
  g->done = std::move(done);
  if (sources.empty()) {
    boost::asio::post(env.blocking, [g] { g->done({}); });
    return;
  }
  for (const auto& r : sources)
    g->answers.push_back({r, {}});
  // What every forwarded request carries: the @context it is to be read with, and Via.
  std::vector<Header> common = {{"Accept", "application/json"}};
  if (std::string_view link = p.call.req.header("link"); !link.empty()) {
    common.push_back({"Link", std::string(link)});
  }
  std::string via(p.call.req.header("via"));
  via += (via.empty() ? "" : ", ") + std::string("1.1 ") + env.source_identity;
  common.push_back({"Via", via});
  // `sent`: the request went to the source, and what it came to counts in the registration's
  // statistics (a request held back by a cooldown does not).
  auto finish = [&env, g, tenant = p.tenant](size_t i, HttpClient::Outcome&& o, bool sent = true) {
    if (sent) {
      env.registrations->record(tenant, g->answers[i].registration->id,
                                o.error.empty() && o.status < 500, now_us());
    }
    std::lock_guard lock(g->mu);
    g->answers[i].outcome = std::move(o);
    if (--g->left == 0) {
      boost::asio::post(env.blocking, [g] { g->done(std::move(g->answers)); });
    }
  };
  const int64_t now = now_us();
  for (size_t i = 0; i < sources.size(); ++i) {
    const reg::Registration& r = *sources[i];
    Forward& f = requests[i];
    // management.cooldown: a source that failed is left alone for that long, and answers as one
    // that timed out meanwhile (§5.2.34).
    if (r.cooldown_ms) {
      const int64_t failed_at = env.registrations->failing_since(p.tenant, r.id);
      if (failed_at != kNoTime && now - failed_at < static_cast<int64_t>(*r.cooldown_ms * 1000)) {
        HttpClient::Outcome cooling;
        cooling.error = "timed out: in its cooldown after a failure at " +
                        format_datetime(failed_at) + ", not asked";
        finish(i, std::move(cooling), false);
        continue;
      }
    }
    HttpClient::Request req;
    std::string endpoint = r.endpoint;
    while (!endpoint.empty() && endpoint.back() == '/')
      endpoint.pop_back();
    // An endpoint may name the source's API root itself (".../ngsi-ld/v1"), as the suite's
    // interoperability tests register brokers: the paths sent below it start there already.
    constexpr std::string_view kApiRoot = "/ngsi-ld/v1";
    if (endpoint.size() > kApiRoot.size() &&
        std::string_view(endpoint).substr(endpoint.size() - kApiRoot.size()) == kApiRoot &&
        std::string_view(f.path_query).substr(0, kApiRoot.size()) == kApiRoot) {
      endpoint.resize(endpoint.size() - kApiRoot.size());
    }
    req.url = endpoint + f.path_query;
    req.method = f.method;
    req.headers = common;
    if (!f.body.empty()) {
      req.headers.push_back({"Content-Type", f.content_type});
      req.body = std::move(f.body);
    }
    if (r.tenant) req.headers.push_back({"NGSILD-Tenant", *r.tenant});
    for (const auto& [k, v] : r.context_source_info)
      req.headers.push_back({k, v});
    req.timeout_ms = r.timeout_ms ? static_cast<int>(*r.timeout_ms) : env.forward_timeout_ms;
    if (!env.forward(std::move(req),
                     [finish, i](HttpClient::Outcome&& o) { finish(i, std::move(o)); })) {
      HttpClient::Outcome refused;
      refused.error = "too many requests to context sources queued";
      finish(i, std::move(refused));
    }
  }
}

std::string query_without(const QueryParams& params,
                          std::initializer_list<std::string_view> shaped_here,
                          std::initializer_list<std::string_view> drop) {
  std::string out;
  for (const auto& [name, value] : params.items) {
    if (std::find(shaped_here.begin(), shaped_here.end(), name) != shaped_here.end() ||
        std::find(drop.begin(), drop.end(), name) != drop.end()) {
      continue;
    }
    out += out.empty() ? "?" : "&";
    out += percent_encode_query_value(name) + "=" + percent_encode_query_value(value);
  }
  return out;
}

std::string forwarded_query(const QueryParams& params,
                            std::initializer_list<std::string_view> drop) {
  return query_without(params,
                       {"options", "format", "pick", "omit", "join", "joinLevel", "local", "limit",
                        "offset", "count", "attrs"},
                       drop);
}

Forward retrieve_request(const reg::Registration& r, const std::string& id, const std::string* type,
                         const QueryParams& query, const ngsild::jsonld::Context& ctx) {
  if (reg::supports(r, "retrieveEntity")) {
    return {"GET", "/ngsi-ld/v1/entities/" + percent_encode_segment(id) + forwarded_query(query),
            ""};
  }
  // The types the registration gives for this id, compacted for the source.
  std::string types;
  if (type != nullptr) {
    types = *type;
  } else {
    std::string scratch;
    for (const auto& info : r.information) {
      for (const auto& e : info.entities.value_or(std::vector<reg::EntityInfo>{})) {
        const bool covers =
            e.id ? *e.id == id : !e.id_pattern || RE2::PartialMatch(id, *e.id_pattern);
        for (Atom t : covers ? e.types : std::vector<Atom>{}) {
          std::string name(ctx.compact(t, scratch));
          if (("," + types + ",").find("," + name + ",") != std::string::npos) continue;
          types += (types.empty() ? "" : ",") + name;
        }
      }
    }
  }
  if (reg::supports(r, "queryEntity")) {
    std::string rest = forwarded_query(query, {"type", "id", "idPattern"});
    std::string path = "/ngsi-ld/v1/entities?id=" + percent_encode_query_value(id);
    if (!types.empty()) path += "&type=" + percent_encode_query_value(types);
    if (!rest.empty()) path += "&" + rest.substr(1);
    return {"GET", path, ""};
  }
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("type");
  w.string("Query");
  w.key("entities");
  w.begin_array();
  w.begin_object();
  w.key("id");
  w.string(id);
  if (!types.empty()) {
    w.key("type");
    w.string(types);
  }
  w.end_object();
  w.end_array();
  w.end_object();
  return {"POST", "/ngsi-ld/v1/entityOperations/query", body};
}

std::vector<Header> source_warnings(const std::vector<SourceAnswer>& answers) {
  // §6.3.17: 199 (miscellaneous) with the source and what went wrong, one value per source,
  // comma-separated in one header.
  std::string value;
  for (const auto& a : answers) {
    const auto& o = a.outcome;
    if (o.ok() || (o.error.empty() && o.status == 404)) continue;
    std::string what = o.error.empty() ? "answered " + std::to_string(o.status) : o.error;
    std::replace(what.begin(), what.end(), '"', '\'');
    if (!value.empty()) value += ", ";
    value += "199 " + a.registration->endpoint + " \"" + a.registration->id + ": " + what + "\"";
  }
  if (value.empty()) return {};
  return {{"NGSILD-Warning", std::move(value)}};
}

void DistributedResult::succeeded(const std::string& id) {
  if (std::find(success_.begin(), success_.end(), id) == success_.end()) success_.push_back(id);
}

void DistributedResult::failed(const std::string& id, const std::string* registration,
                               std::string_view problem) {
  std::string& out = errors_;
  if (failures_++ != 0) out += ',';
  JsonWriter w(out);
  w.begin_object();
  w.key("entityId");
  w.string(id);
  if (registration != nullptr) {
    w.key("registrationId");
    w.string(*registration);
  }
  w.key("error");
  w.raw(problem);
  w.end_object();
}

void DistributedResult::add_source(const SourceAnswer& a, const std::vector<std::string>& ids) {
  const auto& o = a.outcome;
  const std::string* registration = &a.registration->id;
  JsonDoc doc;  // read only for a 207: a plain success or failure says all in its status
  if (o.error.empty() && o.status == 207 && parse_json(o.body, doc).ok() && doc.IsObject() &&
      doc.HasMember("errors") && doc["errors"].IsArray()) {
    // The source's own BatchOperationResult.
    if (doc.HasMember("success") && doc["success"].IsArray()) {
      for (const auto& id : doc["success"].GetArray()) {
        if (id.IsString()) succeeded(std::string(id.GetString(), id.GetStringLength()));
      }
    }
    for (const auto& e : doc["errors"].GetArray()) {
      if (!e.IsObject() || !e.HasMember("entityId") || !e["entityId"].IsString()) continue;
      const std::string id(e["entityId"].GetString(), e["entityId"].GetStringLength());
      auto error = e.FindMember("error");
      failed(id, registration, error != e.MemberEnd() ? json_text(error->value) : "{}");
    }
    return;
  }
  if (o.ok() && o.status != 207) {
    for (const auto& id : ids)
      succeeded(id);
    return;
  }
  // The source found that the request had passed it already and cut the loop (§6.3.18): it
  // neither wrote nor failed.
  if (o.error.empty() && o.status == 508) return;
  // A failure, or a partial success that does not say what failed: all of them.
  const std::string problem = source_problem(a);
  for (const auto& id : ids)
    failed(id, registration, problem);
}

void DistributedResult::merge(const DistributedResult& other) {
  for (const auto& id : other.success_)
    succeeded(id);
  if (other.failures_ == 0) return;
  if (failures_ != 0) errors_ += ',';
  errors_ += other.errors_;
  failures_ += other.failures_;
}

std::string DistributedResult::body() const {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("success");
  w.begin_array();
  for (const auto& id : success_)
    w.string(id);
  w.end_array();
  w.key("errors");
  w.raw("[" + errors_ + "]");
  w.end_object();
  return out;
}

Result<std::shared_ptr<ngsild::Entity>> source_entity(const JsonValue& v,
                                                      const ngsild::jsonld::Context& ctx) {
  if (!v.IsObject()) return Status::BadRequestData("a source's entity is not a JSON object");
  auto in = ngsild::parse_entity(v, ctx, {});
  if (!in.ok()) return in.status();
  auto e = std::make_shared<ngsild::Entity>();
  e->id = std::move(*in->id);
  e->types = std::move(in->types);
  if (in->scopes) e->scopes = std::move(*in->scopes);
  for (auto& a : in->attrs)
    e->put(std::move(a));
  return e;
}

std::string query_object_of(const QueryParams& params) {
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("type");
  w.string("Query");
  const std::string* type = params.find("type");
  const std::string* ids = params.find("id");
  const std::string* pattern = params.find("idPattern");
  if (type != nullptr || ids != nullptr || pattern != nullptr) {
    w.key("entities");
    w.begin_array();
    auto selector = [&](const std::string* id) {
      w.begin_object();
      if (id != nullptr) {
        w.key("id");
        w.string(*id);
      } else if (pattern != nullptr) {
        w.key("idPattern");
        w.string(*pattern);
      }
      if (type != nullptr) {
        w.key("type");
        w.string(*type);
      }
      w.end_object();
    };
    if (ids != nullptr) {
      for (const auto& id : split_list(*ids))
        selector(&id);
    } else {
      selector(nullptr);
    }
    w.end_array();
  }
  for (const char* name : {"q", "scopeQ", "lang"}) {
    if (const std::string* v = params.find(name)) {
      w.key(name);
      w.string(*v);
    }
  }
  if (const std::string* georel = params.find("georel")) {
    w.key("geoQ");
    w.begin_object();
    w.key("georel");
    w.string(*georel);
    if (const std::string* g = params.find("geometry")) {
      w.key("geometry");
      w.string(*g);
    }
    if (const std::string* c = params.find("coordinates")) {
      JsonDoc coords;
      w.key("coordinates");
      if (parse_json(*c, coords).ok()) {
        w.raw(json_text(coords));
      } else {
        w.string(*c);
      }
    }
    if (const std::string* gp = params.find("geoproperty")) {
      w.key("geoproperty");
      w.string(*gp);
    }
    w.end_object();
  }
  w.end_object();
  return body;
}

Result<std::vector<std::shared_ptr<ngsild::Entity>>> source_entities(
    const std::string& body, const ngsild::jsonld::Context& ctx) {
  JsonDoc doc;
  if (!parse_json(body, doc).ok()) return Status::BadRequestData("its answer is not JSON");
  std::vector<std::shared_ptr<ngsild::Entity>> out;
  auto add = [&](const JsonValue& v) -> Status {
    auto e = source_entity(v, ctx);
    if (!e.ok()) return Status::BadRequestData("an entity of its answer: " + e.status().detail());
    out.push_back(std::move(*e));
    return Status::Ok();
  };
  if (doc.IsArray()) {
    for (const auto& v : doc.GetArray())
      TSUNAGU_RETURN_IF_ERROR(add(v));
  } else {
    TSUNAGU_RETURN_IF_ERROR(add(doc));
  }
  return out;
}

void auxiliary_last(std::vector<SourceAnswer>& answers) {
  std::stable_partition(answers.begin(), answers.end(), [](const SourceAnswer& a) {
    return a.registration->mode != reg::Mode::kAuxiliary;
  });
}

void merge_entity(ngsild::Entity& into, const ngsild::Entity& from, reg::Mode mode) {
  for (Atom t : from.types) {
    if (!into.has_type(t)) into.types.push_back(t);
  }
  for (const auto& s : from.scopes) {
    if (std::find(into.scopes.begin(), into.scopes.end(), s) == into.scopes.end()) {
      into.scopes.push_back(s);
    }
  }
  for (const auto& a : from.attrs) {
    const ngsild::Attribute* held = into.find(a.name, a.dataset_id);
    const bool take = held == nullptr || mode == reg::Mode::kExclusive ||
                      (mode != reg::Mode::kAuxiliary && instance_time(a) > instance_time(*held));
    if (take) into.put(a);
  }
}

bool owns(const reg::Registration& r, const std::string& id, Atom name) {
  for (const auto& info : r.information) {
    bool entity = !info.entities;
    for (const auto& e : info.entities.value_or(std::vector<reg::EntityInfo>{})) {
      entity =
          entity || (e.id ? *e.id == id : !e.id_pattern || RE2::PartialMatch(id, *e.id_pattern));
    }
    if (entity && info.provides(name)) return true;
  }
  return false;
}

bool entity_member(std::string_view key) {
  return key == "id" || key == "type" || key == "scope" || key == "@context";
}

std::optional<ngsild::query::TypeSelection> local_types(Env& env, const Prepared& p,
                                                        const std::string& id) {
  ngsild::RenderOptions options;
  auto held = env.entities.retrieve({p.tenant, id, std::nullopt, p.restriction}, options);
  if (!held.ok()) return std::nullopt;
  ngsild::query::TypeSelection types;
  for (Atom t : (*held)->types)
    types.groups.push_back({t});
  return types;
}

std::string forwarded_path(const Prepared& p) {
  std::string path = p.call.req.path;
  char sep = '?';
  for (const auto& [name, value] : p.call.query.items) {
    if (name == "local") continue;
    path += sep + percent_encode_query_value(name) + "=" + percent_encode_query_value(value);
    sep = '&';
  }
  return path;
}

bool refused_loop(Env& env, Prepared& p) {
  const std::string* local_only = p.call.query.find("local");
  if ((local_only != nullptr && *local_only == "true") || !passed_here(env, p.call.req)) {
    return false;
  }
  // A write that comes back would be written twice (§6.3.18: 508).
  p.fail(Status(ErrorKind::kLoopDetected, "this request already passed this broker (" +
                                              env.source_identity + " is in its Via)"));
  return true;
}

void distribute_write(Env& env, Prepared&& p, WriteTarget t,
                      std::function<void(Prepared&&)> local) {
  if (refused_loop(env, p)) return;
  if (!may_forward(env, p)) return local(std::move(p));
  reg::RegistrationQuery which;
  which.entities.ids = {t.id};
  // The entity's type narrows the sources: the payload's for a create, else the type
  // parameter (§6.5.3.2 and the attribute operations take one for this).
  std::string_view type;
  if (const std::string* given = p.call.query.find("type")) {
    type = *given;
  } else if (t.op == "createEntity" && p.body && p.body->IsObject()) {
    if (auto member = p.body->FindMember("type");
        member != p.body->MemberEnd() && member->value.IsString()) {
      type = std::string_view(member->value.GetString(), member->value.GetStringLength());
    }
  }
  if (!type.empty()) {
    auto selection = ngsild::query::parse_type_selection(type, *p.ctx);
    if (selection.ok()) which.entities.types = std::move(*selection);
  } else {
    which.entities.types = local_types(env, p, t.id);
  }
  std::vector<RegistrationPtr> sources;
  for (auto& r : read_sources(env, p, {t.op}, which)) {
    if (r->mode != reg::Mode::kAuxiliary) sources.push_back(std::move(r));  // never written
  }
  if (sources.empty()) return local(std::move(p));
  if (t.check) {
    if (Status st = t.check(p); !st.ok()) return p.fail(st);
  }

  const std::string path = forwarded_path(p);
  const std::string content_type(p.call.req.header("content-type"));
  const std::string body_type = content_type.empty() ? "application/json" : content_type;
  bool here = true;
  bool split = false;  // an exclusive source took some of the body's attributes
  bool owned = false;  // an exclusive source owns the attribute of the path
  std::vector<RegistrationPtr> asked;
  std::vector<Forward> requests;
  // Exclusive sources first: what they own goes to them alone, so the others are sent the rest.
  for (const auto& r : sources) {
    if (r->mode != reg::Mode::kExclusive) continue;
    Forward f{std::string(method_name(p.call.req.method)), path, "", body_type};
    if (t.path_attribute) {
      if (t.attribute.empty() || !owns(*r, t.id, t.attribute)) continue;
      owned = true;
      here = false;
      if (p.body) f.body = json_text(*p.body);
    } else if (t.body_attributes && p.body && p.body->IsObject()) {
      JsonDoc part(rapidjson::kObjectType);
      auto& alloc = part.GetAllocator();
      std::vector<std::string> taken;
      for (auto& m : p.body->GetObject()) {
        std::string_view key(m.name.GetString(), m.name.GetStringLength());
        const bool attribute = !entity_member(key);
        if (attribute && !owns(*r, t.id, p.ctx->expand(key))) continue;
        part.AddMember(JsonValue(m.name, alloc), JsonValue(m.value, alloc), alloc);
        if (attribute) taken.emplace_back(key);
      }
      if (taken.empty()) continue;
      split = true;
      for (const auto& key : taken)
        p.body->RemoveMember(key.c_str());
      f.body = json_text(part);
    } else if (p.body) {
      f.body = json_text(*p.body);
    }
    asked.push_back(r);
    requests.push_back(std::move(f));
  }
  // The request's body, less what exclusive sources took.
  const std::string rest_body = p.body ? json_text(*p.body) : std::string();
  const bool attributes_left =
      !split || std::any_of(p.body->MemberBegin(), p.body->MemberEnd(), [](const auto& m) {
        return !entity_member(std::string_view(m.name.GetString(), m.name.GetStringLength()));
      });
  for (const auto& r : sources) {
    if (r->mode == reg::Mode::kExclusive || owned) continue;
    // An update left with no attribute has nothing for them.
    if (!attributes_left && t.op != "createEntity" && t.op != "replaceEntity") continue;
    if (r->mode == reg::Mode::kRedirect) here = false;
    asked.push_back(r);
    requests.push_back({std::string(method_name(p.call.req.method)), path, rest_body, body_type});
  }
  if (asked.empty()) return local(std::move(p));
  // An update that leaves no attribute here writes nothing here, nor does a create whose
  // attributes exclusive sources took (the entity is theirs); a replacement still replaces.
  if (here && t.body_attributes && t.op != "replaceEntity" && (t.op != "createEntity" || split)) {
    here = attributes_left;
  }
  auto shared = std::make_shared<Prepared>(std::move(p));
  fan_out(env, *shared, asked, std::move(requests),
          [shared, t = std::move(t), here,
           local = std::move(local)](std::vector<SourceAnswer> answers) mutable {
            auto sources_result = std::make_shared<DistributedResult>();
            for (const auto& a : answers)
              sources_result->add_source(a, {t.id});
            if (!here) {
              if (sources_result->any_failed()) {
                shared->accept = MediaType::kJson;
                return shared->respond_json(207, sources_result->body());
              }
              if (t.op != "createEntity") return shared->respond_empty(204);
              return shared->respond_empty(
                  201, {{"Location", "/ngsi-ld/v1/entities/" + percent_encode_segment(t.id)}});
            }
            // This broker's answer, unless a part failed.
            shared->call.reply = [reply = std::move(shared->call.reply), sources_result, id = t.id,
                                  path_attribute = t.path_attribute](Response&& r) {
              const DistributedResult& sources = *sources_result;
              if (!sources.any_failed() && !sources.any_succeeded()) return reply(std::move(r));
              const bool complete = r.status >= 200 && r.status < 300 && r.status != 207;
              // An attribute that is not here (404 for the attribute of the path, or listed as
              // not updated) but that a source wrote is written.
              const bool covered = sources.any_succeeded() &&
                                   (r.status == 207 || (r.status == 404 && path_attribute));
              std::vector<Header> tenant;
              for (auto& h : r.headers) {
                if (h.name == "NGSILD-Tenant") tenant.push_back(std::move(h));
              }
              if (!sources.any_failed() && (complete || covered)) {
                if (complete) return reply(std::move(r));
                Response done;
                done.status = 204;
                done.headers = std::move(tenant);
                return reply(std::move(done));
              }
              DistributedResult result;
              if (complete || covered || r.status == 207) {
                result.succeeded(id);
              } else {
                result.failed(id, nullptr, r.body);
              }
              result.merge(sources);
              Response multi;
              multi.status = 207;
              multi.content_type = "application/json";
              multi.body = result.body();
              multi.headers = std::move(tenant);
              reply(std::move(multi));
            };
            local(std::move(*shared));
          });
}

void retrieve_source_identity(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {MediaType::kJson, MediaType::kJsonLd}, {}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    // §5.2.40. The alias is the name this broker gives itself in Via, per tenant when one is
    // named, so that a registration can say which broker (and tenant) it points at.
    const int64_t now = now_us();
    std::string body;
    JsonWriter w(body);
    w.begin_object();
    w.key("id");
    w.string(env.source_id);
    w.key("type");
    w.string("ContextSourceIdentity");
    w.key("contextSourceUpTime");
    w.string("PT" + std::to_string(std::max<int64_t>(0, now - env.started_at) / 1000000) + "S");
    w.key("contextSourceTimeAt");
    w.string(format_datetime(now));
    w.key("contextSourceAlias");
    w.string(p.tenant.empty() ? env.source_identity : env.source_identity + "/" + p.tenant);
    w.key("contextSourceExtras");
    w.begin_object();
    w.key("software");
    w.string("Tsunagu");
    w.end_object();
    if (p.accept == MediaType::kJsonLd) {
      w.plain_key("@context");
      w.raw(p.ctx->body_json());
    }
    w.end_object();
    p.respond_json(200, std::move(body));
  });
}

}  // namespace tsunagu::http::api
