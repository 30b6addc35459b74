// GCC 12 inlines Value's destructor into these tests and misreads a scalar Value's union as a
// heap pointer (-Wfree-nonheap-object false positive; Value frees only string and JSON texts).
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

#include "engine/entity_ops.hpp"

#include <gtest/gtest.h>

#include "ngsild/model/test_atoms.hpp"
#include "store/codec/entity_codec.hpp"

namespace tsunagu::ngsild {
// Lets GoogleTest print a Value as its JSON text and an AttrKind by name.
inline void PrintTo(const Value& v, std::ostream* os) {
  *os << v.to_json();
}
inline void PrintTo(AttrKind k, std::ostream* os) {
  *os << kind_name(k);
}
}  // namespace tsunagu::ngsild

namespace tsunagu::engine {
namespace {

using ngsild::AttrKind;
using ngsild::ParseMode;
using ngsild::Value;

using ngsild::test_atoms::D;

constexpr int64_t kT0 = 1767225600000000;  // 2026-01-01T00:00:00Z, when the entity was made
constexpr int64_t kT1 = kT0 + 3600000000;  // an hour later: the operation under test
constexpr int64_t kObs = kT0 - 60000000;   // an observation time

class EntityOpsTest : public ::testing::Test {
 protected:
  EntityOpsTest() : cache_(nullptr, {}) {}

  EntityInput input(std::string_view json, ParseMode mode, bool need_id_and_type = false) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok()) << json;
    auto r = ngsild::parse_entity(doc, *cache_.core(),
                                  ngsild::ParseOptions{mode, need_id_and_type, need_id_and_type});
    EXPECT_TRUE(r.ok()) << json << ": " << r.status().detail();
    return r.ok() ? std::move(r).value() : EntityInput{};
  }

  std::vector<Attribute> fragment(std::string_view json, Atom name, ParseMode mode) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok()) << json;
    auto r = ngsild::parse_attribute_fragment(doc, name, *cache_.core(), mode);
    EXPECT_TRUE(r.ok()) << json << ": " << r.status().detail();
    return r.ok() ? std::move(r).value() : std::vector<Attribute>{};
  }

  // A created entity: speed (observedAt, unitCode, sub-attribute accuracy), owner
  // (Relationship), temp with two instances (default and urn:ds:b), plain "note".
  Entity existing() {
    return create_entity(input(R"({
      "id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle", "scope": "/Tokyo",
      "speed": {"type": "Property", "value": 50, "unitCode": "KMH",
                "observedAt": "2025-12-31T23:59:00Z", "accuracy": {"value": 0.5}},
      "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Bob"},
      "temp": [{"value": 20}, {"value": 21, "datasetId": "urn:ds:b"}],
      "note": "hello"
    })",
                               ParseMode::kEntity, true),
                         kT0);
  }

  // The entity's stored document must read back (the loader refuses what does not).
  void expect_storable(const Entity& e) {
    const std::string doc = store::encode_entity(e);
    auto r = store::decode_entity(doc);
    EXPECT_TRUE(r.ok()) << "the stored document does not read back: " << r.status().detail() << "\n"
                        << doc;
  }

  ngsild::jsonld::ContextCache cache_;
};

// JSON texts equal as values (object member order is not significant, RFC 8259 §4).
::testing::AssertionResult same_json(std::string_view actual, std::string_view expected) {
  JsonDoc a, e;
  if (!parse_json(actual, a).ok() || !parse_json(expected, e).ok() || !(a == e)) {
    return ::testing::AssertionFailure() << actual << " is not " << expected;
  }
  return ::testing::AssertionSuccess();
}

void expect_stamped(const Attribute& a, int64_t created, int64_t modified) {
  EXPECT_EQ(a.created_at, created) << a.name.str();
  EXPECT_EQ(a.modified_at, modified) << a.name.str();
  EXPECT_EQ(a.flags, 0) << a.name.str();
}

// ---------------------------------------------------------------------------------------------
// 5.6.1 Create

TEST_F(EntityOpsTest, CreateStampsEverything) {
  Entity e = existing();
  EXPECT_EQ(e.id, "urn:ngsi-ld:Vehicle:A1");
  EXPECT_EQ(e.types, std::vector<Atom>{D("Vehicle")});
  EXPECT_EQ(e.scopes, std::vector<std::string>{"/Tokyo"});
  EXPECT_EQ(e.created_at, kT0);
  EXPECT_EQ(e.modified_at, kT0);
  ASSERT_EQ(e.attrs.size(), 5u);
  for (const auto& a : e.attrs) {
    expect_stamped(a, kT0, kT0);
    for (const auto& s : a.subs)
      expect_stamped(s, kT0, kT0);
  }
  EXPECT_EQ(e.find(D("speed"))->observed_at, kObs);
  EXPECT_EQ(e.find(D("speed"))->subs.size(), 1u);
  expect_storable(e);
}

// ---------------------------------------------------------------------------------------------
// 5.6.18 Replace Entity

TEST_F(EntityOpsTest, ReplaceKeepsTheEntityCreatedAt) {
  Entity cur = existing();
  Entity e = replace_entity(
      cur, input(R"({"type": "Car", "brand": "Mercedes"})", ParseMode::kEntity), kT1);
  EXPECT_EQ(e.id, cur.id);
  EXPECT_EQ(e.types, std::vector<Atom>{D("Car")});
  EXPECT_EQ(e.created_at, kT0);
  EXPECT_EQ(e.modified_at, kT1);
  EXPECT_TRUE(e.scopes.empty());  // not given: replaced by nothing
  ASSERT_EQ(e.attrs.size(), 1u);
  EXPECT_EQ(e.attrs[0].name, D("brand"));
  expect_stamped(e.attrs[0], kT1, kT1);
  EXPECT_EQ(e.find(D("speed")), nullptr);
}

TEST_F(EntityOpsTest, ReplaceWithoutTypeKeepsTheTypes) {
  Entity cur = existing();
  Entity e = replace_entity(
      cur, input(R"({"brand": "Mercedes", "scope": "/Osaka"})", ParseMode::kEntity), kT1);
  EXPECT_EQ(e.types, cur.types);
  EXPECT_EQ(e.scopes, std::vector<std::string>{"/Osaka"});
}

// ---------------------------------------------------------------------------------------------
// 5.6.3 Append

TEST_F(EntityOpsTest, AppendAddsAndOverwrites) {
  Entity e = existing();
  UpdateOutcome out;
  append_attributes(e,
                    input(R"({"type": "Car", "speed": {"value": 60}, "brand": "Mercedes"})",
                          ParseMode::kFragment),
                    false, kT1, out);
  EXPECT_EQ(out.updated, (std::vector<Atom>{D("speed"), D("brand")}));
  EXPECT_TRUE(out.not_updated.empty());
  EXPECT_EQ(e.types, (std::vector<Atom>{D("Vehicle"), D("Car")}));
  EXPECT_EQ(e.modified_at, kT1);
  EXPECT_EQ(e.created_at, kT0);
  const Attribute* speed = e.find(D("speed"));
  ASSERT_NE(speed, nullptr);
  EXPECT_EQ(speed->value, Value::integer(60));
  EXPECT_TRUE(speed->unit_code.empty());  // replaced as a whole
  EXPECT_TRUE(speed->subs.empty());
  EXPECT_EQ(speed->observed_at, kNoTime);
  expect_stamped(*speed, kT0, kT1);  // the attribute keeps its createdAt
  expect_stamped(*e.find(D("brand")), kT1, kT1);
  EXPECT_EQ(e.attrs.size(), 6u);
  expect_storable(e);
}

TEST_F(EntityOpsTest, AppendNoOverwrite) {
  Entity e = existing();
  UpdateOutcome out;
  append_attributes(e,
                    input(R"({"speed": {"value": 60}, "brand": "Mercedes",
                                 "temp": {"value": 30, "datasetId": "urn:ds:c"}})",
                          ParseMode::kFragment),
                    true, kT1, out);
  EXPECT_EQ(out.updated, (std::vector<Atom>{D("brand"), D("temp")}));
  ASSERT_EQ(out.not_updated.size(), 1u);
  EXPECT_EQ(out.not_updated[0].first, D("speed"));
  EXPECT_FALSE(out.not_updated[0].second.empty());
  EXPECT_EQ(e.find(D("speed"))->value, Value::integer(50));
  expect_stamped(*e.find(D("speed")), kT0, kT0);
  EXPECT_EQ(e.instances(D("temp")).size(), 3u);
  EXPECT_EQ(e.find(D("temp"), Atom::intern("urn:ds:c"))->value, Value::integer(30));
}

TEST_F(EntityOpsTest, AppendDatasetInstanceLeavesTheOthers) {
  Entity e = existing();
  UpdateOutcome out;
  append_attributes(
      e, input(R"({"temp": {"value": 25, "datasetId": "urn:ds:b"}})", ParseMode::kFragment), false,
      kT1, out);
  EXPECT_EQ(e.find(D("temp"))->value, Value::integer(20));
  EXPECT_EQ(e.find(D("temp"), Atom::intern("urn:ds:b"))->value, Value::integer(25));
  EXPECT_EQ(e.instances(D("temp")).size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// 5.6.2 Update Attributes

TEST_F(EntityOpsTest, UpdateReplacesExistingAndReportsMissing) {
  Entity e = existing();
  UpdateOutcome out;
  update_attributes(e,
                    input(R"({"speed": {"value": 70}, "brand": "Mercedes",
                                 "temp": {"value": 1, "datasetId": "urn:ds:zzz"}})",
                          ParseMode::kFragment),
                    kT1, out);
  EXPECT_EQ(out.updated, std::vector<Atom>{D("speed")});
  ASSERT_EQ(out.not_updated.size(), 2u);
  EXPECT_EQ(out.not_updated[0].first, D("brand"));
  EXPECT_EQ(out.not_updated[1].first, D("temp"));
  EXPECT_NE(out.not_updated[1].second.find("datasetId"), std::string::npos);
  EXPECT_EQ(e.find(D("brand")), nullptr);
  EXPECT_EQ(e.find(D("speed"))->value, Value::integer(70));
  expect_stamped(*e.find(D("speed")), kT0, kT1);
  EXPECT_EQ(e.find(D("temp"), Atom::intern("urn:ds:zzz")), nullptr);
  EXPECT_EQ(e.modified_at, kT1);
}

// ---------------------------------------------------------------------------------------------
// 5.6.17 Merge

TEST_F(EntityOpsTest, MergeMemberByMember) {
  Entity e = existing();
  ASSERT_TRUE(
      merge_entity(e, input(R"({"speed": {"value": 55}})", ParseMode::kMerge), kT1, {}).ok());
  const Attribute* s = e.find(D("speed"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value, Value::integer(55));
  EXPECT_EQ(s->unit_code.str(), "KMH");
  EXPECT_EQ(s->observed_at, kObs);
  ASSERT_EQ(s->subs.size(), 1u);
  EXPECT_EQ(s->subs[0].value, Value::number(0.5));
  expect_stamped(*s, kT0, kT1);
  EXPECT_EQ(e.modified_at, kT1);
  EXPECT_EQ(e.attrs.size(), 5u);
  expect_storable(e);
}

TEST_F(EntityOpsTest, MergeConciseValueKeepsTheAttributeType) {
  Entity e = existing();
  ASSERT_TRUE(
      merge_entity(e, input(R"({"owner": "urn:ngsi-ld:Person:Alice"})", ParseMode::kMerge), kT1, {})
          .ok());
  EXPECT_EQ(e.find(D("owner"))->kind, AttrKind::kRelationship);
  EXPECT_EQ(e.find(D("owner"))->value, Value::string("urn:ngsi-ld:Person:Alice"));
}

// Whatever a merge accepts must leave a valid entity (a Relationship's object a URI, a
// LanguageProperty's languageMap an object, ...); otherwise the store holds a document that the
// loader refuses at the next start.
TEST_F(EntityOpsTest, MergeNeverLeavesAnInvalidAttribute) {
  for (const char* patch : {R"({"owner": 5})", R"({"owner": {"value": "not a uri"}})",
                            R"({"owner": {"languageMap": {"en": "x"}}})"}) {
    Entity e = existing();
    Status st = merge_entity(e, input(patch, ParseMode::kMerge), kT1, {});
    if (st.ok()) {
      SCOPED_TRACE(patch);
      expect_storable(e);
    } else {
      EXPECT_EQ(st.kind(), ErrorKind::kBadRequestData) << patch;
    }
  }
}

TEST_F(EntityOpsTest, MergeNullDeletesAttributeSubAttributeObservedAtUnitCode) {
  Entity e = existing();
  ASSERT_TRUE(merge_entity(e,
                           input(R"({"note": "urn:ngsi-ld:null",
      "speed": {"accuracy": "urn:ngsi-ld:null", "observedAt": "urn:ngsi-ld:null",
                "unitCode": "urn:ngsi-ld:null"}})",
                                 ParseMode::kMerge),
                           kT1, {})
                  .ok());
  EXPECT_EQ(e.find(D("note")), nullptr);
  const Attribute* s = e.find(D("speed"));
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->subs.empty());
  EXPECT_EQ(s->observed_at, kNoTime);
  EXPECT_TRUE(s->unit_code.empty());
  EXPECT_EQ(s->value, Value::integer(50));
  expect_storable(e);
}

TEST_F(EntityOpsTest, MergeNullValueDeletesTheAttribute) {
  Entity e = existing();
  ASSERT_TRUE(merge_entity(e,
                           input(R"({"owner": {"object": "urn:ngsi-ld:null"},
                                        "speed": {"accuracy": {"value": "urn:ngsi-ld:null"}}})",
                                 ParseMode::kMerge),
                           kT1, {})
                  .ok());
  EXPECT_EQ(e.find(D("owner")), nullptr);
  EXPECT_TRUE(e.find(D("speed"))->subs.empty());
}

// A null for the default instance leaves the instances with a datasetId (ETSI suite 056_05);
// it deleted all of them.
TEST_F(EntityOpsTest, MergeNullWithoutDatasetIdDeletesTheDefaultInstanceOnly) {
  Entity e = existing();
  ASSERT_TRUE(merge_entity(e,
                           input(R"({"temp": {"value": "urn:ngsi-ld:null"}})", ParseMode::kMerge),
                           kT1, {})
                  .ok());
  ASSERT_EQ(e.instances(D("temp")).size(), 1u);
  EXPECT_EQ(e.instances(D("temp"))[0].dataset_id.str(), "urn:ds:b");
}

TEST_F(EntityOpsTest, MergeNullLanguageMapDeletes) {
  Entity e = create_entity(input(R"({"id": "urn:ngsi-ld:T:1", "type": "T",
                "l": {"type": "LanguageProperty", "languageMap": {"en": "x"}}})",
                                 ParseMode::kEntity, true),
                           kT0);
  ASSERT_TRUE(merge_entity(e,
                           input(R"({"l": {"type": "LanguageProperty",
                                           "languageMap": {"@none": "urn:ngsi-ld:null"}}})",
                                 ParseMode::kMerge),
                           kT1, {})
                  .ok());
  EXPECT_TRUE(e.attrs.empty());
}

TEST_F(EntityOpsTest, MergeNullWithDatasetIdDeletesThatInstance) {
  Entity e = existing();
  ASSERT_TRUE(
      merge_entity(e,
                   input(R"({"temp": {"value": "urn:ngsi-ld:null", "datasetId": "urn:ds:b"}})",
                         ParseMode::kMerge),
                   kT1, {})
          .ok());
  EXPECT_EQ(e.instances(D("temp")).size(), 1u);
  EXPECT_NE(e.find(D("temp")), nullptr);
}

TEST_F(EntityOpsTest, MergeObservedAtParameterOnlyWhereThereWasOne) {
  Entity e = existing();
  const int64_t param = kT1 - 1000;
  ASSERT_TRUE(
      merge_entity(
          e, input(R"({"speed": {"value": 51}, "note": "bye", "brand": "M"})", ParseMode::kMerge),
          kT1, MergeOptions{param, ""})
          .ok());
  EXPECT_EQ(e.find(D("speed"))->observed_at, param);    // had one: replaced
  EXPECT_EQ(e.find(D("note"))->observed_at, kNoTime);   // had none: none added
  EXPECT_EQ(e.find(D("brand"))->observed_at, kNoTime);  // new attribute
  EXPECT_EQ(e.find(D("temp"))->observed_at, kNoTime);   // not in the patch
}

TEST_F(EntityOpsTest, MergeExplicitObservedAtBeatsTheParameter) {
  Entity e = existing();
  ASSERT_TRUE(
      merge_entity(e,
                   input(R"({"speed": {"value": 51, "observedAt": "2026-02-01T00:00:00Z"}})",
                         ParseMode::kMerge),
                   kT1, MergeOptions{kT1 - 1000, ""})
          .ok());
  EXPECT_EQ(e.find(D("speed"))->observed_at, *parse_datetime("2026-02-01T00:00:00Z"));
}

TEST_F(EntityOpsTest, MergeParameterLeavesUntouchedAttributesAlone) {
  Entity e = existing();
  ASSERT_TRUE(merge_entity(e, input(R"({"note": "x"})", ParseMode::kMerge), kT1,
                           MergeOptions{kT1 - 1000, ""})
                  .ok());
  EXPECT_EQ(e.find(D("speed"))->observed_at, kObs);
}

TEST_F(EntityOpsTest, MergeNewAttributeNeedsAValue) {
  Entity e = existing();
  Status st = merge_entity(
      e, input(R"({"brand": {"observedAt": "2026-01-01T00:00:00Z"}})", ParseMode::kMerge), kT1, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kBadRequestData);
  EXPECT_NE(st.detail().find("brand"), std::string::npos) << st.detail();
}

TEST_F(EntityOpsTest, MergeNewSubAttributeNeedsAValue) {
  Entity e = existing();
  Status st = merge_entity(
      e,
      input(R"({"speed": {"source": {"observedAt": "2026-01-01T00:00:00Z"}}})", ParseMode::kMerge),
      kT1, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kBadRequestData);
  EXPECT_NE(st.detail().find("source"), std::string::npos) << st.detail();
  Entity f = existing();
  Status nt = merge_entity(
      f, input(R"({"brand": {"value": "M", "source": {"unitCode": "X"}}})", ParseMode::kMerge), kT1,
      {});
  ASSERT_FALSE(nt.ok());
  EXPECT_EQ(nt.kind(), ErrorKind::kBadRequestData);
}

TEST_F(EntityOpsTest, MergeAddsNewAttributesAndSubAttributes) {
  Entity e = existing();
  ASSERT_TRUE(
      merge_entity(e,
                   input(R"({"brand": {"value": "M", "gone": "urn:ngsi-ld:null", "src": "x"},
                                        "speed": {"source": "GPS", "accuracy": {"value": 0.1}}})",
                         ParseMode::kMerge),
                   kT1, {})
          .ok());
  const Attribute* brand = e.find(D("brand"));
  ASSERT_NE(brand, nullptr);
  expect_stamped(*brand, kT1, kT1);
  ASSERT_EQ(brand->subs.size(), 1u);  // the deletion marker is not kept
  EXPECT_EQ(brand->subs[0].name, D("src"));
  expect_stamped(brand->subs[0], kT1, kT1);
  const Attribute* speed = e.find(D("speed"));
  ASSERT_EQ(speed->subs.size(), 2u);
  EXPECT_EQ(speed->find_sub(D("accuracy"))->value, Value::number(0.1));
  EXPECT_EQ(speed->find_sub(D("accuracy"))->created_at, kT0);
  EXPECT_EQ(speed->find_sub(D("source"))->value, Value::string("GPS"));
  expect_stamped(*speed->find_sub(D("source")), kT1, kT1);
  expect_storable(e);
}

TEST_F(EntityOpsTest, MergeUnitesTypesAndHandlesScope) {
  Entity e = existing();
  ASSERT_TRUE(merge_entity(
                  e, input(R"({"type": ["Car", "Vehicle"], "scope": "/Osaka"})", ParseMode::kMerge),
                  kT1, {})
                  .ok());
  EXPECT_EQ(e.types, (std::vector<Atom>{D("Vehicle"), D("Car")}));
  EXPECT_EQ(e.scopes, std::vector<std::string>{"/Osaka"});
  ASSERT_TRUE(
      merge_entity(e, input(R"({"scope": "urn:ngsi-ld:null"})", ParseMode::kMerge), kT1, {}).ok());
  EXPECT_TRUE(e.scopes.empty());
}

TEST_F(EntityOpsTest, MergeChangingTheTypeNeedsThePayload) {
  Entity e = existing();
  Status st =
      merge_entity(e, input(R"({"note": {"type": "Relationship"}})", ParseMode::kMerge), kT1, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kBadRequestData);
  Entity f = existing();
  ASSERT_TRUE(
      merge_entity(
          f, input(R"({"note": {"type": "Relationship", "object": "urn:a:b"}})", ParseMode::kMerge),
          kT1, {})
          .ok());
  EXPECT_EQ(f.find(D("note"))->kind, AttrKind::kRelationship);
  expect_stamped(*f.find(D("note")), kT0, kT1);
  expect_storable(f);
}

// §5.5.12: a Merge Entity merges JSON object values as RFC 7396 does.
TEST_F(EntityOpsTest, MergePatchesObjectValues) {
  Entity e = create_entity(input(R"({"id": "urn:a:b", "type": "T",
      "address": {"value": {"street": "Main", "city": "Tokyo", "zip": {"code": "100", "ext": "1"}}},
      "list": {"value": [1, 2, 3]}})",
                                 ParseMode::kEntity, true),
                           kT0);
  ASSERT_TRUE(
      merge_entity(e,
                   input(R"({"address": {"value": {"city": "Osaka", "street": "urn:ngsi-ld:null",
                                                               "zip": {"ext": null, "plus": 4}}},
                                        "list": {"value": [9]}})",
                         ParseMode::kMerge),
                   kT1, {})
          .ok());
  EXPECT_TRUE(same_json(e.find(D("address"))->value.text(),
                        R"({"city":"Osaka","zip":{"code":"100","plus":4}})"));
  EXPECT_EQ(e.find(D("list"))->value, Value::json("[9]"));  // arrays are replaced
  expect_storable(e);
}

TEST_F(EntityOpsTest, MergeNewObjectValueDropsNullMembers) {
  Entity e = existing();
  ASSERT_TRUE(
      merge_entity(e,
                   input(R"({"address": {"value": {"city": "Osaka", "zip": "urn:ngsi-ld:null"}}})",
                         ParseMode::kMerge),
                   kT1, {})
          .ok());
  EXPECT_TRUE(same_json(e.find(D("address"))->value.text(), R"({"city":"Osaka"})"));
}

TEST_F(EntityOpsTest, MergeConciseStringIntoLanguageProperty) {
  Entity e = create_entity(input(R"({"id": "urn:a:b", "type": "T",
      "name": {"languageMap": {"en": "Ueno Park", "ja": "上野"}}})",
                                 ParseMode::kEntity, true),
                           kT0);
  ASSERT_TRUE(merge_entity(e, input(R"({"name": "上野公園"})", ParseMode::kMerge), kT1,
                           MergeOptions{std::nullopt, "ja"})
                  .ok());
  EXPECT_EQ(e.find(D("name"))->kind, AttrKind::kLanguageProperty);
  EXPECT_TRUE(same_json(e.find(D("name"))->value.text(), R"({"en":"Ueno Park","ja":"上野公園"})"));
  ASSERT_TRUE(merge_entity(e, input(R"({"name": "Ueno"})", ParseMode::kMerge), kT1, {}).ok());
  EXPECT_TRUE(same_json(e.find(D("name"))->value.text(),
                        R"({"en":"Ueno Park","ja":"上野公園","@none":"Ueno"})"));
  expect_storable(e);
}

TEST_F(EntityOpsTest, MergeConciseNonUriIntoRelationshipIsRefused) {
  Entity e = existing();
  Status st = merge_entity(e, input(R"({"owner": "Bob"})", ParseMode::kMerge), kT1, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kBadRequestData);
  EXPECT_NE(st.detail().find("Bob"), std::string::npos) << st.detail();
}

TEST(JsonMergePatchTest, Rfc7396Examples) {
  // RFC 7396 appendix A, with "urn:ngsi-ld:null" acting like null.
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":"b"})", R"({"a":"c"})"), R"({"a":"c"})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":"b"})", R"({"b":"c"})"), R"({"a":"b","b":"c"})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":"b"})", R"({"a":null})"), R"({})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":"b","b":"c"})", R"({"a":null})"), R"({"b":"c"})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":["b"]})", R"({"a":"c"})"), R"({"a":"c"})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":"c"})", R"({"a":["b"]})"), R"({"a":["b"]})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})"),
                        R"({"a":{"b":"d"}})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":[{"b":"c"}]})", R"({"a":[1]})"), R"({"a":[1]})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"(["a","b"])", R"(["c","d"])"), R"(["c","d"])"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":"b"})", R"(["c"])"), R"(["c"])"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"e":null})", R"({"a":1})"), R"({"e":null,"a":1})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"([1,2])", R"({"a":"b","c":null})"), R"({"a":"b"})"));
  EXPECT_TRUE(
      same_json(json_merge_patch(R"({})", R"({"a":{"bb":{"ccc":null}}})"), R"({"a":{"bb":{}}})"));
  EXPECT_TRUE(same_json(json_merge_patch(R"({"a":"b","c":"d"})", R"({"c":"urn:ngsi-ld:null"})"),
                        R"({"a":"b"})"));
}

// ---------------------------------------------------------------------------------------------
// 5.6.4 Partial Attribute Update

TEST_F(EntityOpsTest, PartialUpdateMerges) {
  Entity e = existing();
  ASSERT_TRUE(partial_update_attribute(
                  e, D("speed"), fragment(R"({"value": 65})", D("speed"), ParseMode::kMerge), kT1)
                  .ok());
  EXPECT_EQ(e.find(D("speed"))->value, Value::integer(65));
  EXPECT_EQ(e.find(D("speed"))->unit_code.str(), "KMH");
  EXPECT_EQ(e.find(D("speed"))->subs.size(), 1u);
  EXPECT_EQ(e.modified_at, kT1);
  expect_stamped(*e.find(D("speed")), kT0, kT1);
}

// §5.5.8: a partial attribute update replaces the members it names, object values included.
TEST_F(EntityOpsTest, PartialUpdateReplacesObjectValues) {
  Entity e = create_entity(input(R"({"id": "urn:a:b", "type": "T",
      "address": {"value": {"street": "Main", "city": "Tokyo"}}})",
                                 ParseMode::kEntity, true),
                           kT0);
  ASSERT_TRUE(partial_update_attribute(
                  e, D("address"),
                  fragment(R"({"value": {"city": "Osaka"}})", D("address"), ParseMode::kMerge), kT1)
                  .ok());
  EXPECT_EQ(e.find(D("address"))->value, Value::json(R"({"city":"Osaka"})"));
}

TEST_F(EntityOpsTest, PartialUpdateNotFound) {
  Entity e = existing();
  Status st = partial_update_attribute(
      e, D("brand"), fragment(R"({"value": 1})", D("brand"), ParseMode::kMerge), kT1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kResourceNotFound);
  EXPECT_NE(st.detail().find("brand"), std::string::npos);
  Status ds = partial_update_attribute(
      e, D("temp"),
      fragment(R"({"value": 1, "datasetId": "urn:ds:zzz"})", D("temp"), ParseMode::kMerge), kT1);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.kind(), ErrorKind::kResourceNotFound);
  EXPECT_NE(ds.detail().find("urn:ds:zzz"), std::string::npos);
}

// NGSI-LD Null in a partial update deletes the instance it names (ETSI suite 012_05-012_07);
// it was refused, and before that stored as a literal value.
TEST_F(EntityOpsTest, PartialUpdateNullDeletesTheInstance) {
  Entity e = existing();
  ASSERT_TRUE(partial_update_attribute(
                  e, D("speed"),
                  fragment(R"({"value": "urn:ngsi-ld:null"})", D("speed"), ParseMode::kMerge), kT1)
                  .ok());
  EXPECT_EQ(e.find(D("speed")), nullptr);
  ASSERT_TRUE(
      partial_update_attribute(e, D("temp"),
                               fragment(R"({"value": "urn:ngsi-ld:null", "datasetId": "urn:ds:b"})",
                                        D("temp"), ParseMode::kMerge),
                               kT1)
          .ok());
  ASSERT_EQ(e.instances(D("temp")).size(), 1u);
  EXPECT_TRUE(e.instances(D("temp"))[0].dataset_id.empty());
  Status missing = partial_update_attribute(
      e, D("speed"), fragment(R"({"value": "urn:ngsi-ld:null"})", D("speed"), ParseMode::kMerge),
      kT1);
  EXPECT_EQ(missing.kind(), ErrorKind::kResourceNotFound);
  expect_storable(e);
}

// Update Attributes with NGSI-LD Null in each attribute kind's payload member deletes that
// attribute (ETSI suite 011_07-011_09); before, the marker was stored as the value with a 204.
TEST_F(EntityOpsTest, UpdateAttributesNullDeletesEveryKind) {
  Entity e = create_entity(input(R"({
      "id": "urn:ngsi-ld:T:1", "type": "T",
      "p": 1, "r": {"type": "Relationship", "object": "urn:a:b"},
      "g": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
      "l": {"type": "LanguageProperty", "languageMap": {"en": "x"}},
      "v": {"type": "VocabProperty", "vocab": "x"},
      "j": {"type": "JsonProperty", "json": {"a": 1}},
      "lp": {"type": "ListProperty", "valueList": [1, 2]},
      "lr": {"type": "ListRelationship", "objectList": [{"object": "urn:a:b"}]},
      "keep": 2})",
                                 ParseMode::kEntity, true),
                           kT0);
  UpdateOutcome out;
  update_attributes(e,
                    input(R"({
      "p": {"type": "Property", "value": "urn:ngsi-ld:null"},
      "r": {"type": "Relationship", "object": "urn:ngsi-ld:null"},
      "g": {"type": "GeoProperty", "value": "urn:ngsi-ld:null"},
      "l": {"type": "LanguageProperty", "languageMap": {"@none": "urn:ngsi-ld:null"}},
      "v": {"type": "VocabProperty", "vocab": "urn:ngsi-ld:null"},
      "j": {"type": "JsonProperty", "json": "urn:ngsi-ld:null"},
      "lp": {"type": "ListProperty", "valueList": ["urn:ngsi-ld:null"]},
      "lr": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:null"}]}})",
                          ParseMode::kUpdate),
                    kT1, out);
  EXPECT_EQ(out.updated.size(), 8u);
  EXPECT_TRUE(out.not_updated.empty());
  ASSERT_EQ(e.attrs.size(), 1u);
  EXPECT_EQ(e.attrs[0].name, D("keep"));
  expect_storable(e);
}

// Outside the updating operations the marker is an ordinary string (append stores it).
TEST_F(EntityOpsTest, NullIsAValueWhereNothingIsUpdated) {
  Entity e = existing();
  UpdateOutcome out;
  append_attributes(
      e,
      input(R"({"note": {"type": "Property", "value": "urn:ngsi-ld:null"}})", ParseMode::kFragment),
      false, kT1, out);
  ASSERT_NE(e.find(D("note")), nullptr);
  EXPECT_EQ(e.find(D("note"))->value, Value::string("urn:ngsi-ld:null"));
}

TEST_F(EntityOpsTest, UpdateAttributesNullForADatasetIdDeletesThatInstanceOnly) {
  Entity e = existing();
  UpdateOutcome out;
  update_attributes(e,
                    input(R"({"temp": {"value": "urn:ngsi-ld:null", "datasetId": "urn:ds:b"}})",
                          ParseMode::kUpdate),
                    kT1, out);
  ASSERT_EQ(e.instances(D("temp")).size(), 1u);
  EXPECT_TRUE(e.instances(D("temp"))[0].dataset_id.empty());
}

// Update Attributes changes the scope only of an entity that has one (ETSI suite 011_05_02).
TEST_F(EntityOpsTest, UpdateAttributesDoesNotAddAScope) {
  Entity e = existing();
  e.scopes.clear();
  UpdateOutcome out;
  update_attributes(e, input(R"({"scope": "/Osaka"})", ParseMode::kUpdate), kT1, out);
  EXPECT_TRUE(e.scopes.empty());
  ASSERT_EQ(out.not_updated.size(), 1u);
  EXPECT_EQ(out.not_updated[0].first.str(), "scope");
  Entity f = existing();
  update_attributes(f, input(R"({"scope": "/Osaka"})", ParseMode::kUpdate), kT1, out);
  EXPECT_EQ(f.scopes, std::vector<std::string>{"/Osaka"});
}

TEST_F(EntityOpsTest, AppendNoOverwriteUnitesScopes) {
  Entity e = existing();
  UpdateOutcome out;
  append_attributes(e, input(R"({"scope": ["/Osaka", "/Tokyo"]})", ParseMode::kFragment), true, kT1,
                    out);
  EXPECT_EQ(e.scopes, (std::vector<std::string>{"/Tokyo", "/Osaka"}));
  append_attributes(e, input(R"({"scope": "/Kyoto"})", ParseMode::kFragment), false, kT1, out);
  EXPECT_EQ(e.scopes, std::vector<std::string>{"/Kyoto"});
}

TEST_F(EntityOpsTest, DeleteScope) {
  Entity e = existing();
  Atom scope = Atom::intern("https://uri.etsi.org/ngsi-ld/scope");
  ASSERT_TRUE(delete_attribute(e, scope, std::nullopt, false).ok());
  EXPECT_TRUE(e.scopes.empty());
  EXPECT_EQ(delete_attribute(e, scope, std::nullopt, false).kind(), ErrorKind::kResourceNotFound);
}

TEST_F(EntityOpsTest, PartialUpdateDatasetInstance) {
  Entity e = existing();
  ASSERT_TRUE(
      partial_update_attribute(
          e, D("temp"),
          fragment(R"({"value": 22, "datasetId": "urn:ds:b"})", D("temp"), ParseMode::kMerge), kT1)
          .ok());
  EXPECT_EQ(e.find(D("temp"), Atom::intern("urn:ds:b"))->value, Value::integer(22));
  EXPECT_EQ(e.find(D("temp"))->value, Value::integer(20));
}

// ---------------------------------------------------------------------------------------------
// 5.6.19 Replace Attribute

TEST_F(EntityOpsTest, ReplaceAttribute) {
  Entity e = existing();
  ASSERT_TRUE(replace_attribute(e, D("speed"),
                                fragment(R"({"value": 80})", D("speed"), ParseMode::kFragment), kT1)
                  .ok());
  const Attribute* s = e.find(D("speed"));
  EXPECT_EQ(s->value, Value::integer(80));
  EXPECT_TRUE(s->subs.empty());
  EXPECT_TRUE(s->unit_code.empty());
  expect_stamped(*s, kT0, kT1);
  EXPECT_EQ(e.modified_at, kT1);
  Status st = replace_attribute(e, D("brand"),
                                fragment(R"({"value": 1})", D("brand"), ParseMode::kFragment), kT1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kResourceNotFound);
}

// ---------------------------------------------------------------------------------------------
// 5.6.5 Delete Attribute

TEST_F(EntityOpsTest, DeleteDefaultInstanceOnly) {
  Entity e = existing();
  ASSERT_TRUE(delete_attribute(e, D("temp"), std::nullopt, false).ok());
  EXPECT_EQ(e.find(D("temp")), nullptr);
  EXPECT_NE(e.find(D("temp"), Atom::intern("urn:ds:b")), nullptr);
  Status again = delete_attribute(e, D("temp"), std::nullopt, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.kind(), ErrorKind::kResourceNotFound);
  EXPECT_NE(again.detail().find("default instance"), std::string::npos) << again.detail();
}

TEST_F(EntityOpsTest, DeleteByDatasetId) {
  Entity e = existing();
  ASSERT_TRUE(delete_attribute(e, D("temp"), Atom::intern("urn:ds:b"), false).ok());
  EXPECT_EQ(e.instances(D("temp")).size(), 1u);
  EXPECT_NE(e.find(D("temp")), nullptr);
  Status st = delete_attribute(e, D("temp"), Atom::intern("urn:ds:b"), false);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kResourceNotFound);
  EXPECT_NE(st.detail().find("urn:ds:b"), std::string::npos);
}

TEST_F(EntityOpsTest, DeleteAll) {
  Entity e = existing();
  ASSERT_TRUE(delete_attribute(e, D("temp"), std::nullopt, true).ok());
  EXPECT_TRUE(e.instances(D("temp")).empty());
  EXPECT_EQ(e.attrs.size(), 3u);
  Status st = delete_attribute(e, D("temp"), std::nullopt, true);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kResourceNotFound);
}

TEST_F(EntityOpsTest, DeleteMissingAttribute) {
  Entity e = existing();
  Status st = delete_attribute(e, D("brand"), std::nullopt, false);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kResourceNotFound);
  EXPECT_NE(st.detail().find("brand"), std::string::npos);
  EXPECT_EQ(e.attrs.size(), 5u);
}

// ---------------------------------------------------------------------------------------------
// stamp

TEST(StampTest, KeepsStampedSubAttributesAndStampsNewOnes) {
  Attribute a;
  a.name = D("a");
  a.flags = ngsild::kFlagPayload;
  Attribute old_sub;
  old_sub.name = D("old");
  old_sub.created_at = kT0;
  old_sub.modified_at = kT0;
  Attribute new_sub;
  new_sub.name = D("new");
  new_sub.flags = ngsild::kFlagPayload;
  a.subs = {old_sub, new_sub};
  stamp(a, kT1, kT0);
  expect_stamped(a, kT0, kT1);
  expect_stamped(a.subs[0], kT0, kT0);
  expect_stamped(a.subs[1], kT1, kT1);
  Attribute b;
  stamp(b, kT1, kNoTime);
  expect_stamped(b, kT1, kT1);
}

}  // namespace
}  // namespace tsunagu::engine
