// Create and PATCH payloads of the ETSI conformance suite (data/subscriptions/, inlined with the
// test that uses them) and the rules of §5.8.1/§5.8.2 around them: what is accepted and what each
// refusal's error kind is.
#include "ngsild/subscription/subscription_parser.hpp"

#include <gtest/gtest.h>

#include "ngsild/subscription/test_contexts.hpp"

namespace tsunagu::ngsild::subscription {
namespace {

constexpr int64_t kNow = 1767225600000000;  // 2026-01-01T00:00:00Z

// data/subscriptions/subscription.jsonld (028_01): periodic, keyValues.
constexpr const char* kSubscription = R"({
   "id":"urn:ngsi-ld:Subscription:randomUUID",
   "type":"Subscription",
   "timeInterval": 5,
   "entities":[{"type":"Building"}],
   "notification":{
      "format":"keyValues",
      "endpoint":{"uri":"http://localhost:1111/notify","accept":"application/json"}
   },
   "@context":["http://127.0.0.1:8089/ngsi-ld-test-suite-compound.jsonld"]
})";

// data/subscriptions/subscription-building-entities-active-watchedAttributes-query.jsonld.
constexpr const char* kWatchedQuery = R"({
   "id":"urn:ngsi-ld:Subscription:randomUUID",
   "type":"Subscription",
   "isActive": true,
   "watchedAttributes": ["airQualityLevel"],
   "q": "name==\"Eiffel%20Tower\"",
   "entities":[{"type":"Building"}],
   "notification":{
      "endpoint":{"uri":"http://localhost:1111/notify","accept":"application/json"}
   }
})";

class SubscriptionParserTest : public ::testing::Test {
 protected:
  Result<Subscription> parse(std::string_view json,
                             SubscriptionKind kind = SubscriptionKind::kEntity) {
    EXPECT_TRUE(parse_json(json, doc_).ok()) << json;
    return parse_subscription(doc_, contexts_.suite(), kNow, kind);
  }
  ErrorKind refusal(std::string_view json) {
    auto s = parse(json);
    EXPECT_FALSE(s.ok()) << json;
    return s.ok() ? ErrorKind::kOk : s.status().kind();
  }
  Status patch(Subscription& s, std::string_view json) {
    EXPECT_TRUE(parse_json(json, doc_).ok()) << json;
    return apply_subscription_patch(s, doc_, contexts_.suite(), kNow);
  }
  Subscription must(std::string_view json) {
    auto s = parse(json);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? std::move(*s) : Subscription{};
  }

  testing::Contexts contexts_;
  JsonDoc doc_;
};

Atom suite(std::string_view term) {
  return Atom::intern(std::string(testing::kSuite) + std::string(term));
}

TEST_F(SubscriptionParserTest, SuiteSubscriptionIsReadWithItsContext) {
  Subscription s = must(kSubscription);
  EXPECT_EQ(s.id, "urn:ngsi-ld:Subscription:randomUUID");
  ASSERT_EQ(s.entities.size(), 1u);
  ASSERT_TRUE(s.entities[0].types.has_value());
  EXPECT_EQ(s.entities[0].types->single(), suite("Building"));
  EXPECT_EQ(s.time_interval_s, 5.0);
  EXPECT_EQ(s.notification.format, Format::kKeyValues);
  EXPECT_EQ(s.notification.endpoint.uri, "http://localhost:1111/notify");
  EXPECT_EQ(s.notification.endpoint.accept, "application/json");
  EXPECT_EQ(s.triggers(), kDefaultTriggers);
  EXPECT_TRUE(s.active_flag());
  EXPECT_EQ(s.request_context, contexts_.suite().body_json());
}

TEST_F(SubscriptionParserTest, WatchedAttributesAndQAreExpandedAndKept) {
  Subscription s = must(kWatchedQuery);
  EXPECT_EQ(s.watched_attributes, std::vector<Atom>{suite("airQualityLevel")});
  ASSERT_TRUE(s.q.has_value());
  EXPECT_EQ(s.q_text, "name==\"Eiffel%20Tower\"");
  EXPECT_EQ(s.q->term->path.names[0], suite("name"));
  EXPECT_EQ(s.is_active, true);
}

TEST_F(SubscriptionParserTest, EndpointInfoDatasetIdAndNotificationMembers) {
  // subscription-building-entities-active-endpoint-info.jsonld, with-datasetId.jsonld and
  // pick-members.jsonld in one.
  Subscription s = must(R"({"type":"Subscription","entities":[{"type":"Building"}],
    "datasetId":["urn:ngsi-ld:Dataset:french-name"],
    "notification":{"format":"normalized","pick":["id","name"],
      "endpoint":{"uri":"mqtt://broker:1883/topic","accept":"application/ld+json",
        "receiverInfo":[{"key":"X-Additional-Key","value":"Value"}],
        "notifierInfo":[{"key":"MQTT-QoS","value":"1"}]}}})");
  EXPECT_TRUE(s.id.empty());  // the caller makes one
  EXPECT_EQ(s.dataset_ids, std::vector<std::string>{"urn:ngsi-ld:Dataset:french-name"});
  ASSERT_EQ(s.notification.pick.size(), 2u);
  EXPECT_EQ(s.notification.pick[0].kind, Member::Kind::kId);
  EXPECT_EQ(s.notification.pick[1].attribute, suite("name"));
  EXPECT_EQ(s.notification.endpoint.receiver_info,
            (std::vector<KeyValue>{{"X-Additional-Key", "Value"}}));
  EXPECT_EQ(s.notification.endpoint.notifier_info.size(), 1u);
}

TEST_F(SubscriptionParserTest, SuiteRefusalsAreBadRequestData) {
  // 028_02_02 subscription-empty.jsonld.
  EXPECT_EQ(refusal("{}"), ErrorKind::kBadRequestData);
  // 028_03: an invalid and an empty id.
  EXPECT_EQ(refusal(R"({"id":"invalidId","type":"Subscription","entities":[{"type":"Building"}],
      "notification":{"endpoint":{"uri":"http://localhost:1111/notify"}}})"),
            ErrorKind::kBadRequestData);
  EXPECT_EQ(refusal(R"({"id":"","type":"Subscription","entities":[{"type":"Building"}],
      "notification":{"endpoint":{"uri":"http://localhost:1111/notify"}}})"),
            ErrorKind::kBadRequestData);
  // 028_05_01 subscription-invalid-throttling-timeInterval.jsonld.
  EXPECT_EQ(refusal(R"({"type":"Subscription","timeInterval":10,"entities":[{"type":"Building"}],
      "notification":{"format":"keyValues","endpoint":{"uri":"http://localhost:1111/notify",
      "accept":"application/json"}},"throttling":30})"),
            ErrorKind::kBadRequestData);
  // 028_05_02 subscription-invalid-negative-throttling.jsonld.
  EXPECT_EQ(refusal(R"({"type":"Subscription","entities":[{"type":"Building"}],
      "notification":{"format":"keyValues","endpoint":{"uri":"http://localhost:1111/notify",
      "accept":"application/json"}},"throttling":-30})"),
            ErrorKind::kBadRequestData);
  // 028_07_01 subscription-building-with-invalid-jsonldContext.jsonld.
  EXPECT_EQ(refusal(R"({"type":"Subscription","entities":[{"type":"Building"}],
      "notification":{"endpoint":{"uri":"http://localhost:1111/notify"}},
      "jsonldContext":"unknownContext"})"),
            ErrorKind::kBadRequestData);
  // 028_08: same member in pick and omit; pick with attributes; omit with attributes.
  EXPECT_EQ(refusal(R"({"type":"Subscription","entities":[{"type":"Building"}],
      "notification":{"endpoint":{"uri":"http://localhost:1111/notify"},
      "pick":["id"],"omit":["id"]}})"),
            ErrorKind::kBadRequestData);
  EXPECT_EQ(refusal(R"({"type":"Subscription","entities":[{"type":"Building"}],
      "notification":{"endpoint":{"uri":"http://localhost:1111/notify"},
      "pick":["id"],"attributes":["id"]}})"),
            ErrorKind::kBadRequestData);
  EXPECT_EQ(refusal(R"({"type":"Subscription","entities":[{"type":"Building"}],
      "notification":{"endpoint":{"uri":"http://localhost:1111/notify"},
      "omit":["name"],"attributes":["name"]}})"),
            ErrorKind::kBadRequestData);
}

TEST_F(SubscriptionParserTest, MqttEndpointsNameOneTopic) {
  auto with_uri = [](std::string_view uri) {
    return R"({"type":"Subscription","entities":[{"type":"Building"}],"notification":{)"
           R"("endpoint":{"uri":")" +
           std::string(uri) + R"("}}})";
  };
  EXPECT_TRUE(parse(with_uri("mqtt://user:pw@broker:1884/city/bins")).ok());
  EXPECT_TRUE(parse(with_uri("MQTTS://broker/t")).ok());
  for (std::string_view bad : {"mqtt://broker", "mqtt://broker/", "mqtts://broker:8883",
                               "mqtt://broker/a/+/c", "mqtt://broker/a/#", "mqtt:broker/t"}) {
    EXPECT_EQ(refusal(with_uri(bad)), ErrorKind::kBadRequestData) << bad;
  }
}

TEST_F(SubscriptionParserTest, MemberRulesOfTheSpecification) {
  auto with = [](std::string_view extra,
                 std::string_view notification = R"({"endpoint":{"uri":"http://h/n"}})") {
    return "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"notification\":" +
           std::string(notification) + std::string(extra) + "}";
  };
  EXPECT_TRUE(parse(with("")).ok());
  for (
      const std::string& bad : std::vector<std::string>{
          with(R"(,"type2":1)"),                                      // unknown member
          with(R"(,"timeInterval":5,"watchedAttributes":["name"])"),  // periodic and watched
          with(R"(,"timeInterval":5,"notificationTrigger":["entityCreated"])"),
          with(R"(,"timeInterval":0)"),
          with(R"(,"notificationTrigger":["entityChanged"])"),
          with(R"(,"notificationTrigger":[])"),
          with(R"(,"expiresAt":"2020-08-01T22:07:00Z")"),  // in the past
          with(R"(,"expiresAt":"tomorrow")"),
          with(R"(,"q":"name==")"),
          with(R"(,"scopeQ":"Madrid")"),
          with(
              R"(,"geoQ":{"geometry":"Point","coordinates":[200,0],"georel":"near;maxDistance==10"})"),
          with(R"(,"isActive":"yes")"),
          with(R"(,"datasetId":["not a uri"])"),
          with("", R"({"format":"keyValues"})"),  // no endpoint
          with("", R"({"endpoint":{"uri":"ftp://h/n"}})"),
          with("", R"({"endpoint":{"uri":"/relative"}})"),
          with("", R"({"endpoint":{"uri":"http://h/n","accept":"text/plain"}})"),
          with("", R"({"endpoint":{"uri":"http://h/n","timeout":0}})"),
          with(
              "",
              R"({"endpoint":{"uri":"http://h/n","notifierInfo":[{"key":"MQTT-QoS","value":"3"}]}})"),
          with("", R"({"endpoint":{"uri":"http://h/n"},"format":"keyValues","showChanges":true})"),
          with("", R"({"endpoint":{"uri":"http://h/n"},"format":"compact"})"),
          with("", R"({"endpoint":{"uri":"http://h/n"},"join":"flat","joinLevel":0})"),
          with("", R"({"endpoint":{"uri":"http://h/n"},"join":"flat","joinLevel":9})"),
          R"({"type":"Subscription","notification":{"endpoint":{"uri":"http://h/n"}}})",
          R"({"type":"Query","entities":[{"type":"Building"}],"notification":{"endpoint":{"uri":"http://h/n"}}})",
          R"({"type":"Subscription","entities":[{"id":"urn:a:1"}],"notification":{"endpoint":{"uri":"http://h/n"}}})",
          R"({"type":"Subscription","entities":[{"type":"Building"}]})",
      }) {
    auto s = parse(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().kind(), ErrorKind::kBadRequestData) << bad;
    EXPECT_FALSE(s.status().detail().empty());
  }
  // Watched attributes alone are enough (no entities), and on-change members are kept.
  Subscription s = must(R"({"type":"Subscription","watchedAttributes":["name"],
    "notificationTrigger":["entityCreated","attributeDeleted"],"throttling":15,
    "expiresAt":"2030-08-01T22:07:00Z","scopeQ":"/Madrid/#",
    "geoQ":{"geometry":"Point","coordinates":[2.29,48.85],"georel":"near;maxDistance==2000"},
    "notification":{"endpoint":{"uri":"https://h/n"}}})");
  EXPECT_EQ(s.triggers(), bit(Trigger::kEntityCreated) | bit(Trigger::kAttributeDeleted));
  EXPECT_EQ(s.throttling_s, 15.0);
  EXPECT_EQ(s.expires_at, *parse_datetime("2030-08-01T22:07:00Z"));
  EXPECT_EQ(s.geo_property, contexts_.suite().lookup("location"));
  EXPECT_TRUE(s.scope_q.has_value());
}

TEST_F(SubscriptionParserTest, PatchReplacesMembersAndChecksTheWhole) {
  Subscription s = must(kSubscription);
  // 029_06 fragments/subscription-update.json.
  ASSERT_TRUE(patch(s, R"({"type":"Subscription","notification":{"format":"keyValues",
      "endpoint":{"uri":"http://my.second.endpoint.org/notify","accept":"application/json"}}})")
                  .ok());
  EXPECT_EQ(s.notification.endpoint.uri, "http://my.second.endpoint.org/notify");
  // 029_05 fragments/subscription-vehicle-entities.json.
  ASSERT_TRUE(patch(s, R"({"type":"Subscription","entities":[{"type":"Vehicle"}]})").ok());
  EXPECT_EQ(s.entities[0].types->single(), suite("Vehicle"));
  // 029_09 and 029_07: pause and resume.
  ASSERT_TRUE(patch(s, R"({"type":"Subscription","isActive":false})").ok());
  EXPECT_EQ(status_of(s, kNow), SubscriptionStatus::kPaused);
  ASSERT_TRUE(patch(s, R"({"type":"Subscription","isActive":true,
      "expiresAt":"2030-08-01T22:07:00Z"})")
                  .ok());
  EXPECT_EQ(status_of(s, kNow), SubscriptionStatus::kActive);

  const Subscription before = s;
  auto refused = [&](std::string_view fragment) {
    Status st = patch(s, fragment);
    EXPECT_EQ(st.kind(), ErrorKind::kBadRequestData) << fragment;
    EXPECT_EQ(s.notification.endpoint.uri, before.notification.endpoint.uri) << fragment;
    EXPECT_EQ(s.expires_at, before.expires_at) << fragment;
  };
  refused(R"({"notification":{"format":"keyValues"}})");  // 029_03: no endpoint left
  refused(R"({"type":"Subscription","notification":{"format":"keyValues","endpoint":null}})");
  refused(R"({"type":"Subscription","expiresAt":"2020-08-01T22:07:00Z"})");  // 029_11
  refused(R"({"id":"urn:ngsi-ld:Subscription:other"})");
  refused(R"({"type":"Registration"})");
  refused(R"({"watchedAttributes":["name"]})");  // periodic: watchedAttributes not allowed
  refused(R"({"entities":null})");               // neither entities nor watchedAttributes
  refused(R"({"notification":null})");
  // null removes an optional member; the result is then checked whole.
  ASSERT_TRUE(
      patch(s, R"({"timeInterval":null,"watchedAttributes":["name"],"throttling":2})").ok());
  EXPECT_FALSE(s.periodic());
  EXPECT_EQ(s.throttling_s, 2.0);
}

// Registration subscriptions (§5.11.2): the suite's payloads (data/csourceSubscriptions/), the
// members only they take and those they do not.
TEST_F(SubscriptionParserTest, CsourceSubscriptionsTakeTemporalQAndCsf) {
  constexpr SubscriptionKind kCsource = SubscriptionKind::kCsource;
  // subscription-temporalQ-createdAt.jsonld (047_11).
  auto s = parse(R"({"id":"urn:ngsi-ld:Subscription:1","type":"Subscription",
      "entities":[{"type":"Building"}],
      "notification":{"format":"keyValues","endpoint":{"uri":"http://localhost:1111/notify"}},
      "temporalQ":{"timerel":"after","timeAt":"2020-06-01T22:07:00Z","timeproperty":"createdAt"},
      "csf":"name==\"x\""})",
                 kCsource);
  ASSERT_TRUE(s.ok()) << s.status().detail();
  EXPECT_EQ(s->kind, kCsource);
  ASSERT_TRUE(s->temporal_q.has_value());
  EXPECT_EQ(s->temporal_q->rel, temporal::TimeRel::kAfter);
  EXPECT_EQ(s->temporal_q->property, temporal::TimeProperty::kCreatedAt);
  EXPECT_EQ(s->temporal_q->at, *parse_datetime("2020-06-01T22:07:00Z"));
  ASSERT_TRUE(s->csf_q.has_value());
  ASSERT_TRUE(s->csf_q->term);
  EXPECT_EQ(s->csf_q->term->path.names[0], suite("name"));
  // An entity subscription keeps csf as text and does not take temporalQ.
  EXPECT_FALSE(must(R"({"type":"Subscription","entities":[{"type":"Building"}],"csf":"a==1",
      "notification":{"endpoint":{"uri":"http://localhost:1111/notify"}}})")
                   .csf_q.has_value());

  auto refused = [&](std::string_view json, std::string_view names) {
    auto r = parse(json, kCsource);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData) << json;
    EXPECT_NE(r.status().detail().find(names), std::string::npos) << r.status().detail();
  };
  constexpr std::string_view kHead = R"({"type":"Subscription","entities":[{"type":"Building"}],)";
  auto with = [&](std::string_view member) {
    return std::string(kHead) + std::string(member) +
           R"(,"notification":{"endpoint":{"uri":"http://localhost:1111/notify"}}})";
  };
  refused(with(R"("notificationTrigger":["entityCreated"])"), "notificationTrigger");
  refused(with(R"("datasetId":"urn:x:d")"), "datasetId");
  refused(with(R"("temporalQ":{"timeAt":"2020-06-01T22:07:00Z"})"), "temporalQ.timerel");
  refused(with(R"("temporalQ":{"timerel":"after"})"), "timeAt");
  refused(with(R"("temporalQ":{"timerel":"after","timeAt":"x","unknown":1})"), "unknown");
  refused(with(R"("csf":"name==")"), "csf");
  refused(std::string(kHead) + R"("notification":{"showChanges":true,
      "endpoint":{"uri":"http://localhost:1111/notify"}}})",
          "notification.showChanges");
  // 038_08: the suite's invalid payloads are refused as for entity subscriptions.
  refused(with(R"("watchedAttributes":[])"), "watchedAttributes");
  refused(R"({"type":"Subscription","entities":[{"type":"Building"}]})", "notification");

  // A patch follows the kind's rules: temporalQ removed by null, notificationTrigger refused.
  Subscription def = std::move(*s);
  EXPECT_EQ(patch(def, R"({"notificationTrigger":["entityCreated"]})").kind(),
            ErrorKind::kBadRequestData);
  ASSERT_TRUE(patch(def, R"({"temporalQ":null,"csf":null})").ok());
  EXPECT_FALSE(def.temporal_q.has_value());
  EXPECT_FALSE(def.csf_q.has_value());
}

}  // namespace
}  // namespace tsunagu::ngsild::subscription
