// Context Source Registrations: the payloads of §5.9.2/§5.9.3 (what is accepted, what each
// refusal names), the stored form, and discovery's matching (§5.12).
#include <gtest/gtest.h>

#include "common/params.hpp"
#include "ngsild/registration/registration_parser.hpp"
#include "ngsild/registration/registration_query.hpp"
#include "ngsild/subscription/test_contexts.hpp"

namespace tsunagu::ngsild::registration {
namespace {

using subscription::testing::Contexts;
using subscription::testing::kSuite;

constexpr int64_t kNow = 1767225600000000;  // 2026-01-01T00:00:00Z

// data/csourceRegistrations/context-source-registration.jsonld, with more members.
constexpr const char* kRegistration = R"({
   "id": "urn:ngsi-ld:ContextSourceRegistration:1",
   "type": "ContextSourceRegistration",
   "information": [
     {"entities": [{"id": "urn:ngsi-ld:Vehicle:A456", "type": "Vehicle"}],
      "propertyNames": ["name"]},
     {"entities": [{"idPattern": ".*downtown$", "type": "Building"}]}
   ],
   "endpoint": "http://my.csource.org:1026",
   "location": {"type": "Point", "coordinates": [-8.521, 41.2]},
   "scope": ["/Porto/Downtown"],
   "expiresAt": "2030-01-01T00:00:00Z",
   "airQualityLevel": "good",
   "status": "ok",
   "@context": ["http://127.0.0.1:8089/ngsi-ld-test-suite-compound.jsonld"]
})";

class RegistrationTest : public ::testing::Test {
 protected:
  Result<Registration> parse(std::string_view text) {
    JsonDoc d;
    EXPECT_TRUE(parse_json(text, d).ok()) << text;
    return parse_registration(d, ctx_.suite(), kNow);
  }
  // The detail of the refusal of `text`, or "accepted".
  std::string refusal(std::string_view text) {
    auto r = parse(text);
    if (r.ok()) return "accepted";
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData) << r.status().detail();
    return r.status().detail();
  }
  Status patch(Registration& r, std::string_view text) {
    JsonDoc d;
    EXPECT_TRUE(parse_json(text, d).ok()) << text;
    return apply_registration_patch(r, d, ctx_.suite(), kNow);
  }
  RegistrationQuery query(std::vector<std::pair<std::string, std::string>> items) {
    QueryParams params{std::move(items)};
    auto q = registration_query_from_params(params, ctx_.suite(), {});
    EXPECT_TRUE(q.ok()) << q.status().detail();
    return q.ok() ? std::move(*q) : RegistrationQuery{};
  }
  Contexts ctx_;
};

TEST_F(RegistrationTest, ReadsEveryMemberAndExpandsTheNames) {
  auto r = parse(kRegistration);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->id, "urn:ngsi-ld:ContextSourceRegistration:1");
  ASSERT_EQ(r->information.size(), 2u);
  const auto& vehicles = *r->information[0].entities;
  EXPECT_EQ(vehicles[0].id, "urn:ngsi-ld:Vehicle:A456");
  EXPECT_EQ(vehicles[0].types[0].str(), std::string(kSuite) + "Vehicle");
  EXPECT_EQ((*r->information[0].property_names)[0].str(), std::string(kSuite) + "name");
  EXPECT_EQ((*r->information[1].entities)[0].id_pattern_text, ".*downtown$");
  EXPECT_EQ(r->endpoint, "http://my.csource.org:1026");
  EXPECT_EQ(r->mode, Mode::kInclusive);
  EXPECT_TRUE(r->location.has_value());
  EXPECT_EQ(r->scopes, std::vector<std::string>{"/Porto/Downtown"});
  EXPECT_NE(r->expires_at, kNoTime);
  // The stored document: the property expanded, the read-only status left out.
  EXPECT_NE(r->doc.find("\"" + std::string(kSuite) + "airQualityLevel\":\"good\""),
            std::string::npos)
      << r->doc;
  EXPECT_EQ(r->doc.find("status"), std::string::npos) << r->doc;
  EXPECT_NE(r->request_context.find("compound"), std::string::npos);
  // The properties entity holds the property and the location, for q and geo-queries.
  ASSERT_TRUE(r->properties);
  EXPECT_EQ(r->properties->instances(Atom::intern(std::string(kSuite) + "airQualityLevel")).size(),
            1u);
  EXPECT_EQ(r->properties->scopes, r->scopes);
}

TEST_F(RegistrationTest, RefusesWhatTheSpecificationDoesNotAllow) {
  // A valid registration with `member` added, or replacing the member of the same name.
  auto without = [](std::string_view member) {
    std::string information = R"("information": [{"entities": [{"type": "Vehicle"}]}])";
    std::string endpoint = R"("endpoint": "http://a.example")";
    if (member.starts_with("\"information\"")) information = member;
    if (member.starts_with("\"endpoint\"")) endpoint = member;
    std::string text = R"({"type": "ContextSourceRegistration", )" + information + ", " + endpoint;
    if (!member.empty() && !member.starts_with("\"information\"") &&
        !member.starts_with("\"endpoint\"")) {
      text += ", " + std::string(member);
    }
    return text + "}";
  };
  EXPECT_EQ(refusal(without("")), "accepted");
  EXPECT_NE(refusal(R"({"type": "ContextSourceRegistration", "endpoint": "http://a.example"})")
                .find("information"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"type": "ContextSourceRegistration",
      "information": [{"entities": [{"type": "Vehicle"}]}]})")
                .find("endpoint"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"type": "Building", "information": [{"propertyNames": ["a"]}],
      "endpoint": "http://a.example"})")
                .find("type"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"type": "ContextSourceRegistration", "information": null,
      "endpoint": "http://a.example"})")
                .find("information"),
            std::string::npos);
  struct Case {
    const char* member;
    const char* named;
  };
  for (const Case& c : {
           Case{R"("information": [])", "information"},
           Case{R"("information": [{}])", "information[]"},
           Case{R"("information": [{"entities": [{"id": "urn:a:b"}]}])", "type"},
           Case{R"("information": [{"entities": [{"type": "V", "id": "nouri"}]}])", "id"},
           Case{R"("information": [{"entities": [{"type": "V", "idPattern": "(("}]}])",
                "idPattern"},
           Case{R"("information": [{"propertyNames": ["a b"]}])", "propertyNames"},
           Case{R"("information": [{"colour": "red"}])", "colour"},
           Case{R"("endpoint": "relative/path")", "endpoint"},
           Case{R"("mode": "sometimes")", "mode"},
           Case{R"("operations": ["fly"])", "operations"},
           Case{R"("operations": [])", "operations"},
           Case{R"("expiresAt": "2020-01-01T00:00:00Z")", "expiresAt"},
           Case{R"("expiresAt": "tomorrow")", "expiresAt"},
           Case{R"("location": {"type": "Point", "coordinates": [200, 0]})", "location"},
           Case{R"("observationInterval": {"endAt": "2020-01-01T00:00:00Z"})",
                "observationInterval"},
           Case{R"("managementInterval": {"startAt": "2021-01-01T00:00:00Z",
                                          "endAt": "2020-01-01T00:00:00Z"})",
                "managementInterval"},
           Case{R"("scope": "no-slash")", "scope"},
           Case{R"("contextSourceInfo": [{"key": "k"}])", "contextSourceInfo"},
           Case{R"("management": {"timeout": 0})", "management.timeout"},
           Case{R"("management": {"retries": 3})", "management"},
           Case{R"("registrationName": "")", "registrationName"},
           Case{R"("datasetId": ["not a uri"])", "datasetId"},
           Case{R"("someProperty": null)", "someProperty"},
       }) {
    const std::string text = without(c.member);
    const std::string detail = refusal(text);
    EXPECT_NE(detail.find(c.named), std::string::npos) << c.member << " -> " << detail;
  }
}

TEST_F(RegistrationTest, TheStoredFormReadsBackWithoutTheRequestContext) {
  auto r = parse(kRegistration);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  r->created_at = 1;
  r->modified_at = 2;
  RegistrationState st;
  st.times_sent = 3;
  st.last_failure = 4;
  auto back = decode_registration(encode_registration(*r, st), ctx_.core());
  ASSERT_TRUE(back.ok()) << back.status().detail();
  const Registration& b = back->registration;
  EXPECT_EQ(b.id, r->id);
  EXPECT_EQ(b.doc, r->doc);
  EXPECT_EQ(b.request_context, r->request_context);
  EXPECT_EQ(b.created_at, 1);
  EXPECT_EQ(b.modified_at, 2);
  EXPECT_EQ((*b.information[0].entities)[0].types, (*r->information[0].entities)[0].types);
  EXPECT_EQ(b.expires_at, r->expires_at);
  EXPECT_EQ(back->state.times_sent, 3u);
  EXPECT_EQ(back->state.last_failure, 4);
  EXPECT_FALSE(decode_registration("{\"id\": 1}", ctx_.core()).ok());
}

TEST_F(RegistrationTest, APatchReplacesRemovesAndIsCheckedAsAWhole) {
  auto r = parse(kRegistration);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  const std::string before = r->doc;
  // Refused, and nothing changes.
  EXPECT_FALSE(patch(*r, R"({"endpoint": null})").ok());
  EXPECT_FALSE(patch(*r, R"({"information": null})").ok());
  EXPECT_FALSE(patch(*r, R"({"type": "Building"})").ok());
  EXPECT_FALSE(patch(*r, R"({"id": "urn:ngsi-ld:ContextSourceRegistration:2"})").ok());
  EXPECT_FALSE(patch(*r, R"({"endpoint": "http://b.example", "mode": "never"})").ok());
  EXPECT_EQ(r->doc, before);
  // Accepted: a member replaced, a property and expiresAt removed, a member added.
  ASSERT_TRUE(patch(*r, R"({"information": [{"entities": [{"type": "Building"}]}],
      "airQualityLevel": null, "expiresAt": null, "mode": "auxiliary",
      "id": "urn:ngsi-ld:ContextSourceRegistration:1"})")
                  .ok());
  EXPECT_EQ(r->information.size(), 1u);
  EXPECT_EQ(r->mode, Mode::kAuxiliary);
  EXPECT_EQ(r->expires_at, kNoTime);
  EXPECT_EQ(r->doc.find("airQualityLevel"), std::string::npos) << r->doc;
  EXPECT_EQ(r->doc.find("expiresAt"), std::string::npos) << r->doc;
  EXPECT_NE(r->doc.find("\"endpoint\":\"http://my.csource.org:1026\""), std::string::npos);
  EXPECT_TRUE(
      r->properties->instances(Atom::intern(std::string(kSuite) + "airQualityLevel")).empty());
}

TEST_F(RegistrationTest, DiscoveryMatchesTheInformationAndTheProperties) {
  auto r = parse(kRegistration);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  auto matches = [&](std::vector<std::pair<std::string, std::string>> params) {
    return query(std::move(params)).matches(*r);
  };
  EXPECT_TRUE(matches({{"type", "Vehicle"}}));
  EXPECT_TRUE(matches({{"type", "Building"}}));
  EXPECT_FALSE(matches({{"type", "OffStreetParking"}}));
  // Attributes: named in the same RegistrationInfo, or none named there.
  EXPECT_TRUE(matches({{"type", "Vehicle"}, {"attrs", "name"}}));
  EXPECT_FALSE(matches({{"type", "Vehicle"}, {"attrs", "speed"}}));
  EXPECT_TRUE(matches({{"type", "Building"}, {"attrs", "speed"}}));
  // Ids: the registered id, or one the registered pattern takes.
  EXPECT_TRUE(matches({{"id", "urn:ngsi-ld:Vehicle:A456"}, {"type", "Vehicle"}}));
  EXPECT_FALSE(matches({{"id", "urn:ngsi-ld:Vehicle:B1"}, {"type", "Vehicle"}}));
  EXPECT_TRUE(matches({{"id", "urn:ngsi-ld:Building:downtown"}}));
  EXPECT_FALSE(matches({{"id", "urn:ngsi-ld:Building:uptown"}, {"type", "Building"}}));
  EXPECT_TRUE(matches({{"idPattern", "A4"}, {"type", "Vehicle"}}));
  EXPECT_FALSE(matches({{"idPattern", "^urn:x"}, {"type", "Vehicle"}}));
  // q and csf on the properties, scopeQ on the scope, geo-queries on the location.
  EXPECT_TRUE(matches({{"q", "airQualityLevel==\"good\""}}));
  EXPECT_FALSE(matches({{"q", "airQualityLevel==\"bad\""}}));
  EXPECT_TRUE(matches({{"type", "Vehicle"}, {"csf", "airQualityLevel==\"good\""}}));
  EXPECT_FALSE(matches({{"type", "Vehicle"}, {"csf", "airQualityLevel==\"bad\""}}));
  EXPECT_TRUE(matches({{"scopeQ", "/Porto/#"}}));
  EXPECT_FALSE(matches({{"scopeQ", "/Lisbon"}}));
  EXPECT_TRUE(matches({{"type", "Vehicle"},
                       {"georel", "near;maxDistance==2000"},
                       {"geometry", "Point"},
                       {"coordinates", "[-8.503,41.202]"}}));
  EXPECT_FALSE(matches({{"type", "Vehicle"},
                        {"georel", "near;maxDistance==200"},
                        {"geometry", "Point"},
                        {"coordinates", "[-8.503,41.202]"}}));
  // No interval: the latest information only.
  EXPECT_FALSE(
      matches({{"type", "Vehicle"}, {"timerel", "before"}, {"timeAt", "2030-01-01T00:00:00Z"}}));
}

TEST_F(RegistrationTest, ATemporalDiscoveryMatchesTheIntervalOfItsTimeProperty) {
  auto r = parse(R"({"type": "ContextSourceRegistration",
      "information": [{"entities": [{"type": "Building"}]}], "endpoint": "http://a.example",
      "observationInterval": {"startAt": "2020-08-01T22:07:00Z", "endAt": "2021-08-01T21:07:00Z"}})");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  auto matches = [&](std::vector<std::pair<std::string, std::string>> params) {
    params.emplace_back("type", "Building");
    return query(std::move(params)).matches(*r);
  };
  EXPECT_FALSE(matches({}));  // a history source is not asked for the latest information
  EXPECT_TRUE(matches({{"timerel", "before"}, {"timeAt", "2021-08-01T22:00:00Z"}}));
  EXPECT_FALSE(matches({{"timerel", "before"}, {"timeAt", "2020-08-01T22:07:00Z"}}));
  EXPECT_TRUE(matches({{"timerel", "after"}, {"timeAt", "2021-08-01T21:07:00Z"}}));
  EXPECT_FALSE(matches({{"timerel", "after"}, {"timeAt", "2021-08-01T21:07:01Z"}}));
  EXPECT_TRUE(matches({{"timerel", "between"},
                       {"timeAt", "2019-01-01T00:00:00Z"},
                       {"endTimeAt", "2020-09-01T00:00:00Z"}}));
  EXPECT_FALSE(matches(
      {{"timerel", "before"}, {"timeAt", "2021-01-01T00:00:00Z"}, {"timeproperty", "createdAt"}}));
}

TEST(RegistrationOperationsTest, GroupsHoldTheirOperations) {
  Registration r;
  EXPECT_TRUE(supports(r, "retrieveEntity"));  // federationOps by default
  EXPECT_TRUE(supports(r, "createSubscription"));
  EXPECT_FALSE(supports(r, "createEntity"));
  r.operations = {"redirectionOps"};
  EXPECT_TRUE(supports(r, "createEntity"));
  EXPECT_TRUE(supports(r, "queryEntity"));
  EXPECT_FALSE(supports(r, "queryTemporal"));
  EXPECT_FALSE(supports(r, "createBatch"));
  r.operations = {"updateOps", "queryEntity"};
  EXPECT_TRUE(supports(r, "replaceAttrs"));
  EXPECT_TRUE(supports(r, "queryEntity"));
  EXPECT_FALSE(supports(r, "retrieveEntity"));
  EXPECT_TRUE(known_operation("deleteAttrInstanceTemporal"));
  EXPECT_TRUE(known_operation("retrieveOps"));
  EXPECT_FALSE(known_operation("retrieveOp"));
}

TEST_F(RegistrationTest, ABareQueryIsRefusedUnlessLocal) {
  QueryParams bare;
  auto q = registration_query_from_params(bare, ctx_.suite(), {});
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().detail().find("too wide"), std::string::npos);
  QueryParams local{{{"local", "true"}}};
  auto all = registration_query_from_params(local, ctx_.suite(), {});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->all);
}

}  // namespace
}  // namespace tsunagu::ngsild::registration
