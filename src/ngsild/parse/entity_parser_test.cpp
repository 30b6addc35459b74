#include "ngsild/parse/entity_parser.hpp"

#include <gtest/gtest.h>

#include "ngsild/model/test_atoms.hpp"

namespace tsunagu::ngsild {
// Lets GoogleTest print a Value as its JSON text and an AttrKind by name.
inline void PrintTo(const Value& v, std::ostream* os) {
  *os << v.to_json();
}
inline void PrintTo(AttrKind k, std::ostream* os) {
  *os << kind_name(k);
}
}  // namespace tsunagu::ngsild

namespace tsunagu::ngsild {
namespace {

using test_atoms::A;
using test_atoms::D;
using test_atoms::kDefault;
using test_atoms::N;

class EntityParserTest : public ::testing::Test {
 protected:
  EntityParserTest() : cache_(nullptr, {}) {}

  Result<EntityInput> parse(std::string_view json, ParseMode mode = ParseMode::kEntity,
                            bool require_id = true, bool require_type = true,
                            const jsonld::Context* ctx = nullptr) {
    JsonDoc doc;
    Status st = parse_json(json, doc);
    EXPECT_TRUE(st.ok()) << st.detail() << " in " << json;
    if (!st.ok()) return st;
    return parse_entity(doc, ctx ? *ctx : *cache_.core(),
                        ParseOptions{mode, require_id, require_type});
  }

  // Parses `json` as a fragment (id and type optional) and returns it; fails the test on error.
  EntityInput ok(std::string_view json, ParseMode mode = ParseMode::kFragment,
                 const jsonld::Context* ctx = nullptr) {
    auto r = parse(json, mode, false, false, ctx);
    EXPECT_TRUE(r.ok()) << json << ": " << r.status().detail();
    return r.ok() ? std::move(r).value() : EntityInput{};
  }

  // Parses one attribute `name` given as a fragment and returns its instances.
  std::vector<Attribute> attr(std::string_view name, std::string_view attr_json,
                              ParseMode mode = ParseMode::kFragment) {
    EntityInput in = ok("{\"" + std::string(name) + "\":" + std::string(attr_json) + "}", mode);
    return in.attrs;
  }

  // The error detail parsing `json` as a fragment gives; "ok" when it parses.
  std::string error(std::string_view json, ParseMode mode = ParseMode::kFragment) {
    auto r = parse(json, mode, false, false);
    if (r.ok()) return "ok";
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData) << r.status().detail();
    return r.status().detail();
  }

  jsonld::ContextPtr context(std::string_view json) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok());
    auto r = cache_.from_json(doc);
    EXPECT_TRUE(r.ok()) << r.status().detail();
    return r.ok() ? *r : cache_.core();
  }

  jsonld::ContextCache cache_;
};

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' does not contain '" << (needle) << "'"

// ---------------------------------------------------------------------------------------------
// Entities

// Found by fuzz/entity.cpp (with asserts on): a one-item valueList or objectList whose item is
// no object had RapidJSON asked for that item's members.
TEST(IsNgsildNullTest, AOneItemListOfANonObjectIsNoNull) {
  JsonDoc d;
  ASSERT_TRUE(
      parse_json(R"([[2], ["x"], [[]], [{"object": "urn:ngsi-ld:null"}], ["urn:ngsi-ld:null"]])", d)
          .ok());
  for (AttrKind kind : {AttrKind::kListProperty, AttrKind::kListRelationship}) {
    EXPECT_FALSE(is_ngsild_null(kind, d[0]));
    EXPECT_FALSE(is_ngsild_null(kind, d[1]));
    EXPECT_FALSE(is_ngsild_null(kind, d[2]));
    EXPECT_TRUE(is_ngsild_null(kind, d[3]));
    EXPECT_TRUE(is_ngsild_null(kind, d[4]));
  }
}

TEST_F(EntityParserTest, MinimalEntity) {
  auto r = parse(R"({"id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle"})");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->id, "urn:ngsi-ld:Vehicle:A1");
  EXPECT_EQ(r->types, std::vector<Atom>{D("Vehicle")});
  EXPECT_FALSE(r->scopes.has_value());
  EXPECT_FALSE(r->scope_delete);
  EXPECT_TRUE(r->attrs.empty());
}

TEST_F(EntityParserTest, ContextMemberIsSkipped) {
  auto r =
      parse(R"({"id": "urn:a:b", "type": "T", "@context": "https://example.org/unused.jsonld"})");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_TRUE(r->attrs.empty());
}

TEST_F(EntityParserTest, IdMustBeAUri) {
  for (const char* body : {R"({"id": "Vehicle A1", "type": "T"})", R"({"id": "A1", "type": "T"})",
                           R"({"id": 5, "type": "T"})", R"({"id": "", "type": "T"})",
                           R"({"id": "urn:", "type": "T"})"}) {
    auto r = parse(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData);
    EXPECT_EQ(r.status().detail().rfind("id:", 0), 0u) << r.status().detail();
  }
}

TEST_F(EntityParserTest, IdLengthIsBounded) {
  std::string longest = "urn:x:" + std::string(kMaxIdLength - 6, 'a');
  ASSERT_EQ(longest.size(), kMaxIdLength);
  EXPECT_TRUE(parse(R"({"id": ")" + longest + R"(", "type": "T"})").ok());
  auto r = parse(R"({"id": ")" + longest + R"(a", "type": "T"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData);
  EXPECT_EQ(r.status().detail().rfind("id:", 0), 0u) << r.status().detail().substr(0, 80);
  EXPECT_LT(r.status().detail().size(), 400u);  // the detail does not echo 2 KiB back
  EXPECT_TRUE(check_entity_id("urn:a:b").ok());
  Status named = check_entity_id("not a uri", "entities[3].id");
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.detail().rfind("entities[3].id:", 0), 0u) << named.detail();
}

TEST_F(EntityParserTest, IdAndTypeRequiredUnlessTheOptionsSayOtherwise) {
  auto no_id = parse(R"({"type": "T"})");
  ASSERT_FALSE(no_id.ok());
  EXPECT_EQ(no_id.status().detail(), "id: missing");
  auto no_type = parse(R"({"id": "urn:a:b"})");
  ASSERT_FALSE(no_type.ok());
  EXPECT_EQ(no_type.status().detail(), "type: missing");
  EXPECT_TRUE(parse(R"({"speed": 5})", ParseMode::kFragment, false, false).ok());
  EXPECT_FALSE(parse(R"({"speed": 5})", ParseMode::kFragment, false, true).ok());
}

TEST_F(EntityParserTest, Types) {
  auto r = parse(
      R"({"id": "urn:a:b", "type": ["Vehicle", "https://example.org/Car", "Vehicle", "ngsi-ld:Thing"]})");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->types, (std::vector<Atom>{D("Vehicle"), A("https://example.org/Car"), N("Thing")}));
  for (const char* body :
       {R"({"id": "urn:a:b", "type": []})", R"({"id": "urn:a:b", "type": 5})",
        R"({"id": "urn:a:b", "type": ["A", 5]})", R"({"id": "urn:a:b", "type": "bad type"})",
        R"({"id": "urn:a:b", "type": "@id"})", R"({"id": "urn:a:b", "type": ""})"}) {
    auto e = parse(body);
    ASSERT_FALSE(e.ok()) << body;
    EXPECT_EQ(e.status().detail().rfind("type:", 0), 0u) << e.status().detail();
  }
}

TEST_F(EntityParserTest, TypesAreExpandedWithTheContext) {
  auto ctx = context(R"({"Car": "https://example.org/vocab/Car"})");
  auto r = parse(R"({"id": "urn:a:b", "type": "Car"})", ParseMode::kEntity, true, true, ctx.get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->types, std::vector<Atom>{A("https://example.org/vocab/Car")});
}

TEST_F(EntityParserTest, Scopes) {
  auto one = parse(R"({"id": "urn:a:b", "type": "T", "scope": "/Tokyo/Parks"})");
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(one->scopes.has_value());
  EXPECT_EQ(*one->scopes, std::vector<std::string>{"/Tokyo/Parks"});
  auto many = parse(R"({"id": "urn:a:b", "type": "T", "scope": ["/a", "/b/c"]})");
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(*many->scopes, (std::vector<std::string>{"/a", "/b/c"}));
  for (const char* body : {R"({"id": "urn:a:b", "type": "T", "scope": "Tokyo"})",
                           R"({"id": "urn:a:b", "type": "T", "scope": "/a/"})",
                           R"({"id": "urn:a:b", "type": "T", "scope": ["/a", 5]})",
                           R"({"id": "urn:a:b", "type": "T", "scope": "urn:ngsi-ld:null"})"}) {
    auto e = parse(body);
    ASSERT_FALSE(e.ok()) << body;
    EXPECT_EQ(e.status().detail().rfind("scope:", 0), 0u) << e.status().detail();
  }
}

// "id" and "type" alias @id and @type (ETSI suite 001_02_04).
TEST_F(EntityParserTest, KeywordAliasesAreNotTypes) {
  for (const char* body :
       {R"({"id": "urn:a:b", "type": "type"})", R"({"id": "urn:a:b", "type": ["T", "id"]})"}) {
    auto r = parse(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData);
  }
}

// InvalidRequest: the payload is not the kind of document the operation takes (ETSI suite
// 001_02_02).
TEST_F(EntityParserTest, PayloadMustBeAnObject) {
  for (const char* body : {"[]", "5", "\"x\"", "null"}) {
    auto r = parse(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidRequest);
  }
  EXPECT_CONTAINS(parse("[]").status().detail(), "array");
}

TEST_F(EntityParserTest, InvalidAttributeNames) {
  for (const char* name : {"bad name", "bad<name", "a=b", "a;b", "a(b)", "@id", "q\\\\x", "a'b"}) {
    std::string body = std::string("{\"") + name + "\": 5}";
    std::string e = error(body);
    EXPECT_CONTAINS(e, "is not a valid attribute name");
  }
}

TEST_F(EntityParserTest, SystemMembersAreIgnoredOnInput) {
  EntityInput in = ok(R"({"createdAt": "2020-01-01T00:00:00Z", "modifiedAt": "bogus",
                          "deletedAt": "x",
                          "speed": {"value": 5, "createdAt": "2020-01-01T00:00:00Z",
                                    "modifiedAt": "2020-01-01T00:00:00Z", "instanceId": "urn:x:y"}})");
  ASSERT_EQ(in.attrs.size(), 1u);
  EXPECT_EQ(in.attrs[0].created_at, kNoTime);
  EXPECT_EQ(in.attrs[0].modified_at, kNoTime);
  EXPECT_TRUE(in.attrs[0].subs.empty());
}

// ---------------------------------------------------------------------------------------------
// Attribute kinds, normalized

TEST_F(EntityParserTest, NormalizedProperty) {
  auto a = attr("speed", R"({"type": "Property", "value": 55.5, "unitCode": "KMH",
                            "observedAt": "2026-04-01T06:00:00Z", "valueType": "Speed"})");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, AttrKind::kProperty);
  EXPECT_EQ(a[0].name, D("speed"));
  EXPECT_EQ(a[0].value, Value::number(55.5));
  EXPECT_EQ(a[0].unit_code.str(), "KMH");
  EXPECT_EQ(a[0].observed_at, *parse_datetime("2026-04-01T06:00:00Z"));
  EXPECT_EQ(a[0].value_type, D("Speed"));
  EXPECT_TRUE(a[0].dataset_id.empty());
  EXPECT_TRUE(a[0].flags & kFlagPayload);
  EXPECT_TRUE(a[0].flags & kFlagTypeGiven);
}

TEST_F(EntityParserTest, PropertyValuesOfEveryJsonType) {
  EXPECT_EQ(attr("p", R"({"type": "Property", "value": "text"})")[0].value, Value::string("text"));
  EXPECT_EQ(attr("p", R"({"type": "Property", "value": 7})")[0].value, Value::integer(7));
  EXPECT_EQ(attr("p", R"({"type": "Property", "value": false})")[0].value, Value::boolean(false));
  EXPECT_EQ(attr("p", R"({"type": "Property", "value": [1, "a"]})")[0].value,
            Value::json(R"([1,"a"])"));
  EXPECT_EQ(attr("p", R"({"type": "Property", "value": {"b": 1, "a": {"c": null}}})")[0].value,
            Value::json(R"({"b":1,"a":{"c":null}})"));
}

TEST_F(EntityParserTest, NormalizedRelationship) {
  auto a = attr("owner", R"({"type": "Relationship", "object": "urn:ngsi-ld:Person:Bob",
                            "objectType": "Person"})");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, AttrKind::kRelationship);
  EXPECT_EQ(a[0].value, Value::string("urn:ngsi-ld:Person:Bob"));
  EXPECT_EQ(a[0].value_type, D("Person"));
  auto many = attr("owners", R"({"type": "Relationship", "object": ["urn:a:1", "urn:a:2"]})");
  EXPECT_EQ(many[0].value, Value::json(R"(["urn:a:1","urn:a:2"])"));
}

TEST_F(EntityParserTest, NormalizedGeoProperty) {
  auto a =
      attr("location",
           R"({"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7, 35.6]}})");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, AttrKind::kGeoProperty);
  EXPECT_EQ(a[0].name, N("location"));
  EXPECT_EQ(a[0].value, Value::json(R"({"type":"Point","coordinates":[139.7,35.6]})"));
}

TEST_F(EntityParserTest, NormalizedLanguageProperty) {
  auto a = attr(
      "name",
      R"({"type": "LanguageProperty", "languageMap": {"en": "Ueno Park", "ja": ["上野公園", "上野恩賜公園"], "@none": "x"}})");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, AttrKind::kLanguageProperty);
  EXPECT_EQ(a[0].value.text(),
            R"({"en":"Ueno Park","ja":["上野公園","上野恩賜公園"],"@none":"x"})");
}

TEST_F(EntityParserTest, NormalizedVocabPropertyIsExpanded) {
  auto ctx = context(R"({"Sunny": "https://example.org/weather/Sunny"})");
  EntityInput in = ok(R"({"weather": {"type": "VocabProperty", "vocab": "Sunny"},
                          "modes": {"type": "VocabProperty", "vocab": ["Sunny", "Rainy"]}})",
                      ParseMode::kFragment, ctx.get());
  ASSERT_EQ(in.attrs.size(), 2u);
  EXPECT_EQ(in.attrs[0].kind, AttrKind::kVocabProperty);
  EXPECT_EQ(in.attrs[0].value, Value::string("https://example.org/weather/Sunny"));
  EXPECT_EQ(in.attrs[1].value.text(),
            "[\"https://example.org/weather/Sunny\",\"" + std::string(kDefault) + "Rainy\"]");
}

TEST_F(EntityParserTest, NormalizedJsonProperty) {
  auto a = attr("config", R"({"type": "JsonProperty", "json": {"type": "Property", "value": 1}})");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, AttrKind::kJsonProperty);
  EXPECT_EQ(a[0].value.text(), R"({"type":"Property","value":1})");
  EXPECT_EQ(attr("n", R"({"type": "JsonProperty", "json": 5})")[0].value, Value::integer(5));
}

TEST_F(EntityParserTest, NormalizedListProperty) {
  auto a = attr("readings", R"({"type": "ListProperty", "valueList": [1, 2, 3]})");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, AttrKind::kListProperty);
  EXPECT_EQ(a[0].value.text(), "[1,2,3]");
}

TEST_F(EntityParserTest, NormalizedListRelationshipBothForms) {
  auto objects = attr(
      "path",
      R"({"type": "ListRelationship", "objectList": [{"object": "urn:a:1"}, {"object": "urn:a:2"}]})");
  auto strings =
      attr("path", R"({"type": "ListRelationship", "objectList": ["urn:a:1", "urn:a:2"]})");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0].kind, AttrKind::kListRelationship);
  EXPECT_EQ(objects[0].value.text(), R"([{"object":"urn:a:1"},{"object":"urn:a:2"}])");
  EXPECT_EQ(strings[0].value.text(), objects[0].value.text());
}

TEST_F(EntityParserTest, SubAttributes) {
  auto a = attr("speed", R"({"type": "Property", "value": 55,
      "accuracy": {"type": "Property", "value": 0.5, "unitCode": "KMH",
                   "measuredBy": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"}},
      "source": "GPS"})");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(a[0].subs.size(), 2u);
  const Attribute* acc = a[0].find_sub(D("accuracy"));
  ASSERT_NE(acc, nullptr);
  EXPECT_EQ(acc->kind, AttrKind::kProperty);
  EXPECT_EQ(acc->value, Value::number(0.5));
  EXPECT_EQ(acc->unit_code.str(), "KMH");
  const Attribute* by = acc->find_sub(D("measuredBy"));
  ASSERT_NE(by, nullptr);
  EXPECT_EQ(by->kind, AttrKind::kRelationship);
  const Attribute* src = a[0].find_sub(D("source"));
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->value, Value::string("GPS"));
}

TEST_F(EntityParserTest, SubAttributeGivenTwiceThroughTwoTerms) {
  auto ctx = context(
      R"({"acc1": "https://example.org/accuracy", "acc2": "https://example.org/accuracy"})");
  auto r = parse(R"({"speed": {"value": 1, "acc1": 1, "acc2": 2}})", ParseMode::kFragment, false,
                 false, ctx.get());
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.status().detail(), "sub-attribute given twice");
  EXPECT_CONTAINS(r.status().detail(), "speed");
}

TEST_F(EntityParserTest, ReadOnlyMembersAreIgnored) {
  auto a = attr("speed", R"({"type": "Property", "value": 5, "previousValue": 4, "lang": "en",
                            "deletedAt": "2020-01-01T00:00:00Z", "instanceId": "urn:x:1",
                            "previousObject": "urn:x:2", "previousLanguageMap": {"en": "a"}})");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(a[0].subs.empty());
  // Names one letter or one character longer are sub-attributes.
  auto b = attr("speed", R"({"value": 5, "types": 1, "previousValues": 2, "instanceID": 3})");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].subs.size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Concise input (§4.5.2.3-style): the type is inferred.

TEST_F(EntityParserTest, ConciseBareValues) {
  EXPECT_EQ(attr("speed", "55")[0].kind, AttrKind::kProperty);
  EXPECT_EQ(attr("speed", "55")[0].value, Value::integer(55));
  EXPECT_EQ(attr("name", "\"x\"")[0].value, Value::string("x"));
  EXPECT_EQ(attr("ok", "true")[0].value, Value::boolean(true));
  auto tags = attr("tags", R"(["a", "b"])");
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].kind, AttrKind::kProperty);
  EXPECT_EQ(tags[0].value, Value::json(R"(["a","b"])"));
  EXPECT_TRUE(tags[0].flags & kFlagPayload);
  EXPECT_FALSE(tags[0].flags & kFlagTypeGiven);
}

TEST_F(EntityParserTest, ConciseObjectsInferTheKind) {
  struct Case {
    const char* json;
    AttrKind kind;
  } cases[] = {
      {R"({"value": 5, "unitCode": "KMH"})", AttrKind::kProperty},
      {R"({"value": {"a": 1}})", AttrKind::kProperty},
      {R"({"object": "urn:a:b"})", AttrKind::kRelationship},
      {R"({"objectList": ["urn:a:b"]})", AttrKind::kListRelationship},
      {R"({"languageMap": {"en": "x"}})", AttrKind::kLanguageProperty},
      {R"({"vocab": "Sunny"})", AttrKind::kVocabProperty},
      {R"({"json": {"any": "thing"}})", AttrKind::kJsonProperty},
      {R"({"valueList": [1, 2]})", AttrKind::kListProperty},
      {R"({"value": {"type": "Point", "coordinates": [1, 2]}})", AttrKind::kGeoProperty},
  };
  for (const auto& c : cases) {
    auto a = attr("x", c.json);
    ASSERT_EQ(a.size(), 1u) << c.json;
    EXPECT_EQ(a[0].kind, c.kind) << c.json;
    EXPECT_FALSE(a[0].flags & kFlagTypeGiven) << c.json;
  }
}

TEST_F(EntityParserTest, ConciseSubAttributes) {
  auto a = attr("speed", R"({"value": 55, "accuracy": 0.5, "by": {"object": "urn:a:b"}})");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(a[0].subs.size(), 2u);
  EXPECT_EQ(a[0].find_sub(D("accuracy"))->value, Value::number(0.5));
  EXPECT_EQ(a[0].find_sub(D("by"))->kind, AttrKind::kRelationship);
}

// A bare GeoJSON geometry is the concise form of a GeoProperty (§4.5.2.3; the parser header:
// "or from a GeoJSON geometry").
TEST_F(EntityParserTest, ConciseGeoPropertyFromABareGeometry) {
  auto r = parse(R"({"location": {"type": "Point", "coordinates": [139.7, 35.6]}})",
                 ParseMode::kFragment, false, false);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  ASSERT_EQ(r->attrs.size(), 1u);
  EXPECT_EQ(r->attrs[0].kind, AttrKind::kGeoProperty);
  EXPECT_EQ(r->attrs[0].value, Value::json(R"({"type":"Point","coordinates":[139.7,35.6]})"));
}

TEST_F(EntityParserTest, ConciseObjectWithoutPayloadIsRefused) {
  std::string e = error(R"({"address": {"street": "x"}})");
  EXPECT_CONTAINS(e, "attribute 'address'");
}

// ---------------------------------------------------------------------------------------------
// Multi-attributes (§4.5.5)

TEST_F(EntityParserTest, MultiInstanceArray) {
  auto a = attr("speed",
                R"([{"type": "Property", "value": 55, "datasetId": "urn:ngsi-ld:ds:speedometer"},
                             {"value": 54.5, "datasetId": "urn:ngsi-ld:ds:gps"},
                             {"value": 50}])");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].dataset_id.str(), "urn:ngsi-ld:ds:speedometer");
  EXPECT_EQ(a[1].dataset_id.str(), "urn:ngsi-ld:ds:gps");
  EXPECT_TRUE(a[2].dataset_id.empty());
  for (const auto& i : a)
    EXPECT_EQ(i.name, D("speed"));
}

TEST_F(EntityParserTest, DuplicateDatasetIdIsRefused) {
  std::string e = error(
      R"({"speed": [{"value": 1, "datasetId": "urn:ds:a"}, {"value": 2, "datasetId": "urn:ds:a"}]})");
  EXPECT_CONTAINS(e, "attribute 'speed'[1]");
  EXPECT_CONTAINS(e, "urn:ds:a");
  std::string d = error(R"({"speed": [{"value": 1}, {"value": 2}]})");
  EXPECT_CONTAINS(d, "attribute 'speed'[1]");
  EXPECT_CONTAINS(d, "default instance");
}

TEST_F(EntityParserTest, InstancesMustBeObjects) {
  std::string e = error(R"({"speed": [{"value": 1, "datasetId": "urn:ds:a"}, 5]})");
  EXPECT_CONTAINS(e, "attribute 'speed'[1]");
  EXPECT_CONTAINS(e, "object");
}

TEST_F(EntityParserTest, TwoTermsForOneIriBecomeInstancesOfOneAttribute) {
  // ETSI GS CIM 009 annex C.2.2 (Vehicle_MultiAttribute).
  auto ctx =
      context(R"({"speed#1": "http://example.org/speed", "speed#2": "http://example.org/speed",
                         "source": "http://example.org/hasSource"})");
  auto r = parse(R"({"id": "urn:ngsi-ld:Vehicle:A4567", "type": "Vehicle",
      "speed#1": {"type": "Property", "value": 55, "source": {"type": "Property", "value": "Speedometer"},
                  "datasetId": "urn:ngsi-ld:Property:speedometerA4567-speed"},
      "brand": "Mercedes",
      "speed#2": {"type": "Property", "value": 54.5, "source": {"type": "Property", "value": "GPS"},
                  "datasetId": "urn:ngsi-ld:Property:gpsBxyz123-speed"}})",
                 ParseMode::kEntity, true, true, ctx.get());
  ASSERT_TRUE(r.ok()) << r.status().detail();
  ASSERT_EQ(r->attrs.size(), 3u);
  // Instances of one attribute are kept adjacent.
  EXPECT_EQ(r->attrs[0].name, A("http://example.org/speed"));
  EXPECT_EQ(r->attrs[1].name, A("http://example.org/speed"));
  EXPECT_EQ(r->attrs[2].name, D("brand"));
  EXPECT_EQ(r->attrs[0].dataset_id.str(), "urn:ngsi-ld:Property:speedometerA4567-speed");
  EXPECT_EQ(r->attrs[1].dataset_id.str(), "urn:ngsi-ld:Property:gpsBxyz123-speed");
  EXPECT_EQ(r->attrs[1].value, Value::number(54.5));
  EXPECT_EQ(r->attrs[1].find_sub(A("http://example.org/hasSource"))->value, Value::string("GPS"));
}

TEST_F(EntityParserTest, TwoTermsWithTheSameDatasetIdAreRefused) {
  auto ctx = context(R"({"s1": "http://example.org/speed", "s2": "http://example.org/speed"})");
  for (
      const char* body :
      {R"({"s1": {"value": 1}, "s2": {"value": 2}})",
       R"({"s1": {"value": 1, "datasetId": "urn:d:1"}, "s2": [{"value": 2, "datasetId": "urn:d:1"}]})"}) {
    auto r = parse(body, ParseMode::kFragment, false, false, ctx.get());
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData);
    EXPECT_CONTAINS(r.status().detail(), "attribute 's2'");
  }
}

// ---------------------------------------------------------------------------------------------
// Faults name the member

TEST_F(EntityParserTest, FaultsNameTheAttributeAndMember) {
  struct Case {
    const char* body;
    std::vector<const char*> mentions;
  } cases[] = {
      {R"({"speed": {"type": "Foo", "value": 1}})", {"attribute 'speed'", "type 'Foo'"}},
      {R"({"speed": {"type": 5, "value": 1}})", {"attribute 'speed'", "type"}},
      {R"({"speed": {"type": "Property", "object": "urn:a:b"}})",
       {"attribute 'speed'", "member 'object'"}},
      {R"({"speed": {"type": "Property", "value": 1, "vocab": "x"}})",
       {"attribute 'speed'", "member 'vocab'"}},
      {R"({"speed": {"type": "Property"}})", {"attribute 'speed'", "'value'"}},
      {R"({"speed": {"type": "Property", "value": null}})", {"attribute 'speed'", "value"}},
      {R"({"speed": null})", {"attribute 'speed'", "null"}},
      {R"({"owner": {"type": "Relationship", "object": "not a uri"}})",
       {"attribute 'owner'", "'not a uri'"}},
      {R"({"owner": {"type": "Relationship", "object": 5}})", {"attribute 'owner'", "object"}},
      {R"({"owner": {"type": "Relationship", "object": []}})", {"attribute 'owner'", "object"}},
      {R"({"owner": {"type": "Relationship", "object": ["urn:a:b", "bad"]}})",
       {"attribute 'owner'", "'bad'"}},
      {R"({"owner": {"type": "Relationship"}})", {"attribute 'owner'", "'object'"}},
      {R"({"speed": {"value": 1, "observedAt": "yesterday"}})",
       {"attribute 'speed'", "observedAt 'yesterday'"}},
      {R"({"speed": {"value": 1, "observedAt": 5}})", {"attribute 'speed'", "observedAt"}},
      {R"({"speed": {"value": 1, "unitCode": 5}})", {"attribute 'speed'", "unitCode"}},
      {R"({"speed": {"value": 1, "unitCode": ""}})", {"attribute 'speed'", "unitCode"}},
      {R"({"speed": {"value": 1, "datasetId": "not a uri"}})",
       {"attribute 'speed'", "datasetId 'not a uri'"}},
      {R"({"speed": {"value": 1, "datasetId": 5}})", {"attribute 'speed'", "datasetId"}},
      {R"({"speed": {"value": 1, "valueType": 5}})", {"attribute 'speed'", "valueType"}},
      {R"({"owner": {"object": "urn:a:b", "objectType": "bad type"}})",
       {"attribute 'owner'", "objectType"}},
      {R"({"speed": {"value": 1, "bad name": 2}})", {"attribute 'speed'", "'bad name'"}},
      {R"({"speed": {"value": 1, "accuracy": {"type": "Property", "value": null}}})",
       {"attribute 'speed'.accuracy"}},
      {R"({"speed": {"value": 1, "accuracy": {"value": 1, "unitCode": 3}}})",
       {"attribute 'speed'.accuracy", "unitCode"}},
      {R"({"name": {"languageMap": {"1x": "a"}}})", {"attribute 'name'", "'1x'"}},
      {R"({"name": {"languageMap": {"en": 5}}})", {"attribute 'name'", "languageMap['en']"}},
      {R"({"name": {"languageMap": {"en": ["a", 5]}}})", {"attribute 'name'", "languageMap['en']"}},
      {R"({"name": {"languageMap": {}}})", {"attribute 'name'", "languageMap"}},
      {R"({"name": {"languageMap": "en"}})", {"attribute 'name'", "languageMap"}},
      {R"({"w": {"vocab": 5}})", {"attribute 'w'", "vocab"}},
      {R"({"w": {"vocab": []}})", {"attribute 'w'", "vocab"}},
      {R"({"w": {"vocab": ""}})", {"attribute 'w'", "vocab"}},
      {R"({"c": {"type": "JsonProperty", "json": null}})", {"attribute 'c'", "json"}},
      {R"({"l": {"valueList": 5}})", {"attribute 'l'", "valueList"}},
      {R"({"p": {"objectList": "urn:a:b"}})", {"attribute 'p'", "objectList"}},
      {R"({"p": {"objectList": [{"x": "urn:a:b"}]}})", {"attribute 'p'", "'object'"}},
      {R"({"p": {"objectList": ["urn:a:b", "bad"]}})", {"attribute 'p'", "objectList item 'bad'"}},
      {R"({"g": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": "x"}}})",
       {"attribute 'g'", "GeoJSON"}},
      {R"({"g": {"type": "GeoProperty", "value": 5}})", {"attribute 'g'", "GeoJSON"}},
      {R"({"location": 5})", {"attribute 'location'", "GeoProperty"}},
      {R"({"location": {"type": "Property", "value": "here"}})",
       {"attribute 'location'", "GeoProperty"}},
      {R"({"observationSpace": {"value": "here"}})",
       {"attribute 'observationSpace'", "GeoProperty"}},
      {R"({"speed": {"observedAt": "2026-04-01T06:00:00Z"}})", {"attribute 'speed'"}},
      {R"({"speed": [{"value": 1, "datasetId": "urn:d:1"}, {"value": 2, "unitCode": 3}]})",
       {"attribute 'speed'[1]: unitCode"}},
      {R"({"speed": [{"value": 1, "accuracy": {"value": 1, "unitCode": 3}}]})",
       {"attribute 'speed'[0].accuracy: unitCode"}},
  };
  for (const auto& c : cases) {
    std::string e = error(c.body);
    EXPECT_NE(e, "ok") << c.body;
    for (const char* m : c.mentions)
      EXPECT_CONTAINS(e, m);
  }
  // Names too long for the label's own buffer name the attribute all the same.
  for (size_t n : {100, 150, 200, 1000}) {
    const std::string name(n, 'n');
    std::string e =
        error(R"({")" + name + R"(": [{"value": 1, "a": {"value": 1, "unitCode": 3}}]})");
    EXPECT_CONTAINS(e, "attribute '" + name + "'[0].a: unitCode");
  }
}

TEST_F(EntityParserTest, UrnNullIsAPlainStringOutsideMerge) {
  auto a = attr("p", "\"urn:ngsi-ld:null\"");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].value, Value::string("urn:ngsi-ld:null"));
  EXPECT_FALSE(a[0].flags & kFlagDelete);
}

// ---------------------------------------------------------------------------------------------
// Merge mode (§5.6.17)

TEST_F(EntityParserTest, MergeNullMarkers) {
  EntityInput in = ok(R"({
    "gone": "urn:ngsi-ld:null",
    "alsoGone": {"value": "urn:ngsi-ld:null"},
    "speed": {"observedAt": "urn:ngsi-ld:null", "unitCode": "urn:ngsi-ld:null",
              "accuracy": "urn:ngsi-ld:null", "source": {"value": "urn:ngsi-ld:null"}},
    "scope": "urn:ngsi-ld:null"
  })",
                      ParseMode::kMerge);
  EXPECT_TRUE(in.scope_delete);
  EXPECT_FALSE(in.scopes.has_value());
  ASSERT_EQ(in.attrs.size(), 3u);
  EXPECT_TRUE(in.attrs[0].flags & kFlagDelete);
  EXPECT_TRUE(in.attrs[1].flags & kFlagDelete);
  const Attribute& speed = in.attrs[2];
  EXPECT_FALSE(speed.flags & kFlagDelete);
  EXPECT_FALSE(speed.flags & kFlagPayload);
  EXPECT_TRUE(speed.flags & kFlagDeleteObservedAt);
  EXPECT_TRUE(speed.flags & kFlagDeleteUnitCode);
  EXPECT_EQ(speed.observed_at, kNoTime);
  EXPECT_TRUE(speed.unit_code.empty());
  ASSERT_EQ(speed.subs.size(), 2u);
  EXPECT_TRUE(speed.find_sub(D("accuracy"))->flags & kFlagDelete);
  EXPECT_TRUE(speed.find_sub(D("source"))->flags & kFlagDelete);
}

TEST_F(EntityParserTest, MergeAllowsPartialAttributes) {
  EntityInput in = ok(R"({"speed": {"observedAt": "2026-04-01T06:00:00Z"},
                          "owner": {"type": "Relationship"},
                          "temp": {"value": 20}})",
                      ParseMode::kMerge);
  ASSERT_EQ(in.attrs.size(), 3u);
  EXPECT_FALSE(in.attrs[0].flags & kFlagPayload);
  EXPECT_FALSE(in.attrs[0].flags & kFlagTypeGiven);
  EXPECT_EQ(in.attrs[0].observed_at, *parse_datetime("2026-04-01T06:00:00Z"));
  EXPECT_TRUE(in.attrs[1].flags & kFlagTypeGiven);
  EXPECT_EQ(in.attrs[1].kind, AttrKind::kRelationship);
  EXPECT_FALSE(in.attrs[1].flags & kFlagPayload);
  EXPECT_TRUE(in.attrs[2].flags & kFlagPayload);
  // Outside merge the same attributes are incomplete.
  EXPECT_NE(error(R"({"speed": {"observedAt": "2026-04-01T06:00:00Z"}})"), "ok");
  EXPECT_NE(error(R"({"owner": {"type": "Relationship"}})"), "ok");
}

TEST_F(EntityParserTest, MergeRefusesAnEmptyFragment) {
  std::string e = error(R"({"speed": {}})", ParseMode::kMerge);
  EXPECT_CONTAINS(e, "attribute 'speed'");
  EXPECT_CONTAINS(e, "empty");
}

TEST_F(EntityParserTest, MergeLocationMayBeDeleted) {
  EntityInput in = ok(R"({"location": "urn:ngsi-ld:null"})", ParseMode::kMerge);
  ASSERT_EQ(in.attrs.size(), 1u);
  EXPECT_TRUE(in.attrs[0].flags & kFlagDelete);
}

// ---------------------------------------------------------------------------------------------
// Attribute fragments (PUT/PATCH .../attrs/{attrId})

TEST_F(EntityParserTest, AttributeFragment) {
  JsonDoc doc;
  ASSERT_TRUE(
      parse_json(R"({"@context": "https://example.org/c.jsonld", "value": 5, "unitCode": "CEL"})",
                 doc)
          .ok());
  auto r = parse_attribute_fragment(doc, D("temp"), *cache_.core(), ParseMode::kFragment);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, D("temp"));
  EXPECT_EQ((*r)[0].value, Value::integer(5));
  EXPECT_EQ((*r)[0].unit_code.str(), "CEL");
  EXPECT_TRUE((*r)[0].subs.empty());  // "@context" is no sub-attribute

  // The AttributeFragment request body is one attribute object (ngsi-ld-api.yaml
  // components/requestBodies/AttributeFragment), not an array of instances.
  JsonDoc arr;
  ASSERT_TRUE(parse_json(R"([{"value": 1, "datasetId": "urn:d:1"}, {"value": 2}])", arr).ok());
  auto m = parse_attribute_fragment(arr, D("temp"), *cache_.core(), ParseMode::kFragment);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().kind(), ErrorKind::kBadRequestData);

  JsonDoc ds;
  ASSERT_TRUE(parse_json(R"({"value": 1, "datasetId": "urn:d:1"})", ds).ok());
  auto d = parse_attribute_fragment(ds, D("temp"), *cache_.core(), ParseMode::kFragment);
  ASSERT_TRUE(d.ok()) << d.status().detail();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].dataset_id.str(), "urn:d:1");

  JsonDoc merge;
  ASSERT_TRUE(parse_json(R"({"observedAt": "urn:ngsi-ld:null"})", merge).ok());
  auto p = parse_attribute_fragment(merge, D("temp"), *cache_.core(), ParseMode::kMerge);
  ASSERT_TRUE(p.ok()) << p.status().detail();
  EXPECT_TRUE((*p)[0].flags & kFlagDeleteObservedAt);

  JsonDoc bad;
  ASSERT_TRUE(parse_json("5", bad).ok());
  auto b = parse_attribute_fragment(bad, D("temp"), *cache_.core(), ParseMode::kFragment);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().kind(), ErrorKind::kBadRequestData);

  JsonDoc wrong;
  ASSERT_TRUE(parse_json(R"({"type": "Property"})", wrong).ok());
  auto w = parse_attribute_fragment(wrong, D("temp"), *cache_.core(), ParseMode::kFragment);
  ASSERT_FALSE(w.ok());
  EXPECT_CONTAINS(w.status().detail(), "attribute 'temp'");
}

// ---------------------------------------------------------------------------------------------
// Names and scopes

TEST(ValidNameTest, Cases) {
  for (const char* n : {"speed", "speed#1", "ex:speed", "https://example.org/a?b", "上野",
                        "a-b_c.d", "a/b", "%20"}) {
    EXPECT_TRUE(valid_name(n)) << n;
  }
  for (const char* n : {"", "@id", "@context", "a b", "a\tb", "a<b", "a>b", "a\"b", "a'b", "a=b",
                        "a;b", "a(b", "a)b", "a\\b", "a\x7f", "a\x01"}) {
    EXPECT_FALSE(valid_name(n)) << n;
  }
  EXPECT_TRUE(valid_name(std::string(1024, 'a')));
  EXPECT_FALSE(valid_name(std::string(1025, 'a')));
  // Every byte value inside a name.
  const std::string_view forbidden("<>\"'=;()\\");
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool ok = b > 0x20 && b != 0x7f && forbidden.find(c) == std::string_view::npos;
    EXPECT_EQ(valid_name(std::string("a") + c + "b"), ok) << b;
  }
}

TEST(ValidScopeTest, Cases) {
  for (const char* s : {"/a", "/Tokyo/Parks", "/a/b/c", "/上野", "/a-b_c.d"}) {
    EXPECT_TRUE(valid_scope(s)) << s;
  }
  for (const char* s : {"", "/", "a", "a/b", "/a/", "//a", "/a//b", "/a b", "/a#", "/a+b", "/a?b",
                        "/a\"b", "/a'b", "/a<b", "/a>b", "/a\\b", "/a\x01"}) {
    EXPECT_FALSE(valid_scope(s)) << s;
  }
}

}  // namespace
}  // namespace tsunagu::ngsild
