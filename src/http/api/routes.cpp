// The route table: every path the server answers, with what later layers need to know of each
// route (docs/decisions.md, "One route table"), and the context steps that decide who calls
// before any handler runs (docs/security.md).
#include <strings.h>

#include <algorithm>
#include <iterator>

#include "common/json_writer.hpp"
#include "common/metrics.hpp"
#include "common/time.hpp"
#include "http/api/api.hpp"

namespace tsunagu::http::api {
namespace {

using Handler = void (*)(Env&, Call&&);

constexpr auto kRead = Access::kRead;
constexpr auto kWrite = Access::kWrite;
constexpr bool kForwardable = true;  // a distributed operation (§4.3.6)
constexpr bool kLocal = false;

struct Row {
  Method method;
  const char* path;       // below /ngsi-ld/v1
  const char* operation;  // the OpenAPI operationId (the 1.8.1 document where it has one)
  Access access;
  bool forwardable;
  Handler handler;
};

// clang-format off
const Row kNgsiLd[] = {
  {Method::kPost,   "/entities",                          "createEntity",           kWrite, kForwardable, create_entity},
  {Method::kGet,    "/entities",                          "queryEntity",            kRead,  kForwardable, query_entity},
  {Method::kDelete, "/entities",                          "purgeEntities",          kWrite, kLocal,       purge_entities},
  {Method::kGet,    "/entities/{entityId}",               "retrieveEntity",         kRead,  kForwardable, retrieve_entity},
  {Method::kDelete, "/entities/{entityId}",               "deleteEntity",           kWrite, kForwardable, delete_entity},
  {Method::kPut,    "/entities/{entityId}",               "replaceEntity",          kWrite, kForwardable, replace_entity},
  {Method::kPatch,  "/entities/{entityId}",               "mergeEntity",            kWrite, kForwardable, merge_entity},
  {Method::kPost,   "/entities/{entityId}/attrs",         "appendAttrs",            kWrite, kForwardable, append_attrs},
  {Method::kPatch,  "/entities/{entityId}/attrs",         "updateEntity",           kWrite, kForwardable, update_entity},
  {Method::kPatch,  "/entities/{entityId}/attrs/{attrId}", "updateAttrs",           kWrite, kForwardable, update_attrs},
  {Method::kPut,    "/entities/{entityId}/attrs/{attrId}", "replaceAttrs",          kWrite, kForwardable, replace_attrs},
  {Method::kDelete, "/entities/{entityId}/attrs/{attrId}", "deleteAttrs",           kWrite, kForwardable, delete_attrs},
  {Method::kPost,   "/entityOperations/create",           "createBatch",            kWrite, kForwardable, create_batch},
  {Method::kPost,   "/entityOperations/upsert",           "upsertBatch",            kWrite, kForwardable, upsert_batch},
  {Method::kPost,   "/entityOperations/update",           "updateBatch",            kWrite, kForwardable, update_batch},
  {Method::kPost,   "/entityOperations/delete",           "deleteBatch",            kWrite, kForwardable, delete_batch},
  {Method::kPost,   "/entityOperations/merge",            "mergeBatch",             kWrite, kForwardable, merge_batch},
  {Method::kPost,   "/entityOperations/query",            "queryBatch",             kRead,  kForwardable, query_batch},
  {Method::kGet,    "/types",                             "retrieveEntityTypes",    kRead,  kForwardable, retrieve_entity_types},
  {Method::kGet,    "/types/{type}",                      "retrieveEntityTypeInfo", kRead,  kForwardable, retrieve_entity_type_info},
  {Method::kGet,    "/attributes",                        "retrieveAttrTypes",      kRead,  kForwardable, retrieve_attr_types},
  {Method::kGet,    "/attributes/{attrId}",               "retrieveAttrTypeInfo",   kRead,  kForwardable, retrieve_attr_type_info},
  {Method::kPost,   "/subscriptions",                     "createSubscription",     kWrite, kLocal,       create_subscription},
  {Method::kGet,    "/subscriptions",                     "querySubscription",      kRead,  kLocal,       query_subscription},
  {Method::kGet,    "/subscriptions/{subscriptionId}",    "retrieveSubscription",   kRead,  kLocal,       retrieve_subscription},
  {Method::kPatch,  "/subscriptions/{subscriptionId}",    "updateSubscription",     kWrite, kLocal,       update_subscription},
  {Method::kDelete, "/subscriptions/{subscriptionId}",    "deleteSubscription",     kWrite, kLocal,       delete_subscription},
  {Method::kPost,   "/csourceSubscriptions",              "createCSRSubscription",  kWrite, kLocal,       create_csource_subscription},
  {Method::kGet,    "/csourceSubscriptions",              "queryCSRSubscription",   kRead,  kLocal,       query_csource_subscription},
  {Method::kGet,    "/csourceSubscriptions/{subscriptionId}", "retrieveCSRSubscription", kRead, kLocal,   retrieve_csource_subscription},
  {Method::kPatch,  "/csourceSubscriptions/{subscriptionId}", "updateCSRSubscription", kWrite, kLocal,    update_csource_subscription},
  {Method::kDelete, "/csourceSubscriptions/{subscriptionId}", "deleteCSRSubscription", kWrite, kLocal,    delete_csource_subscription},
  {Method::kPost,   "/csourceRegistrations",              "createCSR",              kWrite, kLocal,       create_registration},
  {Method::kGet,    "/csourceRegistrations",              "queryCSR",               kRead,  kLocal,       query_registration},
  {Method::kGet,    "/csourceRegistrations/{registrationId}", "retrieveCSR",        kRead,  kLocal,       retrieve_registration},
  {Method::kPatch,  "/csourceRegistrations/{registrationId}", "updateCSR",          kWrite, kLocal,       update_registration},
  {Method::kDelete, "/csourceRegistrations/{registrationId}", "deleteCSR",          kWrite, kLocal,       delete_registration},
  {Method::kGet,    "/info/sourceIdentity",               "retrieveCSIdentityInfo", kRead,  kLocal,       retrieve_source_identity},
  {Method::kPost,   "/temporal/entities",                 "upsertTemporal",         kWrite, kForwardable, create_temporal},
  {Method::kGet,    "/temporal/entities",                 "queryTemporal",          kRead,  kForwardable, query_temporal},
  {Method::kGet,    "/temporal/entities/{entityId}",      "retrieveTemporal",       kRead,  kForwardable, retrieve_temporal},
  {Method::kDelete, "/temporal/entities/{entityId}",      "deleteTemporal",         kWrite, kForwardable, delete_temporal},
  {Method::kPost,   "/temporal/entities/{entityId}/attrs", "appendAttrsTemporal",   kWrite, kForwardable, add_temporal_attrs},
  {Method::kDelete, "/temporal/entities/{entityId}/attrs/{attrId}", "deleteAttrsTemporal", kWrite, kForwardable, delete_temporal_attr},
  {Method::kPatch,  "/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}", "updateAttrsTemporal", kWrite, kForwardable, update_temporal_instance},
  {Method::kDelete, "/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}", "deleteAttrInstanceTemporal", kWrite, kForwardable, delete_temporal_instance},
  {Method::kPost,   "/temporal/entityOperations/query",   "temporalQueryBatch",     kRead,  kForwardable, query_temporal_batch},
  {Method::kPost,   "/jsonldContexts",                    "createContext",          kWrite, kLocal,       create_context},
  {Method::kGet,    "/jsonldContexts",                    "listContexts",           kRead,  kLocal,       list_contexts},
  {Method::kGet,    "/jsonldContexts/{contextId}",        "retrieveContext",        kRead,  kLocal,       retrieve_context},
  {Method::kDelete, "/jsonldContexts/{contextId}",        "deleteContext",          kWrite, kLocal,       delete_context},
};
// The administration API (docs/security.md, "API keys", "Audit log"): the server's, outside any
// tenant.
const Row kAdmin[] = {
  {Method::kPost,   "/apiKeys",                           "createApiKey",           kWrite, kLocal,       create_api_key},
  {Method::kGet,    "/apiKeys",                           "listApiKeys",            kRead,  kLocal,       list_api_keys},
  {Method::kGet,    "/apiKeys/{keyId}",                   "retrieveApiKey",         kRead,  kLocal,       retrieve_api_key},
  {Method::kPost,   "/apiKeys/{keyId}/rotate",            "rotateApiKey",           kWrite, kLocal,       rotate_api_key},
  {Method::kDelete, "/apiKeys/{keyId}",                   "revokeApiKey",           kWrite, kLocal,       revoke_api_key},
  {Method::kPost,   "/tenants",                           "createTenant",           kWrite, kLocal,       create_tenant},
  {Method::kGet,    "/tenants",                           "listTenants",            kRead,  kLocal,       list_tenants},
  {Method::kGet,    "/tenants/{tenant}",                  "retrieveTenant",         kRead,  kLocal,       retrieve_tenant},
  {Method::kPatch,  "/tenants/{tenant}",                  "updateTenant",           kWrite, kLocal,       update_tenant},
  {Method::kDelete, "/tenants/{tenant}",                  "deleteTenant",           kWrite, kLocal,       delete_tenant},
  {Method::kGet,    "/auditLog",                          "queryAuditLog",          kRead,  kLocal,       query_audit_log},
};
// clang-format on

// The routes that keep a caller with a role (docs/security.md, "Roles") to the entities its rules
// cover: the entity service applies them (engine/entity_service.hpp), or the route reads nothing
// of the tenant's entities. A caller with a role is refused every other route.
// clang-format off
constexpr std::string_view kRoleAware[] = {
    "createEntity", "queryEntity", "purgeEntities", "retrieveEntity", "deleteEntity",
    "replaceEntity", "mergeEntity", "appendAttrs", "updateEntity", "updateAttrs", "replaceAttrs",
    "deleteAttrs", "createBatch", "upsertBatch", "updateBatch", "deleteBatch", "mergeBatch",
    "queryBatch", "retrieveEntityTypes", "retrieveEntityTypeInfo", "retrieveAttrTypes",
    "retrieveAttrTypeInfo", "createSubscription", "querySubscription", "retrieveSubscription",
    "updateSubscription", "deleteSubscription", "upsertTemporal", "queryTemporal",
    "retrieveTemporal", "deleteTemporal", "appendAttrsTemporal", "deleteAttrsTemporal",
    "updateAttrsTemporal", "deleteAttrInstanceTemporal", "temporalQueryBatch",
    "retrieveCSIdentityInfo", "listContexts", "retrieveContext"};
// clang-format on

bool role_aware(std::string_view operation) {
  return std::find(std::begin(kRoleAware), std::end(kRoleAware), operation) != std::end(kRoleAware);
}

// The writes that change what every tenant shares: the hosted @contexts are one store for all
// tenants (docs/jsonld.md), so a key that opens one tenant must not change them.
constexpr std::string_view kSharedWrites[] = {"createContext", "deleteContext"};

// What a credential that opens one tenant (`granted`, at `access`) allows of the request: its
// tenant, a route that changes nothing other tenants share and, for read access, a route that
// reads. `what` names the credential in the 403, which says what it lacks and nothing of the
// tenant asked for, not even whether it exists.
Status check_grant(const Call& c, std::string_view what, std::string_view granted,
                   auth::KeyAccess access) {
  // A malformed NGSILD-Tenant names no tenant the grant could be checked against: answered
  // here, so that no handler has to be trusted to refuse it.
  if (!c.context.problem.ok()) return c.context.problem;
  if (granted != c.context.tenant) {
    return Status(ErrorKind::kForbidden,
                  std::string(what) + " does not give access to the tenant this request names");
  }
  if (access == auth::KeyAccess::kRead && c.route->access == Access::kWrite) {
    return Status(ErrorKind::kForbidden,
                  std::string(what) + " may only read, and " + c.route->operation + " writes");
  }
  if (std::find(std::begin(kSharedWrites), std::end(kSharedWrites), c.route->operation) !=
      std::end(kSharedWrites)) {
    return Status(ErrorKind::kForbidden, std::string(what) + " opens one tenant, and " +
                                             c.route->operation +
                                             " changes what every tenant shares");
  }
  return Status::Ok();
}

// A credential that holds the tenant's role `role` (checked by check_grant for the tenant and
// the access level): the request is kept to what the role's rules cover, on the routes that
// can do that (kRoleAware), and a write needs a rule that writes.
Status with_role(const Env& env, std::string_view what, std::string_view role, Call& c) {
  c.context.role = std::string(role);  // for the audit log, refused or not
  auto restriction = env.tenants == nullptr ? nullptr : env.tenants->role(c.context.tenant, role);
  if (!restriction) {
    return Status(ErrorKind::kForbidden, std::string(what) + " holds the role '" +
                                             std::string(role) +
                                             "', which the tenant does not define");
  }
  if (!role_aware(c.route->operation)) {
    return Status(ErrorKind::kForbidden,
                  "the role '" + std::string(role) + "' may not use " + c.route->operation +
                      ": a role opens entities, queries, batch operations, discovery, "
                      "subscriptions and the temporal API only");
  }
  // Subscriptions are the caller's own, not the tenant's entities: a read-only role subscribes
  // to what it reads.
  const bool entity_write =
      c.route->access == Access::kWrite &&
      std::string_view(c.route->operation).find("Subscription") == std::string_view::npos;
  if (entity_write && !restriction->writes()) {
    return Status(ErrorKind::kForbidden, "the role '" + std::string(role) +
                                             "' may only read, and " + c.route->operation +
                                             " writes");
  }
  c.context.restriction = std::move(restriction);
  return Status::Ok();
}

// An API key: it opens its one tenant at its access level, within its role when it has one.
Status with_api_key(const Env& env, std::string_view secret, Call& c) {
  auto key = env.api_keys->authenticate(secret, now_us());
  if (!key.ok()) return key.status();
  c.context.subject = (*key)->id;
  TSUNAGU_RETURN_IF_ERROR(check_grant(c, "the API key", (*key)->tenant, (*key)->access));
  return (*key)->role.empty() ? Status::Ok() : with_role(env, "the API key", (*key)->role, c);
}

// The strings of a token's tenant claim, in the token's own memory (views into them stay valid
// while the claims live).
const std::vector<std::string>& grants_of(const auth::Claims& claims) {
  static const std::vector<std::string> kNone;
  return claims.grants ? *claims.grants : kNone;
}

// The access level a grant's suffix names: the level itself or its role's name.
std::optional<auth::KeyAccess> level_named(std::string_view name) {
  if (name == "reader") return auth::KeyAccess::kRead;
  if (name == "editor") return auth::KeyAccess::kWrite;
  if (name == "administrator") return auth::KeyAccess::kAdmin;
  return auth::key_access_of(name);
}

// A bearer token's tenant claim (--auth-tenant-claim): strings "TENANT" (read and write),
// "TENANT:LEVEL" with LEVEL read, write or admin (or their roles: reader, editor,
// administrator), "TENANT:ROLE" with a role the tenant defines ("" or ":read" for the default
// tenant), and "*" or "*:LEVEL" for every tenant, the shared @contexts included. The request's
// tenant is checked against the highest level the token grants it; a token that grants it only
// roles holds the first of them it names.
Status with_token_grants(const Env& env, const auth::Claims& claims, Call& c) {
  if (!c.context.problem.ok()) return c.context.problem;
  std::optional<auth::KeyAccess> level;
  bool everywhere = false;
  std::string_view role;
  for (const std::string& g : grants_of(claims)) {
    std::string_view tenant = g;
    auth::KeyAccess access = auth::KeyAccess::kWrite;
    if (const size_t colon = tenant.rfind(':'); colon != std::string_view::npos) {
      const std::string_view suffix = tenant.substr(colon + 1);
      tenant = tenant.substr(0, colon);
      auto named = level_named(suffix);
      if (!named) {
        // A role of the request's tenant; anything else is not a grant this server knows.
        if (tenant == c.context.tenant && role.empty() && auth::valid_role_name(suffix))
          role = suffix;
        continue;
      }
      access = *named;
    }
    const bool all = tenant == "*";
    if (!all && tenant != c.context.tenant) continue;
    if (!level || access > *level || (access == *level && all)) {
      level = access;
      everywhere = all;
    }
  }
  if (!level && !role.empty()) {
    TSUNAGU_RETURN_IF_ERROR(
        check_grant(c, "the bearer token", c.context.tenant, auth::KeyAccess::kWrite));
    return with_role(env, "the bearer token", role, c);
  }
  if (!level) {
    return Status(ErrorKind::kForbidden,
                  "the bearer token does not give access to the tenant this request names");
  }
  if (everywhere && *level != auth::KeyAccess::kRead) return Status::Ok();
  return check_grant(c, "the bearer token", c.context.tenant, *level);
}

// The headers a browser needs to read answers to other origins (Fetch standard, "CORS
// protocol"), and to send what the NGSI-LD API reads.
constexpr std::string_view kCorsExposed =
    "Location, Link, NGSILD-Results-Count, NGSILD-Warning, NGSILD-Tenant, Retry-After, "
    "WWW-Authenticate";
constexpr std::string_view kCorsAllowed =
    "Authorization, X-API-Key, Content-Type, Accept, Link, NGSILD-Tenant, NGSILD-Path";

bool origin_allowed_everywhere(const Env& env, std::string_view origin) {
  return std::any_of(env.cors_origins.begin(), env.cors_origins.end(),
                     [origin](const std::string& o) { return o == "*" || o == origin; });
}

// A CORS preflight (which carries neither credentials nor the tenant's name): allowed for an
// origin that the server or any tenant allows; the answer to the request itself then says
// whether its tenant does.
Response ngsild_preflight(const Env& env, const Request& req, std::string_view allow) {
  Response r;
  r.status = 204;
  const std::string_view origin = req.header("origin");
  r.add_header("Vary", "Origin");
  if (!origin_allowed_everywhere(env, origin) &&
      (env.tenants == nullptr || !env.tenants->any_allows_origin(origin)))
    return r;  // no Access-Control-Allow-Origin: the browser does not send the request
  r.add_header("Access-Control-Allow-Origin", std::string(origin));
  r.add_header("Access-Control-Allow-Methods", std::string(allow));
  r.add_header("Access-Control-Allow-Headers", std::string(kCorsAllowed));
  r.add_header("Access-Control-Max-Age", "600");
  return r;
}

// The CORS headers of an answer to a browser at the request's Origin, when the server or the
// request's tenant allows that origin.
void add_cors_headers(const Env& env, Call& c) {
  const std::string_view origin = c.req.header("origin");
  if (origin.empty() ||
      (env.cors_origins.empty() && (env.tenants == nullptr || env.tenants->count() == 0)))
    return;
  auto& headers = c.context.response_headers;
  headers.push_back({"Vary", "Origin"});
  if (!origin_allowed_everywhere(env, origin) &&
      (env.tenants == nullptr || !env.tenants->allows_origin(c.context.tenant, origin))) {
    return;
  }
  headers.push_back({"Access-Control-Allow-Origin", std::string(origin)});
  headers.push_back({"Access-Control-Expose-Headers", std::string(kCorsExposed)});
}

// What the tenant's settings ask of every request, once the caller is known (an unknown caller
// learns nothing of them): that the tenant exists when only registered ones do, and its rate.
Status tenant_admission(const Env& env, Call& c) {
  // A malformed tenant is named by prepare().
  if (!c.context.problem.ok() || env.tenants == nullptr) return Status::Ok();
  const std::string& tenant = c.context.tenant;
  if (env.registered_tenants_only && !tenant.empty() && !env.tenants->has(tenant)) {
    return Status(ErrorKind::kNonexistentTenant,
                  "tenant '" + tenant +
                      "' does not exist: this server takes only the tenants its administrator "
                      "made (--tenants registered)");
  }
  if (int64_t wait_s = env.tenants->admit(tenant, now_us()); wait_s > 0) {
    c.context.response_headers.push_back({"Retry-After", std::to_string(wait_s)});
    static auto& limited = metrics::registry().counter(
        "tsunagu_requests_limited_total",
        "NGSI-LD requests refused with 429 because their tenant was over its request rate",
        {"tenant"});
    limited.with({tenant}).inc();
    return Status(ErrorKind::kTooManyRequests, "the tenant is over its request rate; retry after " +
                                                   std::to_string(wait_s) + " s");
  }
  return Status::Ok();
}

// Who calls, when the server takes credentials. A request without any may read a tenant whose
// settings open it to the public (open data), as nobody.
Status authenticate(const Env& env, Call& c) {
  if ((env.api_keys || env.auth) && c.route->access == Access::kRead && env.tenants &&
      c.context.problem.ok() && c.req.header("authorization").empty() &&
      c.req.header_count("x-api-key") == 0 && env.tenants->public_read(c.context.tenant)) {
    return Status::Ok();
  }
  if (env.api_keys) {
    auto secret = presented_api_key(c.req);
    if (!secret.ok()) return secret.status();
    if (!secret->empty()) return with_api_key(env, *secret, c);
    if (!env.auth) {
      return Status(ErrorKind::kUnauthorized,
                    "no API key was given: send Authorization: ApiKey <secret> or X-API-Key");
    }
    if (c.req.header("authorization").empty()) {
      return Status(ErrorKind::kUnauthorized,
                    "no credentials were given: send a bearer token or an API key");
    }
  }
  if (env.auth) {
    auto claims = env.auth->authenticate(c.req.header("authorization"), now_us() / 1'000'000);
    if (!claims.ok()) return claims.status();
    c.context.subject = std::move(claims->subject);
    if (env.token_grants) return with_token_grants(env, *claims, c);
  }
  return Status::Ok();
}

// The NGSI-LD context step: the tenant a request names (§6.3.14) and who calls. When the server
// takes credentials (bearer tokens, API keys or both) a request without a valid one is answered
// 401 before anything else is read. A malformed NGSILD-Tenant is kept for prepare(), which
// names an unknown parameter first. Then the tenant's settings admit the request or not.
Status ngsild_context(const Env& env, Call& c) {
  Tenant t = tenant_of(c.req);
  c.context.tenant = std::move(t.name);
  c.context.tenant_given = t.given;
  c.context.problem = std::move(t.problem);
  add_cors_headers(env, c);
  TSUNAGU_RETURN_IF_ERROR(authenticate(env, c));
  return tenant_admission(env, c);
}

// What a tenant's administrator may do on the admin API: its tenant's API keys, its settings (to
// read, and to change but its quotas) and its audit log (each handler keeps it to its tenant).
// The rest is the server's.
constexpr std::string_view kTenantAdministration[] = {
    "createApiKey", "listApiKeys",    "retrieveApiKey", "rotateApiKey", "revokeApiKey",
    "listTenants",  "retrieveTenant", "updateTenant",   "queryAuditLog"};

// Who a bearer token makes administrator of on the admin API, by its tenant claim: "*:admin"
// (or "*:administrator") the server, "TENANT:admin" that tenant. A token that administers
// several tenants names the one a request is for with NGSILD-Tenant.
Status with_admin_token(const Env& env, Call& c) {
  auto claims = env.auth->authenticate(c.req.header("authorization"), now_us() / 1'000'000);
  if (!claims.ok()) return claims.status();
  c.context.subject = std::move(claims->subject);
  std::vector<std::string_view> tenants;
  for (const std::string& g : grants_of(*claims)) {
    const size_t colon = g.rfind(':');
    if (colon == std::string::npos ||
        level_named(std::string_view(g).substr(colon + 1)) != auth::KeyAccess::kAdmin) {
      continue;
    }
    const std::string_view tenant = std::string_view(g).substr(0, colon);
    if (tenant == "*") return Status::Ok();  // the server's administrator
    tenants.push_back(tenant);
  }
  if (tenants.empty()) {
    return Status(ErrorKind::kForbidden,
                  "the bearer token makes its holder administrator of no tenant");
  }
  std::string_view tenant = tenants.front();
  if (tenants.size() > 1) {
    const std::string_view named = c.req.header("ngsild-tenant");
    if (named.empty() || std::find(tenants.begin(), tenants.end(), named) == tenants.end()) {
      return Status(ErrorKind::kForbidden,
                    "the bearer token administers several tenants: name one of them with "
                    "NGSILD-Tenant");
    }
    tenant = named;
  }
  c.context.tenant = std::string(tenant);
  c.context.tenant_administrator = true;
  return Status::Ok();
}

// What a tenant's administrator may not do on the admin API: everything but kTenantAdministration.
Status tenant_administration(const Call& c) {
  if (std::find(std::begin(kTenantAdministration), std::end(kTenantAdministration),
                c.route->operation) == std::end(kTenantAdministration)) {
    return Status(ErrorKind::kForbidden, "a tenant's administrator may not " + c.route->operation +
                                             ": that is the server administrator's");
  }
  return Status::Ok();
}

// The admin API's context step: the server administrator's secret opens all of it; an API key
// with access admin opens its tenant's part; with --auth-tenant-claim, so does a bearer token
// whose claim grants admin (with_admin_token). Without --admin-key-file there is no admin API,
// and every request is refused with the reason.
Status admin_context(const Env& env, Call& c) {
  if (env.admin_secret_hash.empty() || !env.api_keys) {
    return Status(ErrorKind::kForbidden,
                  "the admin API is off: start the server with --admin-key-file FILE");
  }
  auto secret = presented_api_key(c.req);
  if (!secret.ok()) return secret.status();
  if (secret->empty()) {
    if (env.auth && env.token_grants && !c.req.header("authorization").empty()) {
      TSUNAGU_RETURN_IF_ERROR(with_admin_token(env, c));
      return c.context.tenant_administrator ? tenant_administration(c) : Status::Ok();
    }
    return Status(ErrorKind::kUnauthorized,
                  "the admin API needs the administrator's key: send Authorization: ApiKey "
                  "<secret from the --admin-key-file>");
  }
  if (auth::same_hash(auth::secret_hash(*secret), env.admin_secret_hash)) {
    c.context.subject = "administrator";
    return Status::Ok();
  }
  auto key = env.api_keys->authenticate(*secret, now_us());
  if (!key.ok() || (*key)->access != auth::KeyAccess::kAdmin)
    return Status(ErrorKind::kUnauthorized, "the key given is not an administrator's");
  c.context.subject = (*key)->id;
  c.context.tenant = (*key)->tenant;
  c.context.tenant_administrator = true;
  return tenant_administration(c);
}

void health(Env& env, Call&& c) {
  Response r;
  r.content_type = "application/json";
  JsonWriter w(r.body);
  w.begin_object();
  w.key("status");
  w.string("ok");
  if (env.health) env.health(w);
  w.end_object();
  c.respond(std::move(r));
}

void metrics_text(Env&, Call&& c) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = metrics::registry().render();
  c.respond(std::move(r));
}

RouteHandler bind(Env& env, Handler h) {
  return [&env, h](Call&& c) { h(env, std::move(c)); };
}

// The schemes a 401 of the NGSI-LD API offers: those the server takes.
std::string ngsild_challenge(const Env& env) {
  std::string challenge;
  if (env.auth || !env.api_keys) challenge = std::string(kBearerChallenge);
  if (env.api_keys) {
    if (!challenge.empty()) challenge += ", ";
    challenge += "ApiKey realm=\"ngsi-ld\"";
  }
  return challenge;
}

}  // namespace

std::span<const std::string_view> role_aware_operations() {
  return kRoleAware;
}

Result<std::string_view> presented_api_key(const Request& req) {
  std::string_view secret;
  // "ApiKey" in any case, then blanks, then the secret (RFC 9110 §11.4: a scheme is
  // case-insensitive). Another scheme (Bearer) is not an API key.
  constexpr std::string_view kScheme = "apikey";
  std::string_view authorization = req.header("authorization");
  if (authorization.size() > kScheme.size() &&
      strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) == 0 &&
      authorization[kScheme.size()] == ' ') {
    secret = trim_ows(authorization.substr(kScheme.size()));
    if (secret.empty()) return Status(ErrorKind::kUnauthorized, "the API key is empty");
  }
  const size_t headers = req.header_count("x-api-key");
  // Two credentials could name two keys: which one is meant is ambiguous, so neither is taken.
  if (headers > 1 || (headers == 1 && !secret.empty())) {
    return Status(ErrorKind::kUnauthorized,
                  "the request gives more than one API key; give one, in one header");
  }
  if (headers == 1) {
    secret = trim_ows(req.header("x-api-key"));
    if (secret.empty()) return Status(ErrorKind::kUnauthorized, "the API key is empty");
  }
  return secret;
}

void add_routes(Router& router, Env& env) {
  // Each table's rows under its prefix, with the set's context step and challenge.
  auto table = [&env, &router](const auto& rows, std::string_view prefix, RouteSet set) {
    for (const Row& r : rows) {
      set.routes.emplace_back(
          RouteInfo{r.method, std::string(prefix) + r.path, r.operation, r.access, r.forwardable},
          bind(env, r.handler));
    }
    router.add(std::move(set));
  };
  // Both APIs are observed: the audit log records their writes and refusals.
  table(kNgsiLd, "/ngsi-ld/v1",
        {[&env](Call& c) { return ngsild_context(env, c); },
         {},
         ngsild_challenge(env),
         [&env](const Request& req, std::string_view allow) {
           return ngsild_preflight(env, req, allow);
         },
         true});
  const std::string admin_challenge = env.auth && env.token_grants
                                          ? "Bearer realm=\"admin\", ApiKey realm=\"admin\""
                                          : "ApiKey realm=\"admin\"";
  table(kAdmin, "/admin/v1",
        {[&env](Call& c) { return admin_context(env, c); }, {}, admin_challenge, {}, true});
  if (env.audit) router.set_observer(audit_observer(*env.audit));
  RouteSet operations;  // for the operators' tools, outside any tenant
  operations.routes.emplace_back(RouteInfo{Method::kGet, "/health", "health", kRead, kLocal},
                                 bind(env, health));
  operations.routes.emplace_back(RouteInfo{Method::kGet, "/metrics", "metrics", kRead, kLocal},
                                 bind(env, metrics_text));
  router.add(std::move(operations));
}

}  // namespace tsunagu::http::api
