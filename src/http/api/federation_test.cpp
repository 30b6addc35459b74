// The parts of distributed reads that need no network (federation.hpp): what is forwarded, how
// sources' entities merge, how failures are reported. The rest runs against real servers in
// tests/integration/test_federation.py.
#include "http/api/federation.hpp"

#include <gtest/gtest.h>

#include "ngsild/jsonld/context.hpp"
#include "ngsild/registration/registration_parser.hpp"

namespace tsunagu::http::api {
namespace {

TEST(FederationTest, TheForwardedQueryKeepsTheSelectionOnly) {
  QueryParams params{{{"type", "Vehicle"},
                      {"options", "keyValues"},
                      {"attrs", "speed"},
                      {"limit", "5"},
                      {"offset", "10"},
                      {"count", "true"},
                      {"local", "false"},
                      {"id", "urn:ngsi-ld:Vehicle:A1"},
                      {"pick", "speed"},
                      {"q", "speed>3;name==\"a b\""},
                      {"format", "simplified"}}};
  // Ids as they are (a source may compare them as text), the rest escaped where a query needs.
  EXPECT_EQ(forwarded_query(params),
            "?type=Vehicle&id=urn:ngsi-ld:Vehicle:A1&q=speed%3E3;name==%22a%20b%22");
  EXPECT_EQ(forwarded_query(params, {"type", "id"}), "?q=speed%3E3;name==%22a%20b%22");
  EXPECT_EQ(forwarded_query(QueryParams{{{"limit", "3"}}}), "");
}

TEST(FederationTest, ARetrievalAsksEachSourceTheWayItTakes) {
  ngsild::jsonld::ContextCache cache(nullptr, {});
  JsonDoc d;
  ASSERT_TRUE(parse_json(R"({"type": "ContextSourceRegistration", "endpoint": "http://s",
      "information": [{"entities": [{"type": "Vehicle", "idPattern": "^urn:ngsi-ld:Vehicle:"},
                                    {"type": "Bus", "id": "urn:ngsi-ld:Bus:1"}]},
                      {"entities": [{"type": "Car"}]}]})",
                         d)
                  .ok());
  auto r = ngsild::registration::parse_registration(d, *cache.core());
  ASSERT_TRUE(r.ok()) << r.status().detail();
  const QueryParams none;
  const std::string id = "urn:ngsi-ld:Vehicle:A1";
  Forward f = retrieve_request(*r, id, nullptr, none, *cache.core());
  EXPECT_EQ(f.method, "GET");
  EXPECT_EQ(f.path_query, "/ngsi-ld/v1/entities/urn:ngsi-ld:Vehicle:A1");
  r->operations = {"queryEntity"};
  f = retrieve_request(*r, id, nullptr, none, *cache.core());
  EXPECT_EQ(f.path_query, "/ngsi-ld/v1/entities?id=urn:ngsi-ld:Vehicle:A1&type=Vehicle,Car");
  r->operations = {"queryBatch"};
  f = retrieve_request(*r, id, nullptr, none, *cache.core());
  EXPECT_EQ(f.method, "POST");
  EXPECT_EQ(f.path_query, "/ngsi-ld/v1/entityOperations/query");
  EXPECT_EQ(
      f.body,
      R"({"type":"Query","entities":[{"id":"urn:ngsi-ld:Vehicle:A1","type":"Vehicle,Car"}]})");
}

TEST(FederationTest, AQueryObjectAsksWhatTheParametersAsk) {
  QueryParams params{{{"type", "Vehicle"},
                      {"id", "urn:a:1,urn:a:2"},
                      {"q", "speed>3"},
                      {"georel", "near;maxDistance==10"},
                      {"geometry", "Point"},
                      {"coordinates", "[1,2]"}}};
  EXPECT_EQ(query_object_of(params),
            R"({"type":"Query","entities":[{"id":"urn:a:1","type":"Vehicle"},)"
            R"({"id":"urn:a:2","type":"Vehicle"}],"q":"speed>3","geoQ":{"georel":)"
            R"("near;maxDistance==10","geometry":"Point","coordinates":[1,2]}})");
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
  auto value_of = [&](const ngsild::Entity& e, const char* name) {
    const auto* a = e.find(Atom::intern(cache.core()->expand(name).str()));
    if (a == nullptr) return std::string("absent");
    return a->value.is_number() ? std::to_string(a->value.as_int()) : std::string(a->value.text());
  };
  auto value = [&](const char* name) { return value_of(*local, name); };
  EXPECT_EQ(value("speed"), "2");      // observed later there
  EXPECT_EQ(value("brand"), "local");  // no time on either: the one held stays
  EXPECT_EQ(value("colour"), "red");   // missing here
  EXPECT_EQ(local->types.size(), 2u);
  EXPECT_EQ(local->scopes, (std::vector<std::string>{"/A", "/B"}));
  // An exclusive source's instance wins whatever its time; an auxiliary one only completes.
  using ngsild::registration::Mode;
  auto older = entity(R"({"id": "urn:ngsi-ld:V:1", "type": "Vehicle",
      "speed": {"type": "Property", "value": 9, "observedAt": "2020-01-01T00:00:00Z"},
      "fuel": {"type": "Property", "value": 50}})");
  auto copy = std::make_shared<ngsild::Entity>(*local);
  merge_entity(*copy, *older, Mode::kAuxiliary);
  EXPECT_EQ(value_of(*copy, "speed"), "2");
  EXPECT_EQ(value_of(*copy, "fuel"), "50");
  merge_entity(*copy, *older, Mode::kExclusive);
  EXPECT_EQ(value_of(*copy, "speed"), "9");
  // Auxiliary sources' answers are merged last.
  std::vector<SourceAnswer> answers(3);
  const Mode modes[] = {Mode::kAuxiliary, Mode::kInclusive, Mode::kExclusive};
  for (size_t i = 0; i < 3; ++i) {
    auto r = std::make_shared<ngsild::registration::Registration>();
    r->mode = modes[i];
    answers[i].registration = r;
  }
  auxiliary_last(answers);
  EXPECT_EQ(answers[0].registration->mode, Mode::kInclusive);
  EXPECT_EQ(answers[1].registration->mode, Mode::kExclusive);
  EXPECT_EQ(answers[2].registration->mode, Mode::kAuxiliary);
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
