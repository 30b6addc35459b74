// The tenants of the administration API (/admin/v1/tenants; docs/security.md, "Tenants"): the
// server administrator gives a tenant its settings (a name for people, a municipality code, a
// licence, quotas, CORS origins), changes and removes them. Plain JSON, as the API keys are.
#include <cmath>
#include <mutex>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
#include "http/api/api.hpp"

namespace tsunagu::http::api {
namespace {

using auth::TenantService;
using auth::TenantSettings;

constexpr std::string_view kCollection = "/admin/v1/tenants/";
constexpr size_t kMaxTextLength = 1024;
constexpr size_t kMaxOrigins = 64;
constexpr size_t kMaxRoles = 64;  // per tenant; also rules per role and types per rule

const std::vector<MediaType>& produces() {
  static const std::vector<MediaType> kJsonOnly{MediaType::kJson};
  return kJsonOnly;
}

std::string render(const TenantSettings& s) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("name");
  w.string(s.id);
  w.key("type");
  w.string("Tenant");
  auto text = [&w](const char* name, const std::string& value) {
    if (value.empty()) return;
    w.key(name);
    w.string(value);
  };
  text("displayName", s.display_name);
  text("municipalityCode", s.municipality_code);
  text("licence", s.licence);
  w.key("quotas");
  w.begin_object();
  if (s.max_entities > 0) {
    w.key("entities");
    w.number(static_cast<int64_t>(s.max_entities));
  }
  if (s.requests_per_second > 0) {
    w.key("requestsPerSecond");
    w.number(s.requests_per_second);
    w.key("burst");
    w.number(static_cast<int64_t>(s.bucket_size()));
  }
  if (s.notifications_per_second > 0) {
    w.key("notificationsPerSecond");
    w.number(s.notifications_per_second);
  }
  w.end_object();
  w.key("cors");
  w.begin_object();
  w.key("allowedOrigins");
  w.begin_array();
  for (const std::string& o : s.cors_origins)
    w.string(o);
  w.end_array();
  w.end_object();
  w.key("publicRead");
  w.boolean(s.public_read);
  if (s.history_retention_days >= 0) {
    w.key("retention");
    w.begin_object();
    w.key("historyDays");
    w.number(s.history_retention_days);
    w.end_object();
  }
  w.key("roles");
  w.begin_array();
  for (const auth::Role& role : s.roles) {
    w.begin_object();
    w.key("name");
    w.string(role.name);
    text("description", role.description);
    w.key("rules");
    w.begin_array();
    for (const auth::RoleRule& r : role.rules) {
      w.begin_object();
      w.key("access");
      w.string(r.write ? "write" : "read");
      if (!r.types.empty()) {
        w.key("types");
        w.begin_array();
        for (const std::string& t : r.types)
          w.string(t);
        w.end_array();
      }
      text("idPattern", r.id_pattern);
      text("scopeQ", r.scope_q);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.key("createdAt");
  w.string(format_datetime(s.created_at));
  w.key("modifiedAt");
  w.string(format_datetime(s.modified_at));
  w.end_object();
  return out;
}

Status text_member(const JsonValue& v, std::string_view name, std::string& out) {
  if (!v.IsString()) {
    return Status::BadRequestData(std::string(name) + ": a string is required, not " +
                                  json_type_name(v));
  }
  out.assign(v.GetString(), v.GetStringLength());
  if (out.size() > kMaxTextLength) {
    return Status::BadRequestData(std::string(name) + ": longer than " +
                                  std::to_string(kMaxTextLength) + " characters");
  }
  return Status::Ok();
}

// A rate per second from 0 (no limit) to 10,000,000.
Status rate_member(const JsonValue& v, std::string_view name, double& out) {
  if (!v.IsNumber() || !std::isfinite(v.GetDouble()) || v.GetDouble() < 0 || v.GetDouble() > 1e7) {
    return Status::BadRequestData(std::string(name) +
                                  ": a number from 0 (no limit) to 10000000 is required");
  }
  out = v.GetDouble();
  return Status::Ok();
}

// A whole number from 0 to `max`.
Status count_member(const JsonValue& v, std::string_view name, uint64_t max, uint64_t& out) {
  if (!v.IsUint64() || v.GetUint64() > max) {
    return Status::BadRequestData(std::string(name) + ": a whole number from 0 to " +
                                  std::to_string(max) + " is required");
  }
  out = v.GetUint64();
  return Status::Ok();
}

Status parse_quotas(const JsonValue& v, TenantSettings& s) {
  if (!v.IsObject()) {
    return Status::BadRequestData(std::string("quotas: an object is required, not ") +
                                  json_type_name(v));
  }
  for (const auto& m : v.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name == "entities") {
      TSUNAGU_RETURN_IF_ERROR(count_member(m.value, "quotas.entities", 1ULL << 40, s.max_entities));
    } else if (name == "requestsPerSecond") {
      TSUNAGU_RETURN_IF_ERROR(
          rate_member(m.value, "quotas.requestsPerSecond", s.requests_per_second));
    } else if (name == "notificationsPerSecond") {
      TSUNAGU_RETURN_IF_ERROR(
          rate_member(m.value, "quotas.notificationsPerSecond", s.notifications_per_second));
    } else if (name == "burst") {
      uint64_t burst = 0;
      TSUNAGU_RETURN_IF_ERROR(count_member(m.value, "quotas.burst", 10'000'000, burst));
      s.burst = static_cast<uint32_t>(burst);
    } else {
      return Status::BadRequestData("quotas: unknown member '" + std::string(name) +
                                    "' (allowed: entities, requestsPerSecond, burst, "
                                    "notificationsPerSecond)");
    }
  }
  return Status::Ok();
}

// {"historyDays": N}: the days of history the tenant keeps (0: all of it); null: the server's
// period again.
Status parse_retention(const JsonValue& v, TenantSettings& s) {
  if (!v.IsObject()) {
    return Status::BadRequestData(std::string("retention: an object is required, not ") +
                                  json_type_name(v));
  }
  for (const auto& m : v.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name != "historyDays") {
      return Status::BadRequestData("retention: unknown member '" + std::string(name) +
                                    "' (allowed: historyDays)");
    }
    if (m.value.IsNull()) {
      s.history_retention_days = -1;
      continue;
    }
    uint64_t days = 0;
    TSUNAGU_RETURN_IF_ERROR(count_member(m.value, "retention.historyDays", 36500, days));
    s.history_retention_days = static_cast<int64_t>(days);
  }
  return Status::Ok();
}

Status parse_cors(const JsonValue& v, TenantSettings& s) {
  if (!v.IsObject()) {
    return Status::BadRequestData(std::string("cors: an object is required, not ") +
                                  json_type_name(v));
  }
  for (const auto& m : v.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name != "allowedOrigins") {
      return Status::BadRequestData("cors: unknown member '" + std::string(name) +
                                    "' (allowed: allowedOrigins)");
    }
    if (!m.value.IsArray() || m.value.Size() > kMaxOrigins) {
      return Status::BadRequestData("cors.allowedOrigins: an array of at most " +
                                    std::to_string(kMaxOrigins) + " origins is required");
    }
    s.cors_origins.clear();
    for (const auto& o : m.value.GetArray()) {
      std::string origin;
      TSUNAGU_RETURN_IF_ERROR(text_member(o, "cors.allowedOrigins", origin));
      if (!auth::valid_origin(origin)) {
        return Status::BadRequestData("cors.allowedOrigins: '" + origin +
                                      "' is not an origin (scheme://host[:port], as a browser "
                                      "sends it: no path, no trailing slash)");
      }
      s.cors_origins.push_back(std::move(origin));
    }
  }
  return Status::Ok();
}

// One rule of a role: access required; types (expanded as the core @context expands them),
// idPattern and scopeQ optional.
Status parse_rule(const JsonValue& v, const std::string& where, const ngsild::jsonld::Context& core,
                  auth::RoleRule& rule) {
  if (!v.IsObject()) {
    return Status::BadRequestData(where + ": an object is required, not " + json_type_name(v));
  }
  bool has_access = false;
  for (const auto& m : v.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    const std::string member = where + "." + name;
    if (name == "access") {
      std::string access;
      TSUNAGU_RETURN_IF_ERROR(text_member(m.value, member, access));
      if (access != "read" && access != "write")
        return Status::BadRequestData(member + ": '" + access + "' is not read or write");
      rule.write = access == "write";
      has_access = true;
    } else if (name == "types") {
      if (!m.value.IsArray() || m.value.Empty() || m.value.Size() > kMaxRoles) {
        return Status::BadRequestData(member + ": an array of 1 to " + std::to_string(kMaxRoles) +
                                      " type names is required");
      }
      for (const auto& t : m.value.GetArray()) {
        std::string type;
        TSUNAGU_RETURN_IF_ERROR(text_member(t, member, type));
        if (!ngsild::valid_name(type) && !is_absolute_uri(type))
          return Status::BadRequestData(member + ": '" + type + "' is not a type name");
        rule.types.push_back(core.iri(type));
      }
    } else if (name == "idPattern") {
      TSUNAGU_RETURN_IF_ERROR(text_member(m.value, member, rule.id_pattern));
    } else if (name == "scopeQ") {
      TSUNAGU_RETURN_IF_ERROR(text_member(m.value, member, rule.scope_q));
    } else {
      return Status::BadRequestData(where + ": unknown member '" + name +
                                    "' (allowed: access, types, idPattern, scopeQ)");
    }
  }
  if (!has_access) return Status::BadRequestData(where + ".access: required (read or write)");
  return Status::Ok();
}

// The roles a tenant defines: each with a name, a description and its rules, compiled here so
// that a pattern or a scope query that is wrong is named before anything is stored.
Status parse_roles(const JsonValue& v, const ngsild::jsonld::Context& core, TenantSettings& s) {
  if (!v.IsArray() || v.Size() > kMaxRoles) {
    return Status::BadRequestData("roles: an array of at most " + std::to_string(kMaxRoles) +
                                  " roles is required");
  }
  std::vector<auth::Role> roles;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    const std::string where = "roles[" + std::to_string(i) + "]";
    if (!v[i].IsObject()) {
      return Status::BadRequestData(where + ": an object is required, not " + json_type_name(v[i]));
    }
    auth::Role role;
    bool has_rules = false;
    for (const auto& m : v[i].GetObject()) {
      const std::string name(m.name.GetString(), m.name.GetStringLength());
      const std::string member = where + "." + name;
      if (name == "name") {
        TSUNAGU_RETURN_IF_ERROR(text_member(m.value, member, role.name));
        if (!auth::valid_role_name(role.name)) {
          return Status::BadRequestData(member + ": '" + role.name +
                                        "' is not a role name (1-64 letters, digits, '_' or '-'; "
                                        "not read, write, admin, reader, editor or administrator, "
                                        "which every tenant has)");
        }
      } else if (name == "description") {
        TSUNAGU_RETURN_IF_ERROR(text_member(m.value, member, role.description));
      } else if (name == "rules") {
        if (!m.value.IsArray() || m.value.Empty() || m.value.Size() > kMaxRoles) {
          return Status::BadRequestData(member + ": an array of 1 to " + std::to_string(kMaxRoles) +
                                        " rules is required");
        }
        for (rapidjson::SizeType k = 0; k < m.value.Size(); ++k) {
          auth::RoleRule rule;
          TSUNAGU_RETURN_IF_ERROR(
              parse_rule(m.value[k], member + "[" + std::to_string(k) + "]", core, rule));
          role.rules.push_back(std::move(rule));
        }
        has_rules = true;
      } else {
        return Status::BadRequestData(where + ": unknown member '" + name +
                                      "' (allowed: name, description, rules)");
      }
    }
    if (role.name.empty()) return Status::BadRequestData(where + ".name: required");
    if (!has_rules) return Status::BadRequestData(where + ".rules: required");
    for (const auth::Role& earlier : roles) {
      if (earlier.name == role.name)
        return Status::BadRequestData(where + ".name: '" + role.name + "' is defined twice");
    }
    if (Status st = auth::compile_role(role); !st.ok())
      return Status::BadRequestData(where + "." + st.detail());
    roles.push_back(std::move(role));
  }
  s.roles = std::move(roles);
  return Status::Ok();
}

// Applies the members of a create (`creating`: name is required) or an update body to `s`.
// BadRequestData names the member that is wrong.
Status apply_body(const JsonValue& body, bool creating, const ngsild::jsonld::Context& core,
                  TenantSettings& s) {
  if (!body.IsObject()) {
    return Status::BadRequestData(std::string("the body must be a JSON object, not ") +
                                  json_type_name(body));
  }
  bool has_name = false;
  for (const auto& m : body.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    const JsonValue& v = m.value;
    if (name == "name") {
      if (!creating) return Status::BadRequestData("name: a tenant's name cannot change");
      TSUNAGU_RETURN_IF_ERROR(text_member(v, name, s.id));
      if (!valid_tenant(s.id)) {
        return Status::BadRequestData("name: '" + s.id +
                                      "' is not a tenant name (1-64 letters, digits, '_', '-' "
                                      "or '.')");
      }
      has_name = true;
    } else if (name == "displayName") {
      TSUNAGU_RETURN_IF_ERROR(text_member(v, name, s.display_name));
    } else if (name == "municipalityCode") {
      TSUNAGU_RETURN_IF_ERROR(text_member(v, name, s.municipality_code));
      if (s.municipality_code.size() > 16 ||
          !std::all_of(s.municipality_code.begin(), s.municipality_code.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
          })) {
        return Status::BadRequestData("municipalityCode: '" + s.municipality_code +
                                      "' is not a code (at most 16 letters, digits or '-')");
      }
    } else if (name == "licence") {
      TSUNAGU_RETURN_IF_ERROR(text_member(v, name, s.licence));
      if (!s.licence.empty() && !is_absolute_uri(s.licence))
        return Status::BadRequestData("licence: '" + s.licence + "' is not an absolute URI");
    } else if (name == "quotas") {
      TSUNAGU_RETURN_IF_ERROR(parse_quotas(v, s));
    } else if (name == "cors") {
      TSUNAGU_RETURN_IF_ERROR(parse_cors(v, s));
    } else if (name == "publicRead") {
      if (!v.IsBool()) {
        return Status::BadRequestData(std::string("publicRead: true or false is required, not ") +
                                      json_type_name(v));
      }
      s.public_read = v.GetBool();
    } else if (name == "retention") {
      TSUNAGU_RETURN_IF_ERROR(parse_retention(v, s));
    } else if (name == "roles") {
      TSUNAGU_RETURN_IF_ERROR(parse_roles(v, core, s));
    } else if (name == "type" || name == "createdAt" || name == "modifiedAt") {
      return Status::BadRequestData(std::string(name) + ": set by the server, not by the request");
    } else {
      return Status::BadRequestData(
          "unknown member '" + std::string(name) +
          "' (allowed: name, displayName, municipalityCode, licence, quotas, cors, publicRead, "
          "retention, roles)");
    }
  }
  if (creating && !has_name) return Status::BadRequestData("name: required");
  return Status::Ok();
}

void respond_settings(Prepared& p, int status, const Status& st,
                      const TenantService::SettingsPtr& s) {
  if (!st.ok()) return p.fail(st);
  std::vector<Header> headers;
  if (status == 201) headers.push_back({"Location", std::string(kCollection) + s->id});
  p.respond_json(status, render(*s), std::move(headers));
}

}  // namespace

// POST: 201 with Location and the settings; 409 when the tenant has settings already.
void create_tenant(Env& env, Call&& c) {
  static const CallSpec spec{true, {MediaType::kJson}, produces(), {}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    TenantSettings s;
    if (Status st = apply_body(*p.body, true, *env.contexts.core(), s); !st.ok()) return p.fail(st);
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.tenants->create(std::move(s),
                        [shared](const Status& st, const TenantService::SettingsPtr& stored) {
                          respond_settings(*shared, 201, st, stored);
                        });
  });
}

// GET: every tenant with settings, in creation order.
void list_tenants(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, produces(), {}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    std::string body = "[";
    for (const auto& s : env.tenants->list()) {
      if (outside_administered_tenant(p, s->id)) continue;
      if (body.size() > 1) body += ',';
      body += render(*s);
    }
    body += ']';
    p.respond_json(200, std::move(body));
  });
}

// GET one: 404 when the tenant has no settings.
void retrieve_tenant(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, produces(), {}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    const std::string& id = p.call.params.at(0);
    // Another tenant's settings are answered as absent to a tenant's administrator.
    auto s = outside_administered_tenant(p, id)
                 ? Result<TenantService::SettingsPtr>(
                       Status::NotFound("tenant '" + id + "' has no settings"))
                 : env.tenants->retrieve(id);
    if (!s.ok()) return p.fail(s.status());
    p.respond_json(200, render(**s));
  });
}

// PATCH: the members given replace the tenant's (within quotas and cors, each member given);
// 200 with the settings now. The body is checked before anything is stored. A tenant's
// administrator changes its own tenant's settings but its quotas, which are the server's.
void update_tenant(Env& env, Call&& c) {
  static const CallSpec spec{true, {MediaType::kJson}, produces(), {}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    std::string id = p.call.params.at(0);
    if (outside_administered_tenant(p, id))
      return p.fail(Status::NotFound("tenant '" + id + "' has no settings"));
    TenantSettings probe;
    if (Status st = apply_body(*p.body, false, *env.contexts.core(), probe); !st.ok())
      return p.fail(st);
    if (p.call.context.tenant_administrator && p.body->HasMember("quotas")) {
      return p.fail(Status(ErrorKind::kForbidden,
                           "quotas: a tenant's quotas are the server administrator's to change"));
    }
    auto shared = std::make_shared<Prepared>(std::move(p));
    // The body stays with the request (Prepared owns it) until the change has run.
    TenantService::Change change = [shared, core = env.contexts.core()](TenantSettings& s) {
      return apply_body(*shared->body, false, *core, s);
    };
    env.tenants->update(std::move(id), std::move(change),
                        [shared](const Status& st, const TenantService::SettingsPtr& stored) {
                          respond_settings(*shared, 200, st, stored);
                        });
  });
}

// Asynchronous steps run together: `then` follows once every one has answered, with the first
// failure among them (OK when none failed). Steps may answer on any thread.
class Gather {
 public:
  using Then = std::function<void(const Status&)>;
  static std::shared_ptr<Gather> of(size_t steps, Then then) {
    auto g = std::shared_ptr<Gather>(new Gather(steps, std::move(then)));
    if (steps == 0) g->then_(Status::Ok());
    return g;
  }
  // One step's answer; a failure `forgiven` accepts (a record gone meanwhile) counts as none.
  void done(const Status& st, bool (*forgiven)(const Status&) = nullptr) {
    {
      std::lock_guard lock(mu_);
      if (!st.ok() && first_.ok() && (forgiven == nullptr || !forgiven(st))) first_ = st;
      if (--left_ > 0) return;
    }
    then_(first_);
  }

 private:
  Gather(size_t steps, Then then) : left_(steps), then_(std::move(then)) {}
  std::mutex mu_;
  size_t left_;
  Status first_;
  Then then_;
};

bool gone(const Status& st) {
  return st.kind() == ErrorKind::kResourceNotFound;
}

// What a tenant holds besides its entities: each record is removed through its own service, as
// a client's DELETE would.
void remove_records(Env& env, const std::string& tenant, Gather::Then then) {
  std::vector<std::function<void(Gather::Then)>> steps;
  if (env.registrations != nullptr) {
    for (auto& v : env.registrations->list(tenant)) {
      steps.push_back([&env, tenant, id = v.def->id](Gather::Then d) {
        env.registrations->remove(tenant, id, std::move(d));
      });
    }
  }
  if (env.temporal != nullptr) {
    for (auto& id : env.temporal->ids(tenant)) {
      steps.push_back(
          [&env, tenant, id](Gather::Then d) { env.temporal->remove(tenant, id, std::move(d)); });
    }
  }
  if (env.api_keys != nullptr) {
    for (auto& key : env.api_keys->list()) {
      if (key->tenant != tenant) continue;
      steps.push_back(
          [&env, id = key->id](Gather::Then d) { env.api_keys->revoke(id, std::move(d)); });
    }
  }
  auto gather = Gather::of(steps.size(), std::move(then));
  for (auto& step : steps)
    step([gather](const Status& st) { gather->done(st, gone); });
}

// The tenant's entities, a few thousand per transaction, one transaction after the other.
void remove_entities(Env& env, const std::string& tenant, Gather::Then then) {
  constexpr size_t kPerBatch = 4096;
  ngsild::query::EntityQuery all;
  all.limit = SIZE_MAX;
  ngsild::RenderOptions unused;
  auto found = env.entities.query(tenant, all, unused);
  if (!found.ok())
    return then(found.status().kind() == ErrorKind::kNonexistentTenant ? Status::Ok()
                                                                       : found.status());
  auto ids = std::make_shared<std::vector<std::string>>();
  for (const auto& e : found->entities)
    ids->push_back(e->id);
  auto next = std::make_shared<std::function<void(size_t)>>();
  *next = [&env, tenant, ids, next, then = std::move(then)](size_t from) {
    if (from >= ids->size()) {
      Gather::Then finish = then;
      *next = nullptr;  // breaks the cycle through the capture (and ends this closure)
      return finish(Status::Ok());
    }
    std::vector<engine::BatchItem> items;
    for (size_t i = from; i < ids->size() && i < from + kPerBatch; ++i)
      items.push_back({(*ids)[i], std::nullopt, Status::Ok()});
    const size_t to = from + items.size();
    env.entities.batch(tenant, nullptr, engine::BatchOp::kDelete, std::move(items),
                       [next, to, then](const engine::BatchOutcome& out) {
                         for (const Status& st : out.status) {
                           if (!st.ok() && !gone(st)) {
                             *next = nullptr;
                             return then(st);
                           }
                         }
                         (*next)(to);
                       });
  };
  (*next)(0);
}

// Everything a tenant holds, in the order that keeps each step from feeding the next: its
// subscriptions first (so that deleting its entities notifies nobody), then its entities, then
// the rest (registrations, history, API keys).
void remove_tenant_data(Env& env, const std::string& tenant, Gather::Then then) {
  std::vector<std::string> subscriptions, csource_subscriptions;
  if (env.subscriptions != nullptr) {
    for (auto& v : env.subscriptions->list(tenant))
      subscriptions.push_back(v.def->id);
  }
  if (env.csource_subscriptions != nullptr) {
    for (auto& v : env.csource_subscriptions->list(tenant))
      csource_subscriptions.push_back(v.def->id);
  }
  auto after_subscriptions = [&env, tenant, then = std::move(then)](const Status& st) {
    if (!st.ok()) return then(st);
    remove_entities(env, tenant, [&env, tenant, then](const Status& st) {
      if (!st.ok()) return then(st);
      remove_records(env, tenant, then);
    });
  };
  auto gather =
      Gather::of(subscriptions.size() + csource_subscriptions.size(), after_subscriptions);
  for (auto& id : subscriptions) {
    env.subscriptions->remove(tenant, id, [gather](const Status& st) { gather->done(st, gone); });
  }
  for (auto& id : csource_subscriptions) {
    env.csource_subscriptions->remove(tenant, id,
                                      [gather](const Status& st) { gather->done(st, gone); });
  }
}

// DELETE: 204; the tenant's limits no longer apply. Its data stays, unless ?withData=true asks
// for all of it to go too (entities, history, subscriptions, registrations, API keys): then the
// tenant need not have settings, and the settings go last, so that a deletion cut short leaves
// its quotas in force.
void delete_tenant(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {"withData"}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    std::string id = p.call.params.at(0);
    const std::string* with_data = p.call.query.find("withData");
    if (with_data != nullptr && *with_data != "true" && *with_data != "false") {
      return p.fail(Status::BadRequestData("withData: true or false, not '" + *with_data + "'"));
    }
    auto shared = std::make_shared<Prepared>(std::move(p));
    auto remove_settings = [&env, shared, id,
                            keep_data =
                                with_data == nullptr || *with_data == "false"](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      env.tenants->remove(id, [shared, keep_data](const Status& st) {
        // A tenant without settings whose data was asked to go: gone all the same.
        if (!st.ok() && (keep_data || !gone(st))) return shared->fail(st);
        shared->respond_empty(204);
      });
    };
    if (with_data == nullptr || *with_data == "false") return remove_settings(Status::Ok());
    remove_tenant_data(env, id, remove_settings);
  });
}

}  // namespace tsunagu::http::api
