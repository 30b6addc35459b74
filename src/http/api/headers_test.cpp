// The request headers every NGSI-LD call reads (headers.hpp).
#include "http/api/headers.hpp"

#include <gtest/gtest.h>

namespace tsunagu::http::api {
namespace {

Request with_headers(std::vector<Header> headers) {
  Request r;
  r.headers = std::move(headers);
  return r;
}

TEST(HeadersTest, TenantIsOptionalAndTrimmed) {
  Tenant none = tenant_of(with_headers({}));
  EXPECT_TRUE(none.problem.ok());
  EXPECT_FALSE(none.given);
  Tenant t = tenant_of(with_headers({{"ngsild-tenant", " city.A-1_b\t"}}));
  EXPECT_TRUE(t.problem.ok());
  EXPECT_TRUE(t.given);
  EXPECT_EQ(t.name, "city.A-1_b");
}

TEST(HeadersTest, TwoTenantsAreRefusedAndNeitherIsTaken) {
  Tenant t = tenant_of(with_headers({{"ngsild-tenant", "a"}, {"ngsild-tenant", "b"}}));
  EXPECT_EQ(t.problem.kind(), ErrorKind::kBadRequestData);
  EXPECT_FALSE(t.given);
}

TEST(HeadersTest, AnInvalidTenantIsRefusedButKept) {
  for (const std::string& bad :
       std::vector<std::string>{"", "city A", "../etc", std::string(65, 'a'), "\xc3\xa9"}) {
    Tenant t = tenant_of(with_headers({{"ngsild-tenant", bad}}));
    EXPECT_EQ(t.problem.kind(), ErrorKind::kBadRequestData) << bad;
    EXPECT_TRUE(t.given) << bad;
  }
}

TEST(HeadersTest, NegotiatePrefersHigherQThenTheRoutesOrder) {
  const std::vector<MediaType> produces{MediaType::kJson, MediaType::kJsonLd};
  EXPECT_EQ(*negotiate("", produces), MediaType::kJson);
  EXPECT_EQ(*negotiate("application/ld+json", produces), MediaType::kJsonLd);
  EXPECT_EQ(*negotiate("application/json;q=0.5, application/ld+json", produces),
            MediaType::kJsonLd);
  EXPECT_EQ(*negotiate("*/*", produces), MediaType::kJson);
  EXPECT_EQ(negotiate("text/html", produces).status().kind(), ErrorKind::kNotAcceptable);
}

TEST(HeadersTest, MediaTypesIgnoreParametersAndCase) {
  EXPECT_EQ(parse_media_type("Application/JSON; charset=utf-8"), MediaType::kJson);
  EXPECT_EQ(parse_media_type("application/ld+json"), MediaType::kJsonLd);
  EXPECT_EQ(parse_media_type("text/plain"), MediaType::kNone);
}

TEST(HeadersTest, LinkContextTakesTheJsonLdRelOrTheOnlyLink) {
  EXPECT_EQ(*link_context("<http://a/>; rel=\"http://www.w3.org/ns/json-ld#context\"; "
                          "type=\"application/ld+json\", <http://b/>; rel=next"),
            "http://a/");
  EXPECT_EQ(*link_context("<http://only/>"), "http://only/");
  EXPECT_EQ(link_context("<http://a/>, <http://b/>").status().kind(), ErrorKind::kBadRequestData);
  EXPECT_EQ(link_context("no link").status().kind(), ErrorKind::kBadRequestData);
}

}  // namespace
}  // namespace tsunagu::http::api
