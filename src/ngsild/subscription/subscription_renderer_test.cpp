// GET output and the stored form: parse then render with the same @context gives back the
// payload's members (the suite's expectations, 028_01 and 029_05), and encode then decode gives
// back the same subscription.
#include "ngsild/subscription/subscription_renderer.hpp"

#include <gtest/gtest.h>

#include "ngsild/model/test_atoms.hpp"
#include "ngsild/subscription/subscription_codec.hpp"
#include "ngsild/subscription/subscription_parser.hpp"
#include "ngsild/subscription/test_contexts.hpp"

namespace tsunagu::ngsild::subscription {
namespace {

constexpr int64_t kNow = 1767225600000000;  // 2026-01-01T00:00:00Z

// Every member a client may give, once.
constexpr const char* kFull = R"({"id":"urn:ngsi-ld:Subscription:full","type":"Subscription",
  "subscriptionName":"air","description":"Air quality near the tower",
  "entities":[{"id":"urn:ngsi-ld:Building:1","type":"Building"},
              {"idPattern":"^urn:ngsi-ld:Building:[0-9]+$","type":"(Building;Vehicle),Vehicle"}],
  "watchedAttributes":["airQualityLevel","name"],
  "notificationTrigger":["entityCreated","attributeUpdated"],
  "q":"airQualityLevel>2;name==\"Eiffel Tower\"|name~=\"^Tour.*\"",
  "geoQ":{"geometry":"Point","coordinates":[2.29,48.85],"georel":"near;maxDistance==2000"},
  "scopeQ":"/Paris/#","csf":"p==1","localOnly":true,"lang":"fr","isActive":false,
  "expiresAt":"2030-08-01T22:07:00Z","throttling":15,
  "datasetId":["urn:ngsi-ld:Dataset:french-name","@none"],
  "jsonldContext":"https://example.org/ctx.jsonld",
  "notification":{"omit":["type","name","locatedAt{name}"],"format":"concise","sysAttrs":true,
    "showChanges":true,"join":"flat","joinLevel":2,
    "endpoint":{"uri":"mqtts://broker:8883/t","accept":"application/geo+json","timeout":500,
      "cooldown":1000,"receiverInfo":[{"key":"k","value":"v"}],
      "notifierInfo":[{"key":"MQTT-Version","value":"mqtt5.0"}]}}})";

class SubscriptionRendererTest : public ::testing::Test {
 protected:
  Subscription parse(std::string_view json) {
    EXPECT_TRUE(parse_json(json, doc_).ok()) << json;
    auto s = parse_subscription(doc_, contexts_.suite(), kNow);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? std::move(*s) : Subscription{};
  }
  std::string render(const Subscription& s, const jsonld::Context& ctx,
                     const SubscriptionState& st = {}, SubscriptionRenderOptions o = {}) {
    std::string out;
    JsonWriter w(out);
    o.now = kNow;
    render_subscription(s, st, ctx, w, o);
    return out;
  }
  // JSON text without the members named.
  static std::string without(std::string_view json, std::initializer_list<const char*> names) {
    JsonDoc d;
    EXPECT_TRUE(parse_json(json, d).ok()) << json;
    for (const char* n : names)
      d.RemoveMember(n);
    return json_text(d);
  }

  testing::Contexts contexts_;
  JsonDoc doc_;
};

TEST_F(SubscriptionRendererTest, SuiteExpectationOfCreate) {
  // data/subscriptions/subscription.jsonld and expectations/subscription-028-01.jsonld.
  Subscription s = parse(R"({"id":"urn:ngsi-ld:Subscription:randomUUID","type":"Subscription",
    "timeInterval":5,"entities":[{"type":"Building"}],"notification":{"format":"keyValues",
    "endpoint":{"uri":"http://localhost:1111/notify","accept":"application/json"}}})");
  EXPECT_EQ(render(s, contexts_.suite()),
            R"({"id":"urn:ngsi-ld:Subscription:randomUUID","type":"Subscription",)"
            R"("entities":[{"type":"Building"}],)"
            R"("notificationTrigger":["attributeCreated","attributeUpdated"],)"
            R"("timeInterval":5,"notification":)"
            R"({"format":"keyValues","endpoint":{"uri":"http://localhost:1111/notify",)"
            R"("accept":"application/json"}},"status":"active"})");
}

TEST_F(SubscriptionRendererTest, NamesCompactWithTheReadersContext) {
  // 029_05_02: read without the suite context, the type comes back expanded.
  Subscription s = parse(R"({"type":"Subscription","entities":[{"type":"Vehicle"}],
    "notification":{"endpoint":{"uri":"http://h/n"}}})");
  s.id = "urn:x:1";
  std::string out = render(s, contexts_.core());
  EXPECT_NE(out.find(R"("type":"https://ngsi-ld-test-suite/context#Vehicle")"), std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("notificationTrigger":["attributeCreated","attributeUpdated"])"),
            std::string::npos)
      << out;
}

TEST_F(SubscriptionRendererTest, RenderGivesBackEveryMemberGiven) {
  Subscription s = parse(kFull);
  std::string out = render(s, contexts_.suite());
  // What the payload gave comes back as given, plus the status the system adds.
  JsonDoc got, want;
  ASSERT_TRUE(parse_json(out, got).ok()) << out;
  ASSERT_TRUE(parse_json(kFull, want).ok());
  EXPECT_EQ(std::string(got["status"].GetString()), "paused");
  got.RemoveMember("status");
  EXPECT_EQ(json_text(got), json_text(want));
}

TEST_F(SubscriptionRendererTest, StatusStatisticsAndSystemTimes) {
  Subscription s = parse(R"({"type":"Subscription","entities":[{"type":"Building"}],
    "expiresAt":"2026-06-01T00:00:00Z","notification":{"endpoint":{"uri":"http://h/n"}}})");
  s.id = "urn:x:1";
  s.created_at = kNow - 1000000;
  s.modified_at = kNow;
  SubscriptionState st;
  st.times_sent = 3;
  st.times_failed = 1;
  st.last_notification = st.last_failure = kNow;
  st.last_success = kNow - 5000000;
  SubscriptionRenderOptions o;
  o.sys_attrs = true;
  o.with_context = true;
  std::string out = render(s, contexts_.suite(), st, o);
  for (const char* part :
       {R"("status":"failed","timesSent":3,"timesFailed":1,)",
        R"("lastNotification":"2026-01-01T00:00:00Z","lastFailure":"2026-01-01T00:00:00Z",)",
        R"("lastSuccess":"2025-12-31T23:59:55Z")", R"("status":"active")",
        R"("createdAt":"2025-12-31T23:59:59Z","modifiedAt":"2026-01-01T00:00:00Z")",
        R"("@context":)"}) {
    EXPECT_NE(out.find(part), std::string::npos) << part << " in " << out;
  }
  // Without sysAttrs, no createdAt; past expiresAt, expired.
  std::string plain;
  JsonWriter w(plain);
  SubscriptionRenderOptions later;
  later.now = *parse_datetime("2026-07-01T00:00:00Z");
  render_subscription(s, {}, contexts_.suite(), w, later);
  EXPECT_EQ(plain.find("createdAt"), std::string::npos);
  EXPECT_EQ(plain.find("timesSent"), std::string::npos);
  EXPECT_NE(plain.find(R"("status":"expired")"), std::string::npos) << plain;
}

TEST_F(SubscriptionRendererTest, StoredFormRoundTripsExactly) {
  Subscription s = parse(kFull);
  s.created_at = kNow - 1;
  s.modified_at = kNow;
  SubscriptionState st{7, 2, kNow, kNow - 10, kNow - 20};
  std::string stored = encode_subscription(s, st);
  auto back = decode_subscription(stored);
  ASSERT_TRUE(back.ok()) << back.status().detail();
  // Same stored text, same rendering with any @context, same state.
  EXPECT_EQ(encode_subscription(back->subscription, back->state), stored);
  EXPECT_EQ(render(back->subscription, contexts_.suite(), back->state),
            render(s, contexts_.suite(), st));
  EXPECT_EQ(render(back->subscription, contexts_.core()), render(s, contexts_.core()));
  EXPECT_EQ(back->state.times_sent, 7u);
  EXPECT_EQ(back->state.last_failure, kNow - 20);
  EXPECT_EQ(back->subscription.request_context, s.request_context);
  // The decoded q still evaluates: its names are the expanded ones.
  ASSERT_TRUE(back->subscription.q.has_value());
  EXPECT_EQ(back->subscription.q->children.size(), 2u);
}

TEST_F(SubscriptionRendererTest, RegistrationSubscriptionsRoundTripAndShowNoTrigger) {
  JsonDoc d;
  ASSERT_TRUE(parse_json(R"({"id":"urn:ngsi-ld:Subscription:c","type":"Subscription",
      "entities":[{"type":"Building"}],"csf":"name==\"x\"",
      "temporalQ":{"timerel":"between","timeAt":"2020-06-01T22:07:00Z",
                   "endTimeAt":"2021-06-01T22:07:00Z","timeproperty":"observedAt"},
      "notification":{"endpoint":{"uri":"http://localhost:1111/notify"}}})",
                         d)
                  .ok());
  auto s = parse_subscription(d, contexts_.suite(), kNow, SubscriptionKind::kCsource);
  ASSERT_TRUE(s.ok()) << s.status().detail();
  std::string shown = render(*s, contexts_.suite());
  EXPECT_EQ(shown.find("notificationTrigger"), std::string::npos) << shown;
  EXPECT_NE(shown.find(R"("temporalQ":{"timerel":"between")"), std::string::npos) << shown;
  std::string stored = encode_subscription(*s, {});
  auto back = decode_subscription(stored);
  ASSERT_TRUE(back.ok()) << back.status().detail();
  EXPECT_EQ(back->subscription.kind, SubscriptionKind::kCsource);
  EXPECT_EQ(encode_subscription(back->subscription, back->state), stored);
  EXPECT_EQ(render(back->subscription, contexts_.suite()), shown);
  ASSERT_TRUE(back->subscription.temporal_q.has_value());
  EXPECT_EQ(back->subscription.temporal_q->end_at, s->temporal_q->end_at);
  ASSERT_TRUE(back->subscription.csf_q.has_value());
  EXPECT_EQ(back->subscription.csf_q->term->path.names, s->csf_q->term->path.names);
}

TEST_F(SubscriptionRendererTest, DamagedStoredFormIsAnInternalError) {
  for (std::string_view bad : {"", "[]", R"({"v":2,"id":"urn:x"})", R"({"v":1})",
                               R"({"v":1,"id":"urn:x","notification":{}})"}) {
    auto r = decode_subscription(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().kind(), ErrorKind::kInternalError) << bad;
  }
}

TEST(SubscriptionIdTest, FreshIdsAreUrisAndDiffer) {
  std::string a = make_subscription_id(), b = make_subscription_id();
  EXPECT_EQ(a.rfind("urn:ngsi-ld:Subscription:", 0), 0u);
  EXPECT_EQ(a.size(), 25u + 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace tsunagu::ngsild::subscription
