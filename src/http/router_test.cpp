// The route table: a handler sees the route it matched, a set's context step runs before its
// handlers (and can answer instead of them, with the set's challenge), 405 lists the methods of a
// path across sets, the NGSI-LD table states each operation once, and the observer of a set hears
// each of its answers once, with who asked, also when the handler answers later on another
// thread.
#include "http/router.hpp"

#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

namespace tsunagu::http {
namespace {

Request request(Method m, std::string target) {
  Request r;
  r.method = m;
  r.target = target;
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  return r;
}

struct Answer {
  int status = 0;
  std::string body;
  std::vector<Header> headers;
};

Answer dispatch(const Router& router, Request req) {
  Answer a;
  router.dispatch(std::move(req), [&](Response&& r) {
    a.status = r.status;
    a.body = r.body;
    a.headers = r.headers;
  });
  return a;
}

TEST(RouterTest, HandlersSeeTheirRouteAndTheContextTheStepSet) {
  Router router;
  std::vector<std::string> seen;
  RouteSet set;
  set.context = [&](Call& c) {
    seen.push_back("step " + c.route->operation);
    c.context.tenant = std::string(c.req.header("x-city"));
    c.context.tenant_given = c.req.has_header("x-city");
    return Status::Ok();
  };
  auto handler = [&](Call&& c) {
    seen.push_back("handler " + c.route->operation + " " + c.context.tenant);
    Response r;
    r.status = c.route->access == Access::kWrite ? 201 : 200;
    c.respond(std::move(r));
  };
  set.routes.emplace_back(RouteInfo{Method::kGet, "/things/{id}", "getThing", Access::kRead, true},
                          handler);
  set.routes.emplace_back(RouteInfo{Method::kPost, "/things", "createThing", Access::kWrite, false},
                          handler);
  router.add(std::move(set));

  Request get = request(Method::kGet, "/things/a");
  get.headers.push_back({"x-city", "kobe"});
  EXPECT_EQ(dispatch(router, std::move(get)).status, 200);
  EXPECT_EQ(dispatch(router, request(Method::kPost, "/things")).status, 201);
  EXPECT_EQ(seen, (std::vector<std::string>{"step getThing", "handler getThing kobe",
                                            "step createThing", "handler createThing "}));
}

TEST(RouterTest, AFailingContextStepAnswersInsteadOfTheHandler) {
  Router router;
  bool handled = false;
  RouteSet set;
  set.context = [](Call& c) {
    if (!c.req.has_header("x-city")) return Status(ErrorKind::kNonexistentTenant, "which city?");
    return Status::Ok();
  };
  set.routes.emplace_back(RouteInfo{Method::kGet, "/private", "private"}, [&](Call&& c) {
    handled = true;
    c.respond(Response{});
  });
  router.add(std::move(set));
  Answer a = dispatch(router, request(Method::kGet, "/private"));
  EXPECT_EQ(a.status, 404);
  EXPECT_NE(a.body.find("which city?"), std::string::npos);
  EXPECT_FALSE(handled);
}

// Each set says which credentials its routes take: a refusal offers those schemes, and 403 (a
// credential that does not allow the request) offers none.
TEST(RouterTest, AStepsRefusalCarriesItsSetsChallenge) {
  Router router;
  RouteSet keys;
  keys.challenge = "ApiKey realm=\"admin\"";
  keys.context = [](Call& c) {
    if (c.req.has_header("x-key")) return Status(ErrorKind::kForbidden, "read only");
    return Status(ErrorKind::kUnauthorized, "no key");
  };
  keys.routes.emplace_back(RouteInfo{Method::kGet, "/admin", "admin"},
                           [](Call&& c) { c.respond(Response{}); });
  RouteSet tokens;
  tokens.context = [](Call&) { return Status(ErrorKind::kUnauthorized, "no token"); };
  tokens.routes.emplace_back(RouteInfo{Method::kGet, "/data", "data"},
                             [](Call&& c) { c.respond(Response{}); });
  router.add(std::move(keys));
  router.add(std::move(tokens));
  auto challenge = [](const Answer& a) {
    for (const auto& h : a.headers) {
      if (h.name == "WWW-Authenticate") return h.value;
    }
    return std::string("(none)");
  };
  Answer admin = dispatch(router, request(Method::kGet, "/admin"));
  EXPECT_EQ(admin.status, 401);
  EXPECT_EQ(challenge(admin), "ApiKey realm=\"admin\"");
  Request with_key = request(Method::kGet, "/admin");
  with_key.headers.push_back({"x-key", "k"});
  Answer forbidden = dispatch(router, std::move(with_key));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(challenge(forbidden), "(none)");
  EXPECT_NE(forbidden.body.find("\"title\":\"Forbidden\""), std::string::npos) << forbidden.body;
  Answer data = dispatch(router, request(Method::kGet, "/data"));
  EXPECT_EQ(data.status, 401);
  EXPECT_EQ(challenge(data), "Bearer realm=\"ngsi-ld\"");
}

TEST(RouterTest, RoutesWithoutAStepAndMethodsAcrossSets) {
  Router router;
  RouteSet a;
  a.routes.emplace_back(RouteInfo{Method::kGet, "/shared", "readShared"}, [](Call&& c) {
    EXPECT_FALSE(c.context.tenant_given);
    c.respond(Response{});
  });
  RouteSet b;
  b.routes.emplace_back(RouteInfo{Method::kDelete, "/shared", "deleteShared", Access::kWrite},
                        [](Call&& c) { c.respond(Response{}); });
  router.add(std::move(a));
  router.add(std::move(b));
  EXPECT_EQ(dispatch(router, request(Method::kGet, "/shared")).status, 200);
  Answer put = dispatch(router, request(Method::kPut, "/shared"));
  EXPECT_EQ(put.status, 405);
  std::string allow;
  for (const auto& h : put.headers) {
    if (h.name == "Allow" || h.name == "allow") allow = h.value;
  }
  EXPECT_EQ(allow, "GET, HEAD, DELETE");
  std::vector<std::string> ops;
  for (const RouteInfo* r : router.routes())
    ops.push_back(r->operation);
  EXPECT_EQ(ops, (std::vector<std::string>{"readShared", "deleteShared"}));
}

TEST(RouterTest, TheObserverHearsEachAnswerOfObservedSetsWithWhoAsked) {
  Router router;
  std::vector<Answered> heard;
  std::mutex mu;
  router.set_observer([&](Answered&& a) {
    std::lock_guard lock(mu);
    heard.push_back(std::move(a));
  });
  RouteSet observed;
  observed.observed = true;
  observed.context = [](Call& c) {
    c.context.tenant = std::string(c.req.header("x-city"));
    c.context.subject = std::string(c.req.header("x-who"));
    if (c.context.subject.empty()) return Status(ErrorKind::kUnauthorized, "who?");
    return Status::Ok();
  };
  std::vector<std::thread> later;
  observed.routes.emplace_back(RouteInfo{Method::kPost, "/things", "createThing", Access::kWrite},
                               [&later](Call&& c) {
                                 // Answered from another thread, as writes are once committed.
                                 later.emplace_back([c = std::move(c)]() mutable {
                                   Response r;
                                   r.status = 201;
                                   c.respond(std::move(r));
                                 });
                               });
  RouteSet quiet;
  quiet.routes.emplace_back(RouteInfo{Method::kGet, "/health", "health"},
                            [](Call&& c) { c.respond(Response{}); });
  router.add(std::move(observed));
  router.add(std::move(quiet));

  Request create = request(Method::kPost, "/things?x=1");
  create.headers = {{"x-city", "kobe"}, {"x-who", "urn:key:1"}};
  create.remote = "10.0.0.7:5555";
  router.dispatch(std::move(create), [](Response&&) {});
  for (auto& t : later)
    t.join();
  Request refused = request(Method::kPost, "/things");
  refused.headers = {{"x-city", "kobe"}};
  EXPECT_EQ(dispatch(router, std::move(refused)).status, 401);
  // A malformed query is answered before the step: nobody is known to have asked.
  Request malformed = request(Method::kPost, "/things?a=%zz");
  malformed.headers = {{"x-who", "urn:key:1"}};
  EXPECT_EQ(dispatch(router, std::move(malformed)).status, 400);
  EXPECT_EQ(dispatch(router, request(Method::kGet, "/health")).status, 200);
  EXPECT_EQ(dispatch(router, request(Method::kGet, "/nowhere")).status, 404);

  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[0].route->operation, "createThing");
  EXPECT_EQ(heard[0].method, Method::kPost);
  EXPECT_EQ(heard[0].target, "/things?x=1");
  EXPECT_EQ(heard[0].remote, "10.0.0.7:5555");
  EXPECT_EQ(heard[0].tenant, "kobe");
  EXPECT_EQ(heard[0].subject, "urn:key:1");
  EXPECT_EQ(heard[0].status, 201);
  EXPECT_EQ(heard[1].status, 401);
  EXPECT_EQ(heard[1].tenant, "kobe");
  EXPECT_EQ(heard[1].subject, "");
  EXPECT_EQ(heard[2].status, 400);
  EXPECT_EQ(heard[2].subject, "");
  EXPECT_EQ(heard[2].target, "/things?a=%zz");
}

}  // namespace
}  // namespace tsunagu::http
