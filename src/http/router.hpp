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

namespace tsunagu::http {

// One request on its way through a handler: the request, its decoded path parameters and
// query, and the Reply. Handlers take it by value and may move it into a callback.
struct Call {
  Request req;
  std::vector<std::string> params;  // percent-decoded {placeholders}, in pattern order
  QueryParams query;
  Reply reply;

  void respond(Response&& r) { reply(std::move(r)); }
  void fail(const Status& st);
};

using RouteHandler = std::function<void(Call&&)>;

class Router {
 public:
  Router();
  ~Router();
  class RouteStats;

  // `pattern` segments in braces are parameters: "/ngsi-ld/v1/entities/{entityId}".
  void add(Method method, std::string pattern, RouteHandler handler);
  // Routes one request (the http::Handler of the Server).
  void dispatch(Request&& req, Reply reply) const;

 private:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteHandler handler;
    std::unique_ptr<RouteStats> stats;
  };
  RouteStats* stats_for(const std::string& route, Method method) const;
  bool match(const Route& r, const std::vector<std::string_view>& segs,
             std::vector<std::string>& params, Status& error) const;
  std::vector<Route> routes_;
  mutable std::mutex stats_mu_;
  mutable std::vector<std::pair<std::pair<std::string, Method>, std::unique_ptr<RouteStats>>>
      extra_stats_;
};

// Parses "a=1&b=2" (percent-decoding names and values). InvalidRequest on a malformed escape,
// an empty name, or a parameter given twice.
Result<QueryParams> parse_query(std::string_view query);

}  // namespace tsunagu::http
