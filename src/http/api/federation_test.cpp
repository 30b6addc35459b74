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

std::shared_ptr<const ngsild::registration::Registration> reg(const char* id,
                                                              const char* endpoint) {
  auto r = std::make_shared<ngsild::registration::Registration>();
  r->id = id;
  r->endpoint = endpoint;
  return r;
}

SourceAnswer answer(const char* id, int status, std::string body = {}, std::string error = {}) {
  SourceAnswer a;
  a.registration = reg(id, "http://source");
  a.outcome.status = status;
  a.outcome.body = std::move(body);
  a.outcome.error = std::move(error);
  return a;
}

TEST(FederationTest, ADistributedResultTellsWhatEachPartDid) {
  const std::vector<std::string> both = {"urn:e:1", "urn:e:2"};
  DistributedResult result;
  result.succeeded("urn:e:1");
  result.add_source(answer("urn:r:created", 201, R"(["urn:e:1","urn:e:2"])"), both);
  EXPECT_FALSE(result.any_failed());
  EXPECT_EQ(result.successes(), both);  // each once
  // A source that cut a loop neither wrote nor failed.
  result.add_source(answer("urn:r:loop", 508), both);
  EXPECT_FALSE(result.any_failed());

  // Its own ProblemDetails, with the status added when it left it out; one made here for an
  // answer without one, and for no answer.
  result.add_source(answer("urn:r:conflict", 409, R"({"type":"x:AlreadyExists","title":"t"})"),
                    {"urn:e:1"});
  result.add_source(answer("urn:r:down", 0, "", "timed out after 5 ms"), {"urn:e:2"});
  result.add_source(answer("urn:r:plain", 500, "oops"), {"urn:e:3"});
  // A partial success that says what failed, and one that does not.
  result.add_source(answer("urn:r:partial", 207,
                           R"({"success":["urn:e:4"],"errors":[{"entityId":"urn:e:5",)"
                           R"("error":{"type":"x:BadRequestData","status":400}}]})"),
                    {"urn:e:4", "urn:e:5"});
  result.add_source(answer("urn:r:vague", 207), {"urn:e:6"});
  ASSERT_TRUE(result.any_failed());
  JsonDoc d;
  ASSERT_TRUE(parse_json(result.body(), d).ok()) << result.body();
  std::vector<std::string> success;
  for (const auto& id : d["success"].GetArray())
    success.emplace_back(id.GetString());
  EXPECT_EQ(success, (std::vector<std::string>{"urn:e:1", "urn:e:2", "urn:e:4"}));
  std::vector<std::string> errors;
  for (const auto& e : d["errors"].GetArray()) {
    errors.push_back(
        std::string(e["entityId"].GetString()) + " " + e["registrationId"].GetString() + " " +
        std::to_string(e["error"]["status"].GetInt()) + " " + e["error"]["type"].GetString());
  }
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "urn:e:1 urn:r:conflict 409 x:AlreadyExists",
                        "urn:e:2 urn:r:down 504 https://uri.etsi.org/ngsi-ld/errors/GatewayTimeout",
                        "urn:e:3 urn:r:plain 500 https://uri.etsi.org/ngsi-ld/errors/InternalError",
                        "urn:e:5 urn:r:partial 400 x:BadRequestData",
                        "urn:e:6 urn:r:vague 207 https://uri.etsi.org/ngsi-ld/errors/InternalError",
                    }));
  EXPECT_NE(std::string(d["errors"][1]["error"]["detail"].GetString()).find("timed out"),
            std::string::npos);

  // Merging keeps both sides' successes and errors; this broker's errors have no registration.
  DistributedResult here;
  here.failed("urn:e:7", nullptr, R"({"type":"x:NotFound","status":404})");
  here.merge(result);
  ASSERT_TRUE(parse_json(here.body(), d).ok());
  EXPECT_EQ(d["errors"].Size(), 6u);
  EXPECT_FALSE(d["errors"][0].HasMember("registrationId"));
  EXPECT_EQ(d["success"].Size(), 3u);
}

TEST(FederationTest, FailedSourcesAreNamedInOneWarning) {
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
