// The Query Entities request read from URI parameters and from a Query object, apart from HTTP:
// what each parameter sets, the defaults, and the requests refused (too wide, bad paging,
// contradicting members). Subscriptions and temporal queries read the same objects.
#include "ngsild/query/query_request.hpp"

#include <gtest/gtest.h>

#include "ngsild/model/test_atoms.hpp"

namespace tsunagu::ngsild::query {
namespace {

using test_atoms::D;

class QueryRequestTest : public ::testing::Test {
 protected:
  QueryRequestTest() : contexts_(nullptr, {}) {
    for (auto t : {"Building", "name", "speed", "location"})
      D(t);  // names a write has stored: reads only look names up
  }
  Result<EntityQuery> params(std::vector<std::pair<std::string, std::string>> items,
                             bool narrowed = false) {
    return query_from_params(QueryParams{std::move(items)}, ctx(), limits_, narrowed);
  }
  Result<EntityQuery> object(std::string_view json,
                             std::vector<std::pair<std::string, std::string>> url = {}) {
    EXPECT_TRUE(parse_json(json, doc_).ok()) << json;
    options_ = RenderOptions{};
    return query_from_object(doc_, QueryParams{std::move(url)}, ctx(), limits_, options_);
  }
  const jsonld::Context& ctx() { return *contexts_.core(); }

  jsonld::ContextCache contexts_;
  PageLimits limits_{20, 100};
  JsonDoc doc_;
  RenderOptions options_;
};

TEST_F(QueryRequestTest, ParametersFillTheQuery) {
  auto q = params({{"type", "Building"},
                   {"q", "speed>10"},
                   {"attrs", "name,speed"},
                   {"id", "urn:a:1,urn:a:2"},
                   {"limit", "5"},
                   {"offset", "10"},
                   {"count", "true"}});
  ASSERT_TRUE(q.ok()) << q.status().detail();
  ASSERT_TRUE(q->types.has_value());
  EXPECT_TRUE(q->q.has_value());
  EXPECT_EQ(q->attrs, (std::vector<Atom>{D("name"), D("speed")}));
  EXPECT_EQ(q->ids, (std::vector<std::string>{"urn:a:1", "urn:a:2"}));
  EXPECT_EQ(q->limit, 5u);
  EXPECT_EQ(q->offset, 10u);
  EXPECT_TRUE(q->count);
}

TEST_F(QueryRequestTest, PageSizeDefaultsAndBounds) {
  auto q = params({{"type", "Building"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->limit, 20u);
  EXPECT_FALSE(q->count);

  auto above = params({{"type", "Building"}, {"limit", "101"}});
  EXPECT_EQ(above.status().kind(), ErrorKind::kTooManyResults);
  auto zero = params({{"type", "Building"}, {"limit", "0"}});
  EXPECT_EQ(zero.status().kind(), ErrorKind::kBadRequestData);
  auto count_only = params({{"type", "Building"}, {"limit", "0"}, {"count", "true"}});
  ASSERT_TRUE(count_only.ok());
  EXPECT_EQ(count_only->limit, 0u);
  for (auto bad : {"-1", "1e3", "", "12345678901234"}) {
    EXPECT_EQ(params({{"type", "Building"}, {"offset", bad}}).status().kind(),
              ErrorKind::kBadRequestData)
        << bad;
  }
}

TEST_F(QueryRequestTest, AQueryMustBeNarrowedUnlessLocal) {
  auto wide = params({{"id", "urn:a:1"}});
  EXPECT_EQ(wide.status().kind(), ErrorKind::kBadRequestData);
  EXPECT_NE(wide.status().detail().find("too wide"), std::string::npos);
  EXPECT_TRUE(params({{"id", "urn:a:1"}, {"local", "true"}}).ok());
  EXPECT_TRUE(params({{"id", "urn:a:1"}}, true).ok());
  EXPECT_TRUE(params({{"type", "*"}}).ok());  // type=* implies local
  EXPECT_FALSE(params({{"type", "*"}, {"local", "false"}}).ok());
  EXPECT_FALSE(params({{"type", "Building"}, {"local", "yes"}}).ok());
}

TEST_F(QueryRequestTest, GeoQueryAndDistanceOrder) {
  auto q = params({{"georel", "near;maxDistance==100"},
                   {"geometry", "Point"},
                   {"coordinates", "[8.68,49.4]"},
                   {"orderBy", "location;dist-asc"},
                   {"orderFrom", "[8.6,49.4]"}});
  ASSERT_TRUE(q.ok()) << q.status().detail();
  ASSERT_TRUE(q->geo.has_value());
  EXPECT_EQ(q->geo_property, test_atoms::N("location"));  // a core term
  EXPECT_TRUE(q->order_from.has_value());
  ASSERT_EQ(q->order_by.size(), 1u);

  EXPECT_FALSE(params({{"type", "Building"}, {"orderBy", "location;dist-asc"}}).ok());
  EXPECT_FALSE(params({{"type", "Building"}, {"orderFrom", "[1,2]"}}).ok());
  EXPECT_FALSE(params({{"georel", "near;maxDistance==100"}, {"geometry", "Point"}}).ok());
  EXPECT_FALSE(params({{"type", "Building"}, {"idPattern", "urn:(a"}}).ok());
}

TEST_F(QueryRequestTest, QueryObjectSelectorsAndProjection) {
  auto q = object(R"({"type":"Query",
                      "entities":[{"type":"Building","id":"urn:a:1","idPattern":"urn:.*"}],
                      "attrs":["name"],
                      "q":"speed<3"})",
                  {{"limit", "7"}});
  ASSERT_TRUE(q.ok()) << q.status().detail();
  ASSERT_EQ(q->selectors.size(), 1u);
  EXPECT_EQ(q->selectors[0].id, std::optional<std::string>("urn:a:1"));
  EXPECT_EQ(q->selectors[0].id_pattern, nullptr);  // id wins over idPattern (§5.2.33)
  EXPECT_TRUE(q->q.has_value());
  EXPECT_EQ(q->limit, 7u);
  // attrs in a Query object is a projection as well as a filter.
  EXPECT_TRUE(options_.projection.pick);
  EXPECT_EQ(options_.projection.pick_attrs, std::vector<Atom>{D("name")});
}

TEST_F(QueryRequestTest, QueryObjectRepresentationMembers) {
  auto q = object(R"({"type":"Query","entities":[{"type":"Building"}],
                      "pick":["name","speed"],"join":"inline","joinLevel":2,"lang":"fr"})");
  ASSERT_TRUE(q.ok()) << q.status().detail();
  EXPECT_EQ(options_.projection.pick_attrs, (std::vector<Atom>{D("name"), D("speed")}));
  EXPECT_EQ(options_.join, Join::kInline);
  EXPECT_EQ(options_.join_level, 2);
  EXPECT_EQ(options_.lang, "fr");
}

TEST_F(QueryRequestTest, QueryObjectRefusals) {
  for (auto bad : {R"([])", R"({"entities":[{"type":"Building"}]})",
                   R"({"type":"Subscription","entities":[{"type":"Building"}]})",
                   R"({"type":"Query","entities":[]})", R"({"type":"Query","entities":[{}]})",
                   R"({"type":"Query","entities":[{"id":"urn:a:1"}]})",
                   R"({"type":"Query","entities":[{"type":"Building","colour":"red"}]})",
                   R"({"type":"Query","entities":[{"type":"Building"}],"limit":3})",
                   R"({"type":"Query","entities":[{"type":"Building"}],"q":5})",
                   R"({"type":"Query","entities":[{"type":"Building"}],"joinLevel":"x"})",
                   R"({"type":"Query","attrs":["a b"]})", R"({"type":"Query"})"}) {
    auto q = object(bad);
    EXPECT_EQ(q.status().kind(), ErrorKind::kBadRequestData) << bad;
  }
  EXPECT_TRUE(object(R"({"type":"Query"})", {{"local", "true"}}).ok());
}

}  // namespace
}  // namespace tsunagu::ngsild::query
