// The route table as the router holds it: each path and method once, each operation named once,
// reads and writes told apart by what they do (a POST query reads; what an API key that may
// only read is let through to), and the operations kept local where forwarding them to a
// context source would make no sense.
#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>

#include <map>
#include <set>

#include "engine/entity_service.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"
#include "http/api/api.hpp"
#include "store/memory/memory_store.hpp"

namespace tsunagu::http::api {
namespace {

class RoutesTest : public ::testing::Test {
 protected:
  RoutesTest() { add_routes(router_, env_); }

  std::map<std::string, const RouteInfo*> by_operation() const {
    std::map<std::string, const RouteInfo*> out;
    for (const RouteInfo* r : router_.routes())
      out[r->operation] = r;
    return out;
  }

  // Nothing here runs a handler: the engine is built, never started.
  store::MemoryStore store_;
  engine::TenantRegistry tenants_;
  engine::Writer writer_{store_, tenants_, engine::Writer::Options{}};
  engine::EntityService entities_{tenants_, writer_};
  ngsild::jsonld::ContextCache contexts_{nullptr, {}};
  boost::asio::thread_pool blocking_{1};
  ngsild::RenderCache renders_{0};
  Env env_{entities_, contexts_, blocking_, renders_, {}, {}};
  Router router_;
};

TEST_F(RoutesTest, EachRouteAndOperationOnce) {
  std::set<std::pair<std::string, std::string>> seen;
  std::set<std::string> operations;
  for (const RouteInfo* r : router_.routes()) {
    EXPECT_TRUE(seen.insert({std::string(method_name(r->method)), r->pattern}).second)
        << method_name(r->method) << " " << r->pattern;
    EXPECT_TRUE(operations.insert(r->operation).second) << r->operation;
    EXPECT_FALSE(r->operation.empty()) << r->pattern;
  }
  // 51 NGSI-LD operations, 11 of the admin API (API keys, tenants, audit log), /health and
  // /metrics
  EXPECT_EQ(operations.size(), 64u);
}

TEST_F(RoutesTest, RolesReachOnlyTheRoutesThatKeepThem) {
  const auto routes = by_operation();
  std::set<std::string_view> aware;
  for (std::string_view op : role_aware_operations()) {
    EXPECT_TRUE(aware.insert(op).second) << op;
    auto it = routes.find(std::string(op));
    ASSERT_NE(it, routes.end()) << op << " is not an operation of the route table";
    EXPECT_EQ(it->second->pattern.rfind("/ngsi-ld/v1/", 0), 0u) << op;
  }
  // What rules cannot reach: registrations speak for other brokers' entities, the hosted
  // @contexts are every tenant's.
  for (std::string_view op : {"createCSR", "updateCSR", "deleteCSR", "queryCSR",
                              "createCSRSubscription", "createContext", "deleteContext"}) {
    EXPECT_EQ(aware.count(op), 0u) << op;
  }
}

TEST_F(RoutesTest, ReadsAndWrites) {
  for (const RouteInfo* r : router_.routes()) {
    if (r->method == Method::kGet) {
      EXPECT_EQ(r->access, Access::kRead) << r->operation;
    }
    if (r->method == Method::kDelete || r->method == Method::kPatch || r->method == Method::kPut) {
      EXPECT_EQ(r->access, Access::kWrite) << r->operation;
    }
  }
  // An API key that may only read is let through to the routes marked read, so a POST among
  // them must be a query that changes nothing.
  for (const RouteInfo* r : router_.routes()) {
    if (r->method == Method::kPost && r->access == Access::kRead) {
      EXPECT_TRUE(r->operation == "queryBatch" || r->operation == "temporalQueryBatch")
          << r->operation;
    }
  }
  auto ops = by_operation();
  ASSERT_TRUE(ops.count("queryBatch"));
  EXPECT_EQ(ops["queryBatch"]->method, Method::kPost);
  EXPECT_EQ(ops["queryBatch"]->access, Access::kRead);
  EXPECT_EQ(ops["createBatch"]->access, Access::kWrite);
  EXPECT_EQ(ops["retrieveEntity"]->pattern, "/ngsi-ld/v1/entities/{entityId}");
  EXPECT_EQ(ops["updateAttrs"]->pattern, "/ngsi-ld/v1/entities/{entityId}/attrs/{attrId}");
}

TEST_F(RoutesTest, ForwardableAreTheEntityAndTemporalOperations) {
  for (const RouteInfo* r : router_.routes()) {
    // Temporal evolution is distributed too (§4.3.6.2): registrations may offer it.
    bool entity_data = r->pattern.rfind("/ngsi-ld/v1/entit", 0) == 0 ||
                       r->pattern.rfind("/ngsi-ld/v1/temporal/", 0) == 0 ||
                       r->pattern.rfind("/ngsi-ld/v1/types", 0) == 0 ||
                       r->pattern.rfind("/ngsi-ld/v1/attributes", 0) == 0;
    bool purge = r->operation == "purgeEntities";
    EXPECT_EQ(r->forwardable, entity_data && !purge) << r->operation;
  }
}

}  // namespace
}  // namespace tsunagu::http::api
