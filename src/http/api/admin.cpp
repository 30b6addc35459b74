// The administration API (/admin/v1; docs/security.md, "API keys"): the server administrator
// creates, lists, retrieves, rotates and revokes the API keys of machines. Not NGSI-LD: plain
// JSON, no @context, no tenant header (a key names its tenant in its body). The context step in
// routes.cpp has already checked the administrator's key.
#include <charconv>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "http/api/api.hpp"

namespace tsunagu::http::api {
namespace {

using auth::ApiKey;
using auth::ApiKeyService;

constexpr std::string_view kCollection = "/admin/v1/apiKeys/";
constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxDescriptionLength = 4096;

const std::vector<MediaType>& produces() {
  static const std::vector<MediaType> kJsonOnly{MediaType::kJson};
  return kJsonOnly;
}

// A key's representation. `secret` only in the answers of create and rotate; never the hash.
std::string render(const ApiKey& key, std::string_view secret = {}) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id");
  w.string(key.id);
  w.key("type");
  w.string("ApiKey");
  w.key("name");
  w.string(key.name);
  if (!key.description.empty()) {
    w.key("description");
    w.string(key.description);
  }
  // The default tenant is the absence of a name, as with NGSILD-Tenant.
  if (!key.tenant.empty()) {
    w.key("tenant");
    w.string(key.tenant);
  }
  w.key("access");
  w.string(auth::key_access_name(key.access));
  if (!key.role.empty()) {
    w.key("role");
    w.string(key.role);
  }
  if (key.expires_at != kNoTime) {
    w.key("expiresAt");
    w.string(format_datetime(key.expires_at));
  }
  w.key("createdAt");
  w.string(format_datetime(key.created_at));
  if (key.last_rotated_at != kNoTime) {
    w.key("lastRotatedAt");
    w.string(format_datetime(key.last_rotated_at));
  }
  if (!key.previous_hash.empty() && key.previous_until > now_us()) {
    w.key("previousSecretValidUntil");
    w.string(format_datetime(key.previous_until));
  }
  if (!secret.empty()) {
    w.key("secret");
    w.string(secret);
  }
  w.end_object();
  return out;
}

// A string member of at most `max` characters, non-empty.
Status string_member(const JsonValue& v, std::string_view name, size_t max, std::string& out) {
  if (!v.IsString()) {
    return Status::BadRequestData(std::string(name) + ": a string is required, not " +
                                  json_type_name(v));
  }
  out.assign(v.GetString(), v.GetStringLength());
  if (out.empty()) return Status::BadRequestData(std::string(name) + ": must not be empty");
  if (out.size() > max) {
    return Status::BadRequestData(std::string(name) + ": longer than " + std::to_string(max) +
                                  " characters");
  }
  return Status::Ok();
}

// The body of create: name and access required; description, tenant and expiresAt optional.
// BadRequestData names the member that is wrong.
Result<ApiKey> parse_key_request(const JsonValue& body, int64_t now) {
  if (!body.IsObject()) {
    return Status::BadRequestData(std::string("the body must be a JSON object, not ") +
                                  json_type_name(body));
  }
  ApiKey key;
  bool has_name = false, has_access = false;
  for (const auto& m : body.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    const JsonValue& v = m.value;
    if (name == "name") {
      TSUNAGU_RETURN_IF_ERROR(string_member(v, name, kMaxNameLength, key.name));
      has_name = true;
    } else if (name == "description") {
      TSUNAGU_RETURN_IF_ERROR(string_member(v, name, kMaxDescriptionLength, key.description));
    } else if (name == "tenant") {
      TSUNAGU_RETURN_IF_ERROR(string_member(v, name, 64, key.tenant));
      if (!valid_tenant(key.tenant)) {
        return Status::BadRequestData("tenant: '" + key.tenant +
                                      "' is not a tenant name (1-64 letters, digits, '_', '-' or "
                                      "'.'); leave it out for the default tenant");
      }
    } else if (name == "access") {
      std::string access;
      TSUNAGU_RETURN_IF_ERROR(string_member(v, name, 16, access));
      auto level = auth::key_access_of(access);
      if (!level)
        return Status::BadRequestData("access: '" + access + "' is not read, write or admin");
      key.access = *level;
      has_access = true;
    } else if (name == "role") {
      TSUNAGU_RETURN_IF_ERROR(string_member(v, name, 64, key.role));
      if (!auth::valid_role_name(key.role)) {
        return Status::BadRequestData("role: '" + key.role +
                                      "' is not the name of a role a tenant defines (for the "
                                      "built-in ones, give access alone)");
      }
    } else if (name == "expiresAt") {
      std::string text;
      TSUNAGU_RETURN_IF_ERROR(string_member(v, name, 64, text));
      auto at = parse_datetime(text);
      if (!at) return Status::BadRequestData("expiresAt: '" + text + "' is not a DateTime");
      if (*at <= now)
        return Status::BadRequestData("expiresAt: '" + text + "' is not in the future");
      key.expires_at = *at;
    } else if (name == "id" || name == "secret" || name == "createdAt" || name == "lastRotatedAt" ||
               name == "type") {
      return Status::BadRequestData(std::string(name) + ": set by the server, not by the request");
    } else {
      return Status::BadRequestData("unknown member '" + std::string(name) +
                                    "' (allowed: name, description, tenant, access, role, "
                                    "expiresAt)");
    }
  }
  if (!has_name) return Status::BadRequestData("name: required");
  if (!has_access) return Status::BadRequestData("access: required (read, write or admin)");
  if (!key.role.empty() && key.access == auth::KeyAccess::kAdmin) {
    return Status::BadRequestData(
        "role: a tenant's administrator has every role; give role with access read or write");
  }
  return key;
}

// Answers a create or a rotation: the key with its new secret, shown this once.
void respond_issued(Prepared& p, int status, const Result<ApiKeyService::Issued>& issued) {
  if (!issued.ok()) return p.fail(issued.status());
  std::vector<Header> headers{{"Cache-Control", "no-store"}};  // RFC 9111 §5.2.2.5: a secret
  if (status == 201) headers.push_back({"Location", std::string(kCollection) + issued->key->id});
  p.respond_json(status, render(*issued->key, issued->secret), std::move(headers));
}

// The key `id` as the caller may see it: a tenant's administrator sees its tenant's keys only,
// and another tenant's is answered as absent (ResourceNotFound), which tells nothing of it.
Result<ApiKeyService::KeyPtr> visible_key(const Env& env, const Prepared& p,
                                          const std::string& id) {
  auto key = env.api_keys->retrieve(id);
  if (key.ok() && outside_administered_tenant(p, (*key)->tenant))
    return Status::NotFound("API key '" + id + "' does not exist");
  return key;
}

}  // namespace

bool outside_administered_tenant(const Prepared& p, std::string_view tenant) {
  return p.call.context.tenant_administrator && tenant != p.tenant;
}

// POST: 201 with Location, the key and its secret. A tenant's administrator makes keys of its
// tenant (the one it gets when the body names none).
void create_api_key(Env& env, Call&& c) {
  static const CallSpec spec{true, {MediaType::kJson}, produces(), {}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    auto key = parse_key_request(*p.body, now_us());
    if (!key.ok()) return p.fail(key.status());
    if (p.call.context.tenant_administrator && key->tenant.empty()) key->tenant = p.tenant;
    if (outside_administered_tenant(p, key->tenant)) {
      return p.fail(Status(ErrorKind::kForbidden,
                           "a tenant's administrator makes API keys of its own tenant only"));
    }
    if (!key->role.empty() &&
        (env.tenants == nullptr || !env.tenants->role(key->tenant, key->role))) {
      return p.fail(Status::BadRequestData("role: the tenant '" + key->tenant +
                                           "' defines no role '" + key->role +
                                           "' (its settings' roles)"));
    }
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.api_keys->create(std::move(*key), [shared](Result<ApiKeyService::Issued> issued) {
      respond_issued(*shared, 201, issued);
    });
  });
}

// GET: every key, in creation order, without secrets.
void list_api_keys(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, produces(), {}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    std::string body = "[";
    for (const auto& key : env.api_keys->list()) {
      if (outside_administered_tenant(p, key->tenant)) continue;
      if (body.size() > 1) body += ',';
      body += render(*key);
    }
    body += ']';
    p.respond_json(200, std::move(body));
  });
}

// GET one: 404 when there is no such key (revoked ones are gone).
void retrieve_api_key(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, produces(), {}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    auto key = visible_key(env, p, p.call.params.at(0));
    if (!key.ok()) return p.fail(key.status());
    p.respond_json(200, render(**key));
  });
}

// POST .../rotate[?graceSeconds=N]: 200 with the key and its new secret. The old secret opens
// nothing any more, or nothing after N seconds (at most a week), while machines switch over.
void rotate_api_key(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, produces(), {"graceSeconds"}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    constexpr int64_t kMaxGraceS = 7 * 24 * 3600;
    int64_t grace_s = 0;
    if (const std::string* g = p.call.query.find("graceSeconds")) {
      auto [end, ec] = std::from_chars(g->data(), g->data() + g->size(), grace_s);
      if (ec != std::errc() || end != g->data() + g->size() || grace_s < 0 ||
          grace_s > kMaxGraceS) {
        return p.fail(Status::BadRequestData("graceSeconds: '" + *g +
                                             "' is not a whole number of seconds from 0 to " +
                                             std::to_string(kMaxGraceS)));
      }
    }
    std::string id = p.call.params.at(0);
    if (auto key = visible_key(env, p, id); !key.ok()) return p.fail(key.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.api_keys->rotate(
        std::move(id), grace_s * 1'000'000,
        [shared](Result<ApiKeyService::Issued> issued) { respond_issued(*shared, 200, issued); });
  });
}

// DELETE: 204; the key's secret opens nothing any more.
void revoke_api_key(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    std::string id = p.call.params.at(0);
    if (auto key = visible_key(env, p, id); !key.ok()) return p.fail(key.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.api_keys->revoke(std::move(id), [shared](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      shared->respond_empty(204);
    });
  });
}

}  // namespace tsunagu::http::api
