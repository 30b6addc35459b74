// Tests only: the @contexts the subscription tests write and read with. The suite's compound
// context (ngsi-ld-test-suite-compound.jsonld) is stood in for by an inline one defining the terms
// the payloads use with the suite's IRIs.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/json.hpp"
#include "ngsild/jsonld/context.hpp"

namespace tsunagu::ngsild::subscription::testing {

inline constexpr std::string_view kSuite = "https://ngsi-ld-test-suite/context#";

class Contexts {
 public:
  Contexts() : cache_(nullptr, {}) {
    JsonDoc d;
    std::string base(kSuite);
    std::string json = "{\"Building\":\"" + base + "Building\",\"Vehicle\":\"" + base +
                       "Vehicle\",\"name\":\"" + base + "name\",\"airQualityLevel\":\"" + base +
                       "airQualityLevel\",\"location\":\"https://uri.etsi.org/ngsi-ld/location\"}";
    EXPECT_TRUE(parse_json(json, d).ok());
    auto c = cache_.from_json(d);
    EXPECT_TRUE(c.ok()) << c.status().detail();
    suite_ = c.ok() ? *c : cache_.core();
  }
  const jsonld::Context& core() const { return *cache_.core(); }
  const jsonld::Context& suite() const { return *suite_; }

 private:
  jsonld::ContextCache cache_;
  jsonld::ContextPtr suite_;
};

}  // namespace tsunagu::ngsild::subscription::testing
