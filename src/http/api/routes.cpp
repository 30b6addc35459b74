// The route table: every path the server answers, with what later layers need to know of each
// route (docs/decisions.md, "One route table").
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
// clang-format on

// The NGSI-LD context step: who calls, when the server checks bearer tokens (a request without
// a valid one is answered 401 before anything else is read), and the tenant it names (§6.3.14).
// A malformed NGSILD-Tenant is kept for prepare(), which names an unknown parameter first.
Status ngsild_context(const Env& env, Call& c) {
  if (env.auth) {
    auto claims = env.auth->authenticate(c.req.header("authorization"), now_us() / 1'000'000);
    if (!claims.ok()) return claims.status();
    c.context.subject = std::move(claims->subject);
  }
  Tenant t = tenant_of(c.req);
  c.context.tenant = std::move(t.name);
  c.context.tenant_given = t.given;
  c.context.problem = std::move(t.problem);
  return Status::Ok();
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

}  // namespace

void add_routes(Router& router, Env& env) {
  RouteSet ngsild{[&env](Call& c) { return ngsild_context(env, c); }, {}};
  for (const Row& r : kNgsiLd) {
    ngsild.routes.emplace_back(RouteInfo{r.method, std::string("/ngsi-ld/v1") + r.path, r.operation,
                                         r.access, r.forwardable},
                               bind(env, r.handler));
  }
  router.add(std::move(ngsild));
  RouteSet operations;  // for the operators' tools, outside any tenant
  operations.routes.emplace_back(RouteInfo{Method::kGet, "/health", "health", kRead, kLocal},
                                 bind(env, health));
  operations.routes.emplace_back(RouteInfo{Method::kGet, "/metrics", "metrics", kRead, kLocal},
                                 bind(env, metrics_text));
  router.add(std::move(operations));
}

}  // namespace tsunagu::http::api
