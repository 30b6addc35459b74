// The NGSI-LD API handlers and the steps they share. Each handler reads as one pipeline:
// prepare (media types, tenant, JSON, @context), parse, execute on the engine, render.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.hpp"
#include "auth/api_keys.hpp"
#include "auth/authenticator.hpp"
#include "auth/tenants.hpp"
#include "common/json.hpp"
#include "common/json_writer.hpp"
#include "engine/csource_subscriptions.hpp"
#include "engine/entity_service.hpp"
#include "engine/registrations.hpp"
#include "engine/subscriptions.hpp"
#include "engine/temporal.hpp"
#include "http/api/headers.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/format/render_cache.hpp"
#include "ngsild/format/response_body.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/query/query_request.hpp"

// Asio's headers stay in the few handlers that post to the pool (and in app/main.cpp).
namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace tsunagu::http::api {

using Limits = ngsild::query::PageLimits;

// What handlers need; owned by the app.
struct Env {
  engine::EntityService& entities;
  ngsild::jsonld::ContextCache& contexts;
  boost::asio::thread_pool& blocking;  // for work that may block (remote @context loads)
  ngsild::RenderCache& renders;        // entities as last rendered (retrieve and query)
  Limits limits;
  std::function<void(JsonWriter&)> health;  // adds members to GET /health
  // Subscriptions (§5.8); null: the subscription routes answer OperationNotSupported.
  engine::SubscriptionService* subscriptions = nullptr;
  // Context Source Registration subscriptions (§5.11.2-§5.11.6); null: their routes answer
  // OperationNotSupported.
  engine::CsourceSubscriptionService* csource_subscriptions = nullptr;
  // Context source registrations (§5.9, §5.10); null: those routes answer
  // OperationNotSupported.
  engine::RegistrationService* registrations = nullptr;
  // Distributed operations (§4.3.6, docs/federation.md): sends one request to a context source
  // (http or https); null: the server answers from its own data only.
  std::function<bool(HttpClient::Request, HttpClient::Done)> forward;
  std::string source_identity;    // this broker, in the Via headers it adds and reads
  std::string source_id;          // this broker's URI (/info/sourceIdentity), kept in the store
  int64_t started_at = 0;         // µs since the epoch
  int forward_timeout_ms = 5000;  // per forwarded request
  // History and the temporal API (§5.6.11-§5.7.4); null: those routes answer
  // OperationNotSupported.
  engine::TemporalService* temporal = nullptr;
  size_t temporal_max_instances = 10000;  // per temporal entity in one answer (206 beyond)
  // Bearer tokens (docs/security.md); null: no token is taken.
  const auth::Authenticator* auth = nullptr;
  // A token opens only the tenants its tenant claim grants (--auth-tenant-claim); false: every
  // tenant.
  bool token_grants = false;
  // API keys for machines (docs/security.md, "API keys"); null: no key is taken. With neither
  // `auth` nor this the NGSI-LD API is open to whoever reaches the port; with either, every
  // NGSI-LD request needs a credential that one of them accepts.
  auth::ApiKeyService* api_keys = nullptr;
  // auth::secret_hash() of the administrator's secret (--admin-key-file), which alone opens the
  // admin API; empty: the admin API answers 403.
  std::string admin_secret_hash;
  // The tenants' settings (docs/security.md, "Tenants"): request rates, entity quotas, CORS
  // origins. Null (unit tests): no tenant has settings, and the admin API's tenant routes must
  // not be reached.
  auth::TenantService* tenants = nullptr;
  // Only tenants with settings exist for the NGSI-LD API (--tenants registered): a request
  // naming another gets NonexistentTenant, even a create. The default tenant always exists.
  bool registered_tenants_only = false;
  // Origins a browser may call every tenant from (--cors-origins); "*": any origin.
  std::vector<std::string> cors_origins;
  // The audit log (docs/security.md, "Audit log"); null: nothing is recorded and
  // /admin/v1/auditLog answers OperationNotSupported.
  audit::AuditLog* audit = nullptr;
};

// Registers every route of the API (routes.cpp: the NGSI-LD API, the admin API, /health,
// /metrics).
void add_routes(Router& router, Env& env);

// The operations that keep a caller with a role to what its rules cover (docs/security.md,
// "Roles"); a caller with a role is refused every other.
std::span<const std::string_view> role_aware_operations();

// What a route accepts and produces.
struct CallSpec {
  bool body = false;                     // a request body is required
  std::vector<MediaType> content_types;  // accepted Content-Types (when body)
  std::vector<MediaType> produces;       // response media types; empty = no body
  std::vector<std::string_view> params;  // accepted query parameters
  // The request carries NGSI-LD data, whose @context (Link header or body member, §6.3.5) is
  // resolved into Prepared::ctx. False where the body is something else (a hosted @context):
  // then ctx stays null and responses carry no Link header.
  bool ngsild_context = true;
};

// A request that passed the shared checks.
struct Prepared {
  Call call;
  std::string tenant;  // "" = default tenant (from Call::context)
  bool tenant_given = false;
  ngsild::query::RestrictionPtr restriction;  // the caller's role (from Call::context)
  MediaType content = MediaType::kNone;
  MediaType accept = MediaType::kJson;
  bool prefer_body_json = false;   // Prefer: body=json (GeoJSON without @context)
  std::shared_ptr<JsonDoc> body;   // parsed body (when CallSpec::body)
  ngsild::jsonld::ContextPtr ctx;  // the request's @context (core when none; see CallSpec)

  // Completes with an error.
  void fail(const Status& st);
  // Completes with a JSON body in the negotiated media type (adds Link / NGSILD-Tenant).
  void respond_json(int status, std::string body, std::vector<Header> extra = {});
  // Completes without a body.
  void respond_empty(int status, std::vector<Header> extra = {});
};

// Runs the shared checks (415/406/411, unknown parameters, the tenant the context step read,
// JSON syntax, Link header vs body @context rules of §6.3.5) and resolves the @context, off the
// event loop when a remote document may be needed; then calls `next` (on an event-loop or a
// blocking-pool thread). On failure it replies itself and never calls `next`.
void prepare(Env& env, Call&& call, const CallSpec& spec, std::function<void(Prepared&&)> next);

// Representation options shared by retrieve and query (ngsild/format/representation.hpp), with
// what content negotiation decided: whether the body carries its @context, and NotAcceptable
// for GeoJSON where `allow_geojson` is false.
Result<ngsild::RenderOptions> render_options(const Prepared& p, bool allow_geojson);

// JSON(-LD) or GeoJSON, with the geometryProperty parameter's GeoProperty.
ngsild::BodyShape body_shape(const Prepared& p);

// `options` values for write operations, validated against `allowed`.
Result<std::vector<std::string>> options_list(const QueryParams& q,
                                              std::initializer_list<std::string_view> allowed);

// The request's path (without a trailing '/') and its parameters but limit and offset, each
// followed by '&': what a paging link adds the window to.
std::string page_base(const Request& req);

// The headers of one page of a collection that is not entities (subscriptions, registrations):
// NGSILD-Results-Count when `page` asked for count, and Link headers to the previous and next
// windows (the request with another limit and offset), in the response's media type (§6.3.17,
// §5.5.9).
std::vector<Header> page_headers(const Prepared& p, const ngsild::query::EntityQuery& page,
                                 size_t total);

// The handlers, one per operation; routes.cpp maps each to its method, path and metadata.
// entities.cpp
void create_entity(Env& env, Call&& c);
void retrieve_entity(Env& env, Call&& c);
void delete_entity(Env& env, Call&& c);
void replace_entity(Env& env, Call&& c);
void merge_entity(Env& env, Call&& c);
void append_attrs(Env& env, Call&& c);
void update_entity(Env& env, Call&& c);
void update_attrs(Env& env, Call&& c);
void replace_attrs(Env& env, Call&& c);
void delete_attrs(Env& env, Call&& c);
// query.cpp
void query_entity(Env& env, Call&& c);
void query_batch(Env& env, Call&& c);
void purge_entities(Env& env, Call&& c);
// operations.cpp
void create_batch(Env& env, Call&& c);
void upsert_batch(Env& env, Call&& c);
void update_batch(Env& env, Call&& c);
void delete_batch(Env& env, Call&& c);
void merge_batch(Env& env, Call&& c);
// discovery.cpp
void retrieve_entity_types(Env& env, Call&& c);
void retrieve_entity_type_info(Env& env, Call&& c);
void retrieve_attr_types(Env& env, Call&& c);
void retrieve_attr_type_info(Env& env, Call&& c);
// contexts.cpp
void create_context(Env& env, Call&& c);
void list_contexts(Env& env, Call&& c);
void retrieve_context(Env& env, Call&& c);
void delete_context(Env& env, Call&& c);
// subscriptions.cpp (entity and registration subscriptions)
void create_subscription(Env& env, Call&& c);
void query_subscription(Env& env, Call&& c);
void retrieve_subscription(Env& env, Call&& c);
void update_subscription(Env& env, Call&& c);
void delete_subscription(Env& env, Call&& c);
void create_csource_subscription(Env& env, Call&& c);
void query_csource_subscription(Env& env, Call&& c);
void retrieve_csource_subscription(Env& env, Call&& c);
void update_csource_subscription(Env& env, Call&& c);
void delete_csource_subscription(Env& env, Call&& c);
// registrations.cpp
void create_registration(Env& env, Call&& c);
void query_registration(Env& env, Call&& c);
void retrieve_registration(Env& env, Call&& c);
void update_registration(Env& env, Call&& c);
void delete_registration(Env& env, Call&& c);

// federation.cpp
void retrieve_source_identity(Env& env, Call&& c);

// admin.cpp (the administration API, not NGSI-LD)
void create_api_key(Env& env, Call&& c);
void list_api_keys(Env& env, Call&& c);
void retrieve_api_key(Env& env, Call&& c);
void rotate_api_key(Env& env, Call&& c);
void revoke_api_key(Env& env, Call&& c);
// Whether a caller of the admin API is a tenant's administrator and `tenant` is not its tenant:
// what it may not see (answered as if absent) or change (403).
bool outside_administered_tenant(const Prepared& p, std::string_view tenant);
void create_tenant(Env& env, Call&& c);
void list_tenants(Env& env, Call&& c);
void retrieve_tenant(Env& env, Call&& c);
void update_tenant(Env& env, Call&& c);
void delete_tenant(Env& env, Call&& c);

// audit.cpp: the audit log in the request path (docs/security.md, "Audit log").
// What a query of the audit log asks: the filter, the window and the order.
struct AuditQuery {
  audit::Filter filter;
  size_t offset = 0;
  size_t limit = 100;
  audit::Order order = audit::Order::kNewestFirst;
  bool count = false;
};
// Reads tenant, subject, operation, since, until (RFC 3339), status (401 or 4xx), limit (0 to
// 1000, default 100), offset, order (newest, the default, or oldest) and count. BadRequestData
// names the parameter at fault.
Result<AuditQuery> parse_audit_query(const QueryParams& q);
// Answers `query` from the log: a JSON array of records, with NGSILD-Results-Count when asked.
// A route for a tenant's own administrator sets query.filter.tenant before it calls this.
void answer_audit_query(Env& env, Prepared&& p, AuditQuery query);
// GET /admin/v1/auditLog: every tenant for the server administrator, its own for a tenant's.
void query_audit_log(Env& env, Call&& c);
// The router's observer that records every answer of a route that writes, and every 401, 403
// and 429, in `log`.
AnswerObserver audit_observer(audit::AuditLog& log);

// The secret a request presents as an API key: `Authorization: ApiKey <secret>` or
// `X-API-Key: <secret>`. Empty when it presents none; Unauthorized when it presents more than
// one, or an empty one.
Result<std::string_view> presented_api_key(const Request& req);

// temporal.cpp
void create_temporal(Env& env, Call&& c);
void query_temporal(Env& env, Call&& c);
void query_temporal_batch(Env& env, Call&& c);
void retrieve_temporal(Env& env, Call&& c);
void delete_temporal(Env& env, Call&& c);
void add_temporal_attrs(Env& env, Call&& c);
void delete_temporal_attr(Env& env, Call&& c);
void update_temporal_instance(Env& env, Call&& c);
void delete_temporal_instance(Env& env, Call&& c);

}  // namespace tsunagu::http::api
