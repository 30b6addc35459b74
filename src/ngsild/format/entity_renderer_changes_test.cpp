// showChanges (ETSI GS CIM 009 §5.2.14): the previous payload each changed attribute instance
// carries in a notification, per kind and per datasetId, in the normalized and concise forms;
// deleted instances (§5.2.1) and deleted entities (§5.11) as notifications show them.
#include <gtest/gtest.h>

#include "common/time.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::ngsild {
namespace {

::testing::AssertionResult JsonEq(const std::string& actual, const std::string& expected) {
  JsonDoc a, e;
  if (!parse_json(actual, a).ok()) return ::testing::AssertionFailure() << "not JSON: " << actual;
  if (!parse_json(expected, e).ok()) {
    return ::testing::AssertionFailure() << "expected is not JSON: " << expected;
  }
  if (a == e) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\n  actual:   " << actual << "\n  expected: " << expected;
}

std::string deleted(const Entity& e, int64_t at, const RenderOptions& o) {
  std::string out;
  JsonWriter w(out);
  render_deleted_entity(e, at, o, w);
  return out;
}

class PreviousValuesTest : public ::testing::Test {
 protected:
  PreviousValuesTest() : cache_(nullptr, {}) {}

  // An entity as a client would send it in the normalized form, read with the core context.
  std::shared_ptr<Entity> entity(const char* json) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok()) << json;
    auto in = parse_entity(doc, *cache_.core(), ParseOptions{ParseMode::kEntity, true, true});
    EXPECT_TRUE(in.ok()) << in.status().detail();
    auto e = std::make_shared<Entity>();
    if (!in.ok()) return e;
    e->id = *in->id;
    e->types = in->types;
    e->attrs = std::move(in->attrs);
    return e;
  }

  RenderOptions opts(const Entity* previous, Format f = Format::kNormalized) {
    RenderOptions o;
    o.ctx = cache_.core().get();
    o.format = f;
    o.previous = previous;
    return o;
  }

  Atom expand(std::string_view term) const { return cache_.core()->expand(term); }

  jsonld::ContextCache cache_;
};

// One entity holding every kind, before and after a change of each attribute.
constexpr const char* kBefore = R"({"id": "urn:ngsi-ld:Building:1", "type": "Building",
  "name": {"type": "Property", "value": "Eiffel Tower"},
  "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:Paris"},
  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.29, 48.85]}},
  "street": {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}},
  "category": {"type": "VocabProperty", "vocab": "monument"},
  "config": {"type": "JsonProperty", "json": {"id": "x", "null": null}},
  "readings": {"type": "ListProperty", "valueList": [1, 2]},
  "route": {"type": "ListRelationship", "objectList": [{"object": "urn:a:1"}]}})";

constexpr const char* kAfter = R"({"id": "urn:ngsi-ld:Building:1", "type": "Building",
  "name": {"type": "Property", "value": "Tour Eiffel"},
  "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:Nantes"},
  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [13.4, 52.5]}},
  "street": {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "es": "Gran Lugar"}},
  "category": {"type": "VocabProperty", "vocab": "museum"},
  "config": {"type": "JsonProperty", "json": {"city": "Nantes"}},
  "readings": {"type": "ListProperty", "valueList": [3]},
  "route": {"type": "ListRelationship", "objectList": [{"object": "urn:a:2"}]}})";

TEST_F(PreviousValuesTest, EveryKindCarriesItsPreviousPayload) {
  auto before = entity(kBefore), after = entity(kAfter);
  EXPECT_TRUE(JsonEq(render_entity(*after, opts(before.get())), R"({
    "id": "urn:ngsi-ld:Building:1", "type": "Building",
    "name": {"type": "Property", "value": "Tour Eiffel", "previousValue": "Eiffel Tower"},
    "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:Nantes",
                  "previousObject": "urn:ngsi-ld:City:Paris"},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [13.4, 52.5]},
                 "previousValue": {"type": "Point", "coordinates": [2.29, 48.85]}},
    "street": {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "es": "Gran Lugar"},
               "previousLanguageMap": {"fr": "Grand Place", "nl": "Grote Markt"}},
    "category": {"type": "VocabProperty", "vocab": "museum", "previousVocab": "monument"},
    "config": {"type": "JsonProperty", "json": {"city": "Nantes"},
               "previousJson": {"id": "x", "null": null}},
    "readings": {"type": "ListProperty", "valueList": [3], "previousValueList": [1, 2]},
    "route": {"type": "ListRelationship", "objectList": [{"object": "urn:a:2"}],
              "previousObjectList": [{"object": "urn:a:1"}]}
  })"));
}

TEST_F(PreviousValuesTest, OnlyChangedInstancesCarryOne) {
  auto before = entity(R"({"id": "urn:a:1", "type": "T",
    "kept": {"type": "Property", "value": 1},
    "changed": {"type": "Property", "value": 1}})");
  auto after = entity(R"({"id": "urn:a:1", "type": "T",
    "kept": {"type": "Property", "value": 1},
    "changed": {"type": "Property", "value": 2},
    "created": {"type": "Property", "value": 3}})");
  EXPECT_TRUE(JsonEq(render_entity(*after, opts(before.get())), R"({
    "id": "urn:a:1", "type": "T",
    "kept": {"type": "Property", "value": 1},
    "changed": {"type": "Property", "value": 2, "previousValue": 1},
    "created": {"type": "Property", "value": 3}})"));
  // Without a previous entity (showChanges false, or a creation), none at all.
  EXPECT_EQ(render_entity(*after, opts(nullptr)).find("previous"), std::string::npos);
}

// A change of metadata alone changes the instance (§5.11): the value it had is shown too.
TEST_F(PreviousValuesTest, AChangeOfMetadataShowsTheSameValue) {
  auto before = entity(R"({"id": "urn:a:1", "type": "T",
    "speed": {"type": "Property", "value": 5, "observedAt": "2026-01-01T00:00:00Z"}})");
  auto after = entity(R"({"id": "urn:a:1", "type": "T",
    "speed": {"type": "Property", "value": 5, "observedAt": "2026-01-01T00:01:00Z"}})");
  EXPECT_TRUE(JsonEq(render_entity(*after, opts(before.get())), R"({"id": "urn:a:1", "type": "T",
    "speed": {"type": "Property", "value": 5, "previousValue": 5,
              "observedAt": "2026-01-01T00:01:00Z"}})"));
}

TEST_F(PreviousValuesTest, EachDatasetIdInstanceAgainstItsOwn) {
  auto before = entity(R"({"id": "urn:a:1", "type": "T", "speed": [
    {"type": "Property", "value": 50},
    {"type": "Property", "value": 54, "datasetId": "urn:ds:gps"},
    {"type": "Property", "value": 49, "datasetId": "urn:ds:radar"}]})");
  auto after = entity(R"({"id": "urn:a:1", "type": "T", "speed": [
    {"type": "Property", "value": 50},
    {"type": "Property", "value": 60, "datasetId": "urn:ds:gps"},
    {"type": "Property", "value": 49, "datasetId": "urn:ds:radar"},
    {"type": "Property", "value": 70, "datasetId": "urn:ds:new"}]})");
  EXPECT_TRUE(JsonEq(render_entity(*after, opts(before.get())), R"({
    "id": "urn:a:1", "type": "T", "speed": [
      {"type": "Property", "value": 50},
      {"type": "Property", "value": 60, "datasetId": "urn:ds:gps", "previousValue": 54},
      {"type": "Property", "value": 49, "datasetId": "urn:ds:radar"},
      {"type": "Property", "value": 70, "datasetId": "urn:ds:new"}]})"));
}

// Concise drops "type" but never writes a changed attribute as its bare value: the previous
// payload needs the object form.
TEST_F(PreviousValuesTest, Concise) {
  auto before = entity(kBefore), after = entity(kAfter);
  EXPECT_TRUE(JsonEq(render_entity(*after, opts(before.get(), Format::kConcise)), R"({
    "id": "urn:ngsi-ld:Building:1", "type": "Building",
    "name": {"value": "Tour Eiffel", "previousValue": "Eiffel Tower"},
    "locatedAt": {"object": "urn:ngsi-ld:City:Nantes", "previousObject": "urn:ngsi-ld:City:Paris"},
    "location": {"value": {"type": "Point", "coordinates": [13.4, 52.5]},
                 "previousValue": {"type": "Point", "coordinates": [2.29, 48.85]}},
    "street": {"languageMap": {"fr": "Grand Place", "es": "Gran Lugar"},
               "previousLanguageMap": {"fr": "Grand Place", "nl": "Grote Markt"}},
    "category": {"vocab": "museum", "previousVocab": "monument"},
    "config": {"json": {"city": "Nantes"}, "previousJson": {"id": "x", "null": null}},
    "readings": {"valueList": [3], "previousValueList": [1, 2]},
    "route": {"objectList": [{"object": "urn:a:2"}], "previousObjectList": [{"object": "urn:a:1"}]}
  })"));
  // What did not change stays bare.
  auto same = entity(kBefore);
  EXPECT_TRUE(JsonEq(render_entity(*same, opts(before.get(), Format::kConcise)), R"({
    "id": "urn:ngsi-ld:Building:1", "type": "Building", "name": "Eiffel Tower",
    "locatedAt": {"object": "urn:ngsi-ld:City:Paris"},
    "location": {"type": "Point", "coordinates": [2.29, 48.85]},
    "street": {"languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}},
    "category": {"vocab": "monument"}, "config": {"json": {"id": "x", "null": null}},
    "readings": {"valueList": [1, 2]}, "route": {"objectList": [{"object": "urn:a:1"}]}})"));
}

// With lang, a LanguageProperty is shown as the Property of its best value: so is its past.
TEST_F(PreviousValuesTest, LangReducesThePreviousLanguageMapToo) {
  auto before = entity(kBefore), after = entity(kAfter);
  RenderOptions o = opts(before.get());
  o.lang = "nl";
  o.projection.pick = true;
  o.projection.pick_attrs = {expand("street")};
  EXPECT_TRUE(JsonEq(render_entity(*after, o), R"({
    "street": {"type": "Property", "value": "Grand Place", "lang": "fr",
               "previousValue": "Grote Markt"}})"));
}

// A kind changed by a replacement: the previous payload is named after the kind it had.
TEST_F(PreviousValuesTest, APreviousKindNamesItsMember) {
  auto before = entity(R"({"id": "urn:a:1", "type": "T",
    "owner": {"type": "Property", "value": "Bob"}})");
  auto after = entity(R"({"id": "urn:a:1", "type": "T",
    "owner": {"type": "Relationship", "object": "urn:Person:Bob"}})");
  EXPECT_TRUE(JsonEq(render_entity(*after, opts(before.get())), R"({"id": "urn:a:1", "type": "T",
    "owner": {"type": "Relationship", "object": "urn:Person:Bob", "previousValue": "Bob"}})"));
}

TEST_F(PreviousValuesTest, DeletedInstancesShowNullOfTheirKindAndTheirPast) {
  auto before = entity(kBefore);
  Entity shown;
  shown.id = before->id;
  shown.types = before->types;
  for (const Attribute& a : before->attrs)
    shown.attrs.push_back(deleted_instance(a));
  const std::string kDeleted = R"({
    "id": "urn:ngsi-ld:Building:1", "type": "Building",
    "name": {"type": "Property", "value": "urn:ngsi-ld:null", "previousValue": "Eiffel Tower"},
    "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:null",
                  "previousObject": "urn:ngsi-ld:City:Paris"},
    "location": {"type": "GeoProperty", "value": "urn:ngsi-ld:null",
                 "previousValue": {"type": "Point", "coordinates": [2.29, 48.85]}},
    "street": {"type": "LanguageProperty", "languageMap": {"@none": "urn:ngsi-ld:null"},
               "previousLanguageMap": {"fr": "Grand Place", "nl": "Grote Markt"}},
    "category": {"type": "VocabProperty", "vocab": "urn:ngsi-ld:null", "previousVocab": "monument"},
    "config": {"type": "JsonProperty", "json": "urn:ngsi-ld:null",
               "previousJson": {"id": "x", "null": null}},
    "readings": {"type": "ListProperty", "valueList": ["urn:ngsi-ld:null"],
                 "previousValueList": [1, 2]},
    "route": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:null"}],
              "previousObjectList": [{"object": "urn:a:1"}]}})";
  EXPECT_TRUE(JsonEq(render_entity(shown, opts(before.get())), kDeleted));

  // A deleted entity: id, type and deletedAt; with showChanges every attribute, deleted.
  const int64_t at = *parse_datetime("2026-05-01T10:00:00Z");
  EXPECT_TRUE(JsonEq(deleted(*before, at, opts(nullptr)),
                     R"({"id": "urn:ngsi-ld:Building:1", "type": "Building",
                         "deletedAt": "2026-05-01T10:00:00Z"})"));
  JsonDoc expected;
  ASSERT_TRUE(parse_json(kDeleted, expected).ok());
  expected.AddMember("deletedAt", "2026-05-01T10:00:00Z", expected.GetAllocator());
  EXPECT_TRUE(JsonEq(deleted(*before, at, opts(before.get())), json_text(expected)));
  // sysAttrs: the entity's own times beside deletedAt, not its attributes' (none are shown).
  before->created_at = *parse_datetime("2026-01-01T00:00:00Z");
  before->modified_at = *parse_datetime("2026-02-01T00:00:00Z");
  RenderOptions sys = opts(nullptr);
  sys.sys_attrs = true;
  EXPECT_TRUE(JsonEq(deleted(*before, at, sys), R"({"id": "urn:ngsi-ld:Building:1",
    "type": "Building", "createdAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-02-01T00:00:00Z",
    "deletedAt": "2026-05-01T10:00:00Z"})"));
  // The projection applies to the deleted entity's attributes as to any entity's.
  RenderOptions o = opts(before.get());
  o.projection.pick = o.projection.pick_id = o.projection.pick_type = true;
  o.projection.pick_attrs = {expand("name")};
  EXPECT_TRUE(JsonEq(deleted(*before, at, o), R"({
    "id": "urn:ngsi-ld:Building:1", "type": "Building", "deletedAt": "2026-05-01T10:00:00Z",
    "name": {"type": "Property", "value": "urn:ngsi-ld:null", "previousValue": "Eiffel Tower"}})"));
}

// Previous values belong to the notified entity: a linked entity written inline holds an
// attribute of the same name that differs, and carries no previous value.
TEST_F(PreviousValuesTest, LinkedEntitiesCarryNone) {
  auto before = entity(R"({"id": "urn:a:1", "type": "T",
    "name": {"type": "Property", "value": "old"},
    "rel": {"type": "Relationship", "object": "urn:b:1"}})");
  auto after = entity(R"({"id": "urn:a:1", "type": "T",
    "name": {"type": "Property", "value": "new"},
    "rel": {"type": "Relationship", "object": "urn:b:1"}})");
  std::shared_ptr<const Entity> linked =
      entity(R"({"id": "urn:b:1", "type": "U", "name": {"type": "Property", "value": "other"}})");
  RenderOptions o = opts(before.get());
  o.join = Join::kInline;
  o.lookup = [&](std::string_view id) {
    return id == linked->id ? linked : std::shared_ptr<const Entity>();
  };
  o.join_budget = std::make_shared<JoinBudget>();
  EXPECT_TRUE(JsonEq(render_entity(*after, o), R"({"id": "urn:a:1", "type": "T",
    "name": {"type": "Property", "value": "new", "previousValue": "old"},
    "rel": {"type": "Relationship", "object": "urn:b:1",
            "entity": {"id": "urn:b:1", "type": "U",
                       "name": {"type": "Property", "value": "other"}}}})"));
}

}  // namespace
}  // namespace tsunagu::ngsild
