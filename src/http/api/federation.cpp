#include "http/api/federation.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <mutex>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
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

}  // namespace

bool may_forward(Env& env, const Prepared& p) {
  if (!env.forward || env.registrations == nullptr || !env.registrations->any(p.tenant)) {
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
  auto finish = [&env, g](size_t i, HttpClient::Outcome&& o) {
    std::lock_guard lock(g->mu);
    g->answers[i].outcome = std::move(o);
    if (--g->left == 0) {
      boost::asio::post(env.blocking, [g] { g->done(std::move(g->answers)); });
    }
  };
  for (size_t i = 0; i < sources.size(); ++i) {
    const reg::Registration& r = *sources[i];
    Forward& f = requests[i];
    HttpClient::Request req;
    std::string endpoint = r.endpoint;
    while (!endpoint.empty() && endpoint.back() == '/')
      endpoint.pop_back();
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

std::string forwarded_query(const QueryParams& params,
                            std::initializer_list<std::string_view> drop) {
  static constexpr std::string_view kKeptHere[] = {"options", "format",    "pick",  "omit",
                                                   "join",    "joinLevel", "local", "limit",
                                                   "offset",  "count",     "attrs"};
  std::string out;
  for (const auto& [name, value] : params.items) {
    if (std::find(std::begin(kKeptHere), std::end(kKeptHere), name) != std::end(kKeptHere) ||
        std::find(drop.begin(), drop.end(), name) != drop.end()) {
      continue;
    }
    out += out.empty() ? "?" : "&";
    out += percent_encode_query_value(name) + "=" + percent_encode_query_value(value);
  }
  return out;
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

namespace {

// Whether registration `r` names attribute `name` of entity `id` (an information item that
// covers the entity and provides the attribute).
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

// The members of an entity payload that are not attributes.
bool entity_member(std::string_view key) {
  return key == "id" || key == "type" || key == "scope" || key == "@context";
}

// The answer to a write that only sources took: their success, else their failure.
void respond_from_sources(Prepared& p, const WriteTarget& t,
                          const std::vector<SourceAnswer>& answers) {
  for (const auto& a : answers) {
    if (!a.outcome.ok()) continue;
    std::vector<Header> extra = source_warnings(answers);
    if (t.op == "createEntity") {
      extra.push_back({"Location", "/ngsi-ld/v1/entities/" + percent_encode_segment(t.id)});
      return p.respond_empty(201, std::move(extra));
    }
    return p.respond_empty(204, std::move(extra));
  }
  // Every source failed: the first one's answer, in this broker's terms.
  const auto& first = answers.front();
  const std::string what =
      "context source " + first.registration->endpoint + " (" + first.registration->id + "): " +
      (first.outcome.error.empty() ? "answered " + std::to_string(first.outcome.status)
                                   : first.outcome.error);
  switch (first.outcome.status) {
    case 400:
      return p.fail(Status::BadRequestData(what));
    case 404:
      return p.fail(Status::NotFound(what));
    case 409:
      return p.fail(Status::AlreadyExists(what));
    case 0:  // no answer came (unreachable, timed out)
      return p.fail(Status(ErrorKind::kGatewayTimeout, what));
    default:
      return p.fail(Status::Internal(what));
  }
}

}  // namespace

void distribute_write(Env& env, Prepared&& p, WriteTarget t,
                      std::function<void(Prepared&&)> local) {
  if (!may_forward(env, p)) return local(std::move(p));
  reg::RegistrationQuery which;
  which.entities.ids = {t.id};
  if (t.op == "createEntity" && p.body && p.body->IsObject()) {
    if (auto type = p.body->FindMember("type");
        type != p.body->MemberEnd() && type->value.IsString()) {
      auto selection = ngsild::query::parse_type_selection(
          std::string_view(type->value.GetString(), type->value.GetStringLength()), *p.ctx);
      if (selection.ok()) which.entities.types = std::move(*selection);
    }
  }
  std::vector<RegistrationPtr> sources;
  for (auto& r : read_sources(env, p, {t.op}, which)) {
    if (r->mode != reg::Mode::kAuxiliary) sources.push_back(std::move(r));  // never written
  }
  if (sources.empty()) return local(std::move(p));
  if (t.check) {
    if (Status st = t.check(p); !st.ok()) return p.fail(st);
  }

  // The request as it came, but local.
  std::string path = p.call.req.path;
  std::string rest;
  for (const auto& [name, value] : p.call.query.items) {
    if (name == "local") continue;
    rest += (rest.empty() ? "?" : "&") + percent_encode_query_value(name) + "=" +
            percent_encode_query_value(value);
  }
  path += rest;
  const std::string content_type(p.call.req.header("content-type"));
  // The body as it was read (the request's own text was parsed in place).
  const std::string body = p.body ? json_text(*p.body) : std::string();
  bool here = true;
  std::vector<RegistrationPtr> asked;
  std::vector<Forward> requests;
  for (const auto& r : sources) {
    Forward f{std::string(method_name(p.call.req.method)), path, body,
              content_type.empty() ? "application/json" : content_type};
    if (r->mode == reg::Mode::kRedirect) {
      here = false;
    } else if (r->mode == reg::Mode::kExclusive && t.path_attribute) {
      if (t.attribute.empty() || !owns(*r, t.id, t.attribute)) continue;
      here = false;
    } else if (r->mode == reg::Mode::kExclusive && t.body_attributes && p.body &&
               p.body->IsObject()) {
      // Its attributes go to it alone.
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
      for (const auto& key : taken)
        p.body->RemoveMember(key.c_str());
      f.body = json_text(part);
    }
    asked.push_back(r);
    requests.push_back(std::move(f));
  }
  if (asked.empty()) return local(std::move(p));
  // An update that leaves no attribute here writes nothing here (a create still makes the
  // entity, and a replacement still replaces it).
  if (here && t.body_attributes && t.op != "createEntity" && t.op != "replaceEntity" && p.body &&
      p.body->IsObject()) {
    here = std::any_of(p.body->MemberBegin(), p.body->MemberEnd(), [](const auto& m) {
      return !entity_member(std::string_view(m.name.GetString(), m.name.GetStringLength()));
    });
  }
  auto shared = std::make_shared<Prepared>(std::move(p));
  fan_out(env, *shared, asked, std::move(requests),
          [shared, t = std::move(t), here,
           local = std::move(local)](std::vector<SourceAnswer> answers) mutable {
            if (!here) return respond_from_sources(*shared, t, answers);
            const bool any_ok = std::any_of(answers.begin(), answers.end(),
                                            [](const auto& a) { return a.outcome.ok(); });
            auto warnings = source_warnings(answers);
            // This broker's answer, with what the sources did.
            shared->call.reply = [reply = std::move(shared->call.reply), warnings, any_ok,
                                  t](Response&& r) {
              if (r.status == 404 && any_ok) {
                Response ok;
                ok.status = t.op == "createEntity" ? 201 : 204;
                ok.headers = warnings;
                return reply(std::move(ok));
              }
              if (r.status >= 200 && r.status < 300) {
                r.headers.insert(r.headers.end(), warnings.begin(), warnings.end());
              }
              reply(std::move(r));
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
