// The one route table: method + path pattern -> handler. Unknown paths answer 404, known paths
// with another method 405 (with Allow). Every response is counted and timed per route and
// status for /metrics.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/params.hpp"
#include "common/status.hpp"
#include "http/message.hpp"
#include "http/problem.hpp"

namespace tsunagu::ngsild::query {
struct Restriction;
}  // namespace tsunagu::ngsild::query

namespace tsunagu::http {

enum class Access : unsigned char { kRead, kWrite };

// What a route is, beyond how it is reached: what the layers acting on every request need to
// know. Access control decides by `operation` and `access`, the served OpenAPI document names
// `operation`, distributed operations forward only `forwardable` routes to context sources.
struct RouteInfo {
  Method method = Method::kGet;
  std::string pattern;    // "/ngsi-ld/v1/entities/{entityId}"
  std::string operation;  // the OpenAPI operationId: "retrieveEntity"
  Access access = Access::kRead;
  bool forwardable = false;
};

// For whom a request is, established before its handler runs: the tenant (from NGSILD-Tenant
// for the NGSI-LD routes) and the caller's identity.
struct RequestContext {
  std::string tenant;  // "" = the default tenant
  bool tenant_given = false;
  // On the admin API: the caller administers `tenant` only (an API key with access admin), not
  // the server.
  bool tenant_administrator = false;
  // Who calls: the bearer token's `sub`, the API key's id, or "administrator" on the admin API;
  // "" when the server takes no credentials.
  std::string subject;
  // The caller's role, when it sees only some of the tenant's entities (docs/security.md,
  // "Roles"), and its name; null and "": the caller sees all of them.
  std::shared_ptr<const ngsild::query::Restriction> restriction;
  std::string role;
  // A header that names the tenant badly: the handler reports it where its checks put it, so
  // that an unknown parameter is still named first.
  Status problem;
  // Headers every answer to the request carries, whoever gives it (the context step's refusal
  // or the handler's answer): CORS, Retry-After.
  std::vector<Header> response_headers;
};

// One request on its way through a handler: the request, its decoded path parameters and
// query, the Reply, the route it matched and its context. Handlers take it by value and may
// move it into a callback.
struct Call {
  Request req;
  std::vector<std::string> params;  // percent-decoded {placeholders}, in pattern order
  QueryParams query;
  Reply reply;
  const RouteInfo* route = nullptr;
  RequestContext context;

  void respond(Response&& r) { reply(std::move(r)); }
  void fail(const Status& st);
};

using RouteHandler = std::function<void(Call&&)>;

// One answered request of an observed route set, as the observer hears of it (the audit log):
// the route, who asked (the context step's result; empty when the request was refused before
// it ran), what was asked, from where, and the status of the answer.
struct Answered {
  const RouteInfo* route = nullptr;
  Method method = Method::kGet;  // as received: HEAD on a GET route
  std::string target;            // Request::target
  std::string remote;            // Request::remote
  std::string tenant;
  std::string subject;
  int status = 0;
  std::string role;  // RequestContext::role
};
// Called once per answer, on the thread that answers, before the response is handed to the
// connection: what it keeps is kept before the client can see the answer.
using AnswerObserver = std::function<void(Answered&&)>;

// Fills Call::context from the request before the handler runs; a Status that is not OK answers
// the request at once (a caller who is not who they claim).
using ContextStep = std::function<Status(Call&)>;

// Answers a CORS preflight (an OPTIONS request with Origin and Access-Control-Request-Method,
// which carries no credentials) for a path whose routes allow the methods `allow`.
using Preflight = std::function<Response(const Request&, std::string_view allow)>;

// Routes registered together, sharing one context step: the NGSI-LD API, the administration
// API; later Open311, the CKAN API, the dashboard's files.
struct RouteSet {
  ContextStep context;  // none: Call::context stays empty
  std::vector<std::pair<RouteInfo, RouteHandler>> routes;
  // The WWW-Authenticate of the context step's 401 answers: the credentials these routes take.
  std::string challenge = std::string(kBearerChallenge);
  Preflight preflight;  // none: OPTIONS answers 405 as any other method a path lacks
  // Every answer of these routes is told to the router's observer (set_observer).
  bool observed = false;
};

class Router {
 public:
  Router();
  ~Router();
  class RouteStats;

  // Pattern segments in braces are parameters: "/ngsi-ld/v1/entities/{entityId}". Sets are
  // added before the server starts.
  void add(RouteSet set);
  // Hears of each answer of the observed route sets. Set before the server starts.
  void set_observer(AnswerObserver observer) { observer_ = std::move(observer); }
  // Every route, in the order added (the served OpenAPI document, the route listing).
  std::vector<const RouteInfo*> routes() const;
  // Routes one request (the http::Handler of the Server).
  void dispatch(Request&& req, Reply reply) const;

 private:
  struct Route {
    std::unique_ptr<RouteInfo> info;  // Call::route points here
    std::vector<std::string> segments;
    RouteHandler handler;
    std::shared_ptr<const ContextStep> context;    // shared by the routes of a set; may be null
    std::shared_ptr<const std::string> challenge;  // the set's
    std::shared_ptr<const Preflight> preflight;    // the set's; may be null
    bool observed = false;                         // the set's
    std::unique_ptr<RouteStats> stats;
  };
  RouteStats* stats_for(const std::string& route, Method method) const;
  bool match(const Route& r, const std::vector<std::string_view>& segs,
             std::vector<std::string>& params, Status& error) const;
  std::vector<Route> routes_;
  AnswerObserver observer_;
  mutable std::mutex stats_mu_;
  mutable std::vector<std::pair<std::pair<std::string, Method>, std::unique_ptr<RouteStats>>>
      extra_stats_;
};

// Parses "a=1&b=2" (percent-decoding names and values). InvalidRequest on a malformed escape,
// an empty name, or a parameter given twice.
Result<QueryParams> parse_query(std::string_view query);

}  // namespace tsunagu::http
