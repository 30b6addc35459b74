// Fuzz target: requests as they arrive on a connection. The bytes go through what a session
// does with them (http/request_parser.hpp: Boost.Beast's parser under the server's limits, the
// Host and Transfer-Encoding checks), one request after another as on a keep-alive connection;
// each request is routed by the Router (path segments percent-decoded and checked for UTF-8,
// the query string parsed) and its handler reads the headers every NGSI-LD call reads
// (http/api/headers.hpp: NGSILD-Tenant, Accept, Content-Type, Link).
#include <string>
#include <vector>

#include "common/uri.hpp"
#include "common/utf8.hpp"
#include "fuzz.hpp"
#include "http/api/headers.hpp"
#include "http/problem.hpp"
#include "http/request_parser.hpp"
#include "http/router.hpp"

using namespace tsunagu;
using namespace tsunagu::http;
using fuzz::require;

namespace {

// What a route handler does before its own work (the NGSI-LD checks of api/prepare.cpp that
// need no engine), with the invariants of what the router hands it.
void handle(Call&& call) {
  for (const std::string& p : call.params) {
    require(valid_utf8(p), "a path parameter is UTF-8", p);
    std::string decoded;
    require(percent_decode(percent_encode_segment(p), decoded) && decoded == p,
            "a path parameter survives percent-encoding", p);
  }
  for (const auto& [name, value] : call.query.items) {
    require(!name.empty() && valid_utf8(name) && valid_utf8(value),
            "a query parameter is a named UTF-8 pair", name);
  }
  const Request& req = call.req;
  api::Tenant tenant = api::tenant_of(req);
  fuzz::require_explained(tenant.problem, "tenant_of");
  require(!tenant.problem.ok() || !tenant.given || !tenant.name.empty(),
          "an accepted tenant has a name");
  auto accept =
      api::negotiate(req.header("accept"),
                     {api::MediaType::kJson, api::MediaType::kJsonLd, api::MediaType::kGeoJson});
  fuzz::require_explained(accept, "negotiate");
  (void)api::parse_media_type(req.header("content-type"));
  if (req.has_header("link")) {
    auto url = api::link_context(req.header("link"));
    fuzz::require_explained(url, "link_context");
  }
  (void)is_absolute_uri(req.target);
  call.respond(Response{});
}

void add_routes(Router& r) {
  const std::string e = "/ngsi-ld/v1/entities";
  RouteSet set;
  auto add = [&](Method m, std::string pattern) {
    set.routes.emplace_back(RouteInfo{m, std::move(pattern), "fuzz", Access::kRead, false}, handle);
  };
  for (Method m : {Method::kGet, Method::kPost, Method::kDelete})
    add(m, e);
  for (Method m : {Method::kGet, Method::kPut, Method::kPatch, Method::kDelete})
    add(m, e + "/{entityId}");
  add(Method::kPost, e + "/{entityId}/attrs");
  add(Method::kPatch, e + "/{entityId}/attrs/{attrId}");
  add(Method::kPost, "/ngsi-ld/v1/entityOperations/query");
  add(Method::kGet, "/ngsi-ld/v1/types/{type}");
  add(Method::kGet, "/ngsi-ld/v1/jsonldContexts/{contextId}");
  r.add(std::move(set));
}

// The router is built once; it keeps per-route metrics, so it cannot be copied.
const Router& router() {
  static const Router* router = [] {
    auto* r = new Router;
    add_routes(*r);
    return r;
  }();
  return *router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ServerOptions options;
  options.max_header_bytes = 4096;  // small enough for the fuzzer to reach
  options.max_body_bytes = 4096;
  std::string_view bytes = fuzz::text_of(data, size);
  // A keep-alive connection reads requests until one fails or the bytes end mid-request.
  for (int i = 0; i < 8 && !bytes.empty(); ++i) {
    ReadOutcome in = read_request(bytes, options);
    require(!(in.request && in.answer), "a read gives a request or an answer, not both");
    require(in.consumed <= bytes.size(), "a read consumes what it was given");
    if (in.answer) {
      require(!in.answer->ok(), "an answer to a refused request is an error");
      fuzz::require_explained(*in.answer, "read_request");
      const Response r = problem_response(*in.answer);
      require(r.status >= 400 && r.status <= 599, "a refusal is a 4xx or 5xx", r.body);
      return 0;
    }
    if (!in.request) return 0;
    require(in.consumed > 0, "a request takes bytes");
    bool answered = false;
    router().dispatch(std::move(*in.request), [&](Response&& r) {
      require(r.status >= 200 && r.status <= 599, "a response has a final status");
      answered = true;
    });
    require(answered, "every routed request is answered");
    bytes.remove_prefix(in.consumed);
  }
  return 0;
}
