// The parts of distributed reads that need no network (federation.hpp): what is forwarded, how
// sources' entities merge, how failures are reported. The rest runs against real servers in
// tests/integration/test_federation.py.
#include "http/api/federation.hpp"

#include <gtest/gtest.h>

#include "ngsild/jsonld/context.hpp"

namespace tsunagu::http::api {
namespace {

TEST(FederationTest, TheForwardedQueryKeepsTheSelectionOnly) {
  Request r;
  r.query =
      "type=Vehicle&options=keyValues&attrs=speed&limit=5&offset=10&count=true&"
      "local=false&pick=speed&q=speed%3E3&format=simplified";
  EXPECT_EQ(forwarded_query(r), "?type=Vehicle&attrs=speed&q=speed%3E3");
  r.query = "limit=3";
  EXPECT_EQ(forwarded_query(r), "");
}

TEST(FederationTest, MergingKeepsWhatIsMissingAndTheLatestOfTheRest) {
  ngsild::jsonld::ContextCache cache(nullptr, {});
  auto entity = [&](const char* json) {
    JsonDoc d;
    EXPECT_TRUE(parse_json(json, d).ok());
    auto e = source_entity(d, *cache.core());
    EXPECT_TRUE(e.ok()) << e.status().detail();
    return *e;
  };
  auto local = entity(R"({"id": "urn:ngsi-ld:V:1", "type": "Vehicle", "scope": "/A",
      "speed": {"type": "Property", "value": 1, "observedAt": "2026-01-01T00:00:00Z"},
      "brand": {"type": "Property", "value": "local"}})");
  auto remote = entity(R"({"id": "urn:ngsi-ld:V:1", "type": "Car", "scope": "/B",
      "speed": {"type": "Property", "value": 2, "observedAt": "2026-01-01T00:01:00Z"},
      "brand": {"type": "Property", "value": "remote"},
      "colour": {"type": "Property", "value": "red"}})");
  merge_entity(*local, *remote);
  auto value = [&](const char* name) {
    const auto* a = local->find(Atom::intern(cache.core()->expand(name).str()));
    if (a == nullptr) return std::string("absent");
    return a->value.is_number() ? std::to_string(a->value.as_int()) : std::string(a->value.text());
  };
  EXPECT_EQ(value("speed"), "2");      // observed later there
  EXPECT_EQ(value("brand"), "local");  // no time on either: the one held stays
  EXPECT_EQ(value("colour"), "red");   // missing here
  EXPECT_EQ(local->types.size(), 2u);
  EXPECT_EQ(local->scopes, (std::vector<std::string>{"/A", "/B"}));
  // Not an entity.
  JsonDoc d;
  ASSERT_TRUE(parse_json("[1]", d).ok());
  EXPECT_FALSE(source_entity(d, *cache.core()).ok());
}

TEST(FederationTest, FailedSourcesAreNamedInOneWarning) {
  auto reg = [](const char* id, const char* endpoint) {
    auto r = std::make_shared<ngsild::registration::Registration>();
    r->id = id;
    r->endpoint = endpoint;
    return std::shared_ptr<const ngsild::registration::Registration>(r);
  };
  std::vector<SourceAnswer> answers(4);
  answers[0].registration = reg("urn:r:ok", "http://ok");
  answers[0].outcome.status = 200;
  answers[1].registration = reg("urn:r:404", "http://missing");
  answers[1].outcome.status = 404;
  answers[2].registration = reg("urn:r:down", "http://down");
  answers[2].outcome.error = "cannot connect: \"refused\"";
  answers[3].registration = reg("urn:r:500", "http://broken");
  answers[3].outcome.status = 500;
  auto h = source_warnings(answers);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].name, "NGSILD-Warning");  // as written on the wire
  EXPECT_EQ(h[0].value,
            "199 http://down \"urn:r:down: cannot connect: 'refused'\", "
            "199 http://broken \"urn:r:500: answered 500\"");
  EXPECT_TRUE(source_warnings({answers[0], answers[1]}).empty());
}

}  // namespace
}  // namespace tsunagu::http::api
