// The route table: every path the server answers, in one place.
#include "common/json_writer.hpp"
#include "common/metrics.hpp"
#include "http/api/api.hpp"

namespace tsunagu::http::api {

void add_routes(Router& router, Env& env) {
  add_entity_routes(router, env);
  add_query_routes(router, env);
  add_operations_routes(router, env);
  add_discovery_routes(router, env);
  add_context_routes(router, env);
  router.add(Method::kGet, "/health", [&env](Call&& c) {
    Response r;
    r.content_type = "application/json";
    JsonWriter w(r.body);
    w.begin_object();
    w.key("status");
    w.string("ok");
    if (env.health) env.health(w);
    w.end_object();
    c.respond(std::move(r));
  });
  router.add(Method::kGet, "/metrics", [](Call&& c) {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics::registry().render();
    c.respond(std::move(r));
  });
}

}  // namespace tsunagu::http::api
