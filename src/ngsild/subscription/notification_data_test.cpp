// NotificationParams into the renderer's options (format, projection, linked entity
// projections, join), and the deleted instances a change notification puts back.
#include "ngsild/subscription/notification_data.hpp"

#include <gtest/gtest.h>

#include "ngsild/parse/entity_parser.hpp"
#include "ngsild/subscription/subscription_parser.hpp"
#include "ngsild/subscription/test_contexts.hpp"

namespace tsunagu::ngsild::subscription {
namespace {

constexpr int64_t kNow = 1767225600000000;  // 2026-01-01T00:00:00Z

class NotificationDataTest : public ::testing::Test {
 protected:
  // A subscription to Buildings whose NotificationParams are `notification`.
  Subscription subscription(const std::string& notification) {
    std::string json = R"({"type":"Subscription","entities":[{"type":"Building"}],)"
                       R"("notification":)" +
                       notification + "}";
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok()) << json;
    auto s = parse_subscription(doc, contexts_.suite(), kNow);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? std::move(*s) : Subscription{};
  }

  RenderOptions options(const std::string& notification) {
    return notification_render_options(subscription(notification), &contexts_.suite());
  }

  Entity entity(const char* json) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok()) << json;
    auto in = parse_entity(doc, contexts_.suite(), ParseOptions{ParseMode::kEntity, true, true});
    EXPECT_TRUE(in.ok()) << in.status().detail();
    Entity e;
    if (!in.ok()) return e;
    e.id = *in->id;
    e.types = in->types;
    e.attrs = std::move(in->attrs);
    return e;
  }

  Atom name(std::string_view term) const { return contexts_.suite().expand(term); }

  testing::Contexts contexts_;
};

TEST_F(NotificationDataTest, DefaultsAreTheNormalizedWholeEntityWithoutJoin) {
  RenderOptions o = options(R"({"endpoint":{"uri":"http://h/n"}})");
  EXPECT_EQ(o.ctx, &contexts_.suite());
  EXPECT_EQ(o.format, Format::kNormalized);
  EXPECT_FALSE(o.sys_attrs);
  EXPECT_FALSE(o.projection.pick);
  EXPECT_EQ(o.join, Join::kNone);
  EXPECT_EQ(o.previous, nullptr);
}

TEST_F(NotificationDataTest, FormatSysAttrsAndAttributes) {
  RenderOptions o = options(
      R"({"endpoint":{"uri":"http://h/n"},"format":"concise","sysAttrs":true,"attributes":["name"]})");
  EXPECT_EQ(o.format, Format::kConcise);
  EXPECT_TRUE(o.sys_attrs);
  EXPECT_TRUE(o.projection.keeps(name("name")));
  EXPECT_FALSE(o.projection.keeps(name("airQualityLevel")));
  EXPECT_TRUE(o.projection.keeps_id() && o.projection.keeps_type());
}

TEST_F(NotificationDataTest, JoinAndJoinLevel) {
  EXPECT_EQ(options(R"({"endpoint":{"uri":"http://h/n"},"join":"@none"})").join, Join::kNone);
  RenderOptions flat = options(R"({"endpoint":{"uri":"http://h/n"},"join":"flat"})");
  EXPECT_EQ(flat.join, Join::kFlat);
  EXPECT_EQ(flat.join_level, 1);  // §5.2.14: joinLevel defaults to 1
  RenderOptions deep =
      options(R"({"endpoint":{"uri":"http://h/n"},"join":"inline","joinLevel":2})");
  EXPECT_EQ(deep.join, Join::kInline);
  EXPECT_EQ(deep.join_level, 2);
}

// pick and omit reach linked entities as the pick and omit parameters of a query do.
TEST_F(NotificationDataTest, LinkedEntityProjections) {
  // Projections name only attributes some entity holds (Context::lookup): these are stored.
  for (std::string_view held : {"locatedAt", "name", "airQualityLevel"})
    name(held);
  RenderOptions o = options(
      R"({"endpoint":{"uri":"http://h/n"},"join":"inline","pick":["id","locatedAt{name}"]})");
  EXPECT_TRUE(o.projection.keeps_id());
  EXPECT_FALSE(o.projection.keeps_type());
  EXPECT_TRUE(o.projection.keeps(name("locatedAt")));
  EXPECT_FALSE(o.projection.keeps(name("name")));
  const Projection* linked = o.projection.linked_for(name("locatedAt"));
  ASSERT_NE(linked, nullptr);
  EXPECT_TRUE(linked->keeps(name("name")));
  EXPECT_FALSE(linked->keeps(name("airQualityLevel")));

  RenderOptions omit =
      options(R"({"endpoint":{"uri":"http://h/n"},"join":"flat","omit":["locatedAt{name}"]})");
  EXPECT_TRUE(omit.projection.keeps(name("locatedAt")));  // omitted within the linked only
  ASSERT_NE(omit.projection.linked_for(name("locatedAt")), nullptr);
  EXPECT_FALSE(omit.projection.linked_for(name("locatedAt"))->keeps(name("name")));
}

TEST_F(NotificationDataTest, ShowsChanges) {
  EXPECT_FALSE(shows_changes(subscription(R"({"endpoint":{"uri":"http://h/n"}})")));
  EXPECT_TRUE(
      shows_changes(subscription(R"({"endpoint":{"uri":"http://h/n"},"showChanges":true})")));
}

TEST_F(NotificationDataTest, NothingDeletedLeavesTheEntityAsItIs) {
  Entity before = entity(R"({"id":"urn:a:1","type":"Building",
    "name":{"type":"Property","value":"a"}})");
  Entity after = entity(R"({"id":"urn:a:1","type":"Building",
    "name":{"type":"Property","value":"b"}})");
  EXPECT_FALSE(with_deleted_attributes(before, after, {name("name")}).has_value());
}

// Each deleted instance of a named attribute comes back beside the remaining instances of its
// name; deleted attributes the change did not fire for stay out.
TEST_F(NotificationDataTest, DeletedInstancesComeBackAsNull) {
  Entity before = entity(R"({"id":"urn:a:1","type":"Building",
    "name":[{"type":"Property","value":"a"},
            {"type":"Property","value":"b","datasetId":"urn:ds:1"},
            {"type":"Property","value":"c","datasetId":"urn:ds:2"}],
    "street":{"type":"LanguageProperty","languageMap":{"fr":"rue"}},
    "other":{"type":"Property","value":1},
    "last":{"type":"Property","value":2}})");
  Entity after = entity(R"({"id":"urn:a:1","type":"Building",
    "name":{"type":"Property","value":"b","datasetId":"urn:ds:1"},
    "last":{"type":"Property","value":2}})");
  auto shown = with_deleted_attributes(before, after, {name("name"), name("street")});
  ASSERT_TRUE(shown.has_value());
  std::vector<std::pair<Atom, std::string>> got;
  for (const Attribute& a : shown->attrs)
    got.push_back({a.name, std::string(a.dataset_id.str()) + "=" + a.value.to_json()});
  std::vector<std::pair<Atom, std::string>> want = {
      {name("name"), "urn:ds:1=\"b\""},
      {name("name"), "=\"urn:ngsi-ld:null\""},
      {name("name"), "urn:ds:2=\"urn:ngsi-ld:null\""},
      {name("last"), "=2"},
      {name("street"), R"(={"@none":"urn:ngsi-ld:null"})"},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(shown->find(name("street"))->kind, AttrKind::kLanguageProperty);
}

}  // namespace
}  // namespace tsunagu::ngsild::subscription
