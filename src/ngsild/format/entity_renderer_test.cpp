// GCC 12 inlines Value's destructor into these tests and misreads a scalar Value's union as a
// heap pointer (-Wfree-nonheap-object false positive; Value frees only string and JSON texts).
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

#include "ngsild/format/entity_renderer.hpp"

#include <gtest/gtest.h>

#include "ngsild/model/test_atoms.hpp"
#include "ngsild/parse/entity_parser.hpp"

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

int64_t T(std::string_view text) {
  return *parse_datetime(text);
}

// Compares JSON texts as values (member order ignored), printing both on mismatch.
::testing::AssertionResult JsonEq(const std::string& actual, const std::string& expected) {
  JsonDoc a, e;
  Status sa = parse_json(actual, a);
  if (!sa.ok()) return ::testing::AssertionFailure() << "actual is not JSON: " << actual;
  Status se = parse_json(expected, e);
  if (!se.ok()) return ::testing::AssertionFailure() << "expected is not JSON: " << expected;
  if (a == e) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\n  actual:   " << actual << "\n  expected: " << expected;
}

Attribute prop(Atom name, Value v) {
  Attribute a;
  a.name = name;
  a.value = std::move(v);
  return a;
}

Attribute of_kind(AttrKind k, Atom name, Value v) {
  Attribute a = prop(name, std::move(v));
  a.kind = k;
  return a;
}

constexpr const char* kPoint = R"({"type":"Point","coordinates":[139.7,35.6]})";

// An entity holding every attribute kind, sub-attributes and metadata.
Entity vehicle() {
  Entity e;
  e.id = "urn:ngsi-ld:Vehicle:A1";
  e.types = {D("Vehicle")};
  e.created_at = T("2026-01-01T00:00:00Z");
  e.modified_at = T("2026-01-02T00:00:00.5Z");
  Attribute speed = prop(D("speed"), Value::integer(55));
  speed.unit_code = A("KMH");
  speed.observed_at = T("2026-04-01T06:00:00Z");
  speed.created_at = T("2026-01-01T00:00:00Z");
  speed.modified_at = T("2026-01-03T00:00:00Z");
  Attribute acc = prop(D("accuracy"), Value::number(0.5));
  acc.created_at = T("2026-01-01T00:00:00Z");
  acc.modified_at = T("2026-01-01T00:00:00Z");
  speed.subs.push_back(acc);
  e.attrs.push_back(speed);
  Attribute owner =
      of_kind(AttrKind::kRelationship, D("owner"), Value::string("urn:ngsi-ld:Person:Bob"));
  owner.value_type = D("Person");
  e.attrs.push_back(owner);
  e.attrs.push_back(of_kind(AttrKind::kGeoProperty, N("location"), Value::json(kPoint)));
  e.attrs.push_back(of_kind(AttrKind::kLanguageProperty, D("name"),
                            Value::json(R"({"en":"Ueno","ja":"上野","@none":"none"})")));
  e.attrs.push_back(of_kind(AttrKind::kVocabProperty, D("category"),
                            Value::string(std::string(kDefault) + "Car")));
  e.attrs.push_back(
      of_kind(AttrKind::kJsonProperty, D("config"), Value::json(R"({"type":"Property","a":1})")));
  e.attrs.push_back(of_kind(AttrKind::kListProperty, D("readings"), Value::json("[1,2,3]")));
  e.attrs.push_back(of_kind(AttrKind::kListRelationship, D("route"),
                            Value::json(R"([{"object":"urn:a:1"},{"object":"urn:a:2"}])")));
  e.attrs.push_back(prop(D("tags"), Value::json(R"(["x","y"])")));
  e.attrs.push_back(prop(D("brand"), Value::string("Mercedes")));
  return e;
}

// An entity with two instances of "speed" (one default) and one of "temp".
Entity multi() {
  Entity e;
  e.id = "urn:ngsi-ld:Vehicle:M";
  e.types = {D("Vehicle")};
  e.attrs.push_back(prop(D("speed"), Value::integer(50)));
  Attribute gps = prop(D("speed"), Value::number(54.5));
  gps.dataset_id = A("urn:ngsi-ld:ds:gps");
  gps.subs.push_back(prop(D("source"), Value::string("GPS")));
  e.attrs.push_back(gps);
  e.attrs.push_back(prop(D("temp"), Value::integer(20)));
  return e;
}

class EntityRendererTest : public ::testing::Test {
 protected:
  EntityRendererTest() : cache_(nullptr, {}) {}

  RenderOptions opts(Format f = Format::kNormalized) {
    RenderOptions o;
    o.ctx = cache_.core().get();
    o.format = f;
    return o;
  }

  // Parses a rendered entity back with the core context (the way a client would send it).
  Result<EntityInput> reparse(const std::string& text, ParseMode mode = ParseMode::kEntity) {
    JsonDoc doc;
    Status st = parse_json(text, doc);
    if (!st.ok()) return st;
    return parse_entity(doc, *cache_.core(), ParseOptions{mode, true, true});
  }

  jsonld::ContextCache cache_;
};

// ---------------------------------------------------------------------------------------------
// Normalized

TEST_F(EntityRendererTest, Normalized) {
  EXPECT_TRUE(JsonEq(render_entity(vehicle(), opts()), R"({
    "id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle",
    "speed": {"type": "Property", "value": 55, "observedAt": "2026-04-01T06:00:00Z", "unitCode": "KMH",
              "accuracy": {"type": "Property", "value": 0.5}},
    "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Bob", "objectType": "Person"},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7, 35.6]}},
    "name": {"type": "LanguageProperty", "languageMap": {"en": "Ueno", "ja": "上野", "@none": "none"}},
    "category": {"type": "VocabProperty", "vocab": "Car"},
    "config": {"type": "JsonProperty", "json": {"type": "Property", "a": 1}},
    "readings": {"type": "ListProperty", "valueList": [1, 2, 3]},
    "route": {"type": "ListRelationship", "objectList": [{"object": "urn:a:1"}, {"object": "urn:a:2"}]},
    "tags": {"type": "Property", "value": ["x", "y"]},
    "brand": {"type": "Property", "value": "Mercedes"}
  })"));
}

TEST_F(EntityRendererTest, NormalizedKeepsAttributeOrder) {
  std::string out = render_entity(vehicle(), opts());
  size_t speed = out.find("\"speed\""), owner = out.find("\"owner\""),
         brand = out.find("\"brand\"");
  EXPECT_LT(speed, owner);
  EXPECT_LT(owner, brand);
  EXPECT_EQ(out.rfind("{\"id\":\"urn:ngsi-ld:Vehicle:A1\",\"type\":\"Vehicle\",", 0), 0u) << out;
}

TEST_F(EntityRendererTest, SeveralTypesAndScopes) {
  Entity e;
  e.id = "urn:a:b";
  e.types = {D("A"), A("https://example.org/B")};
  e.scopes = {"/Tokyo", "/Tokyo/Parks"};
  EXPECT_TRUE(JsonEq(
      render_entity(e, opts()),
      R"({"id": "urn:a:b", "type": ["A", "https://example.org/B"], "scope": ["/Tokyo", "/Tokyo/Parks"]})"));
  e.scopes = {"/Tokyo"};
  EXPECT_TRUE(
      JsonEq(render_entity(e, opts()),
             R"({"id": "urn:a:b", "type": ["A", "https://example.org/B"], "scope": "/Tokyo"})"));
}

TEST_F(EntityRendererTest, NamesAreCompactedWithTheRequestContext) {
  JsonDoc c;
  ASSERT_TRUE(
      parse_json(
          R"({"spd": "https://uri.etsi.org/ngsi-ld/default-context/speed", "Veh": "https://uri.etsi.org/ngsi-ld/default-context/Vehicle", "P": "https://uri.etsi.org/ngsi-ld/default-context/Person"})",
          c)
          .ok());
  auto ctx = cache_.from_json(c);
  ASSERT_TRUE(ctx.ok());
  RenderOptions o = opts();
  o.ctx = ctx->get();
  std::string out = render_entity(vehicle(), o);
  EXPECT_NE(out.find("\"type\":\"Veh\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"spd\":{"), std::string::npos) << out;
  EXPECT_NE(out.find("\"objectType\":\"P\""), std::string::npos) << out;
  EXPECT_EQ(out.find("\"speed\""), std::string::npos) << out;
}

// One RenderOptions renders a whole page: the names it keeps compacted must follow its
// context when that changes, survive slot collisions, and not travel with a copy.
TEST_F(EntityRendererTest, CompactedNamesFollowTheContext) {
  JsonDoc c;
  ASSERT_TRUE(
      parse_json(
          R"({"spd": "https://uri.etsi.org/ngsi-ld/default-context/speed", "q\"x": "https://example.org/q"})",
          c)
          .ok());
  auto ctx = cache_.from_json(c);
  ASSERT_TRUE(ctx.ok());
  const jsonld::Context& core = *cache_.core();
  CompactedNames names;
  const Atom speed = D("speed"), q = A("https://example.org/q");
  EXPECT_EQ(names.quoted(core, speed), "\"speed\"");
  EXPECT_EQ(names.quoted(**ctx, speed), "\"spd\"");
  // "q\"x" is no name a response may use (§4.6.2): the IRI stays, escaped once when kept.
  EXPECT_EQ(names.quoted(**ctx, q), "\"https://example.org/q\"");
  EXPECT_EQ(names.quoted(**ctx, A("https://example.org/q\"x")), "\"https://example.org/q\\\"x\"");
  EXPECT_EQ(names.quoted(core, speed), "\"speed\"");
  // Many names through few slots: each answer is still its own name's.
  std::vector<Atom> many;
  for (int i = 0; i < 300; ++i)
    many.push_back(D("n" + std::to_string(i)));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i)
      ASSERT_EQ(names.quoted(core, many[i]), "\"n" + std::to_string(i) + "\"");
  }
  EXPECT_EQ(names.quoted(core, Atom()), "\"\"");
  // A page rendered with one RenderOptions, then with a copy given another context.
  RenderOptions o = opts();
  std::string first = render_entity(vehicle(), o);
  RenderOptions other = o;
  other.ctx = ctx->get();
  EXPECT_NE(render_entity(vehicle(), other).find("\"spd\":{"), std::string::npos);
  EXPECT_EQ(render_entity(vehicle(), o), first);
}

// The renderer writes kind names and payload members with JsonWriter::plain_key/plain_string,
// which do not escape.
TEST(EntityRendererNames, KindNamesAndPayloadMembersNeedNoEscape) {
  for (int k = 0; k <= static_cast<int>(AttrKind::kListRelationship); ++k) {
    EXPECT_TRUE(JsonWriter::needs_no_escape(kind_name(static_cast<AttrKind>(k)))) << k;
    EXPECT_TRUE(JsonWriter::needs_no_escape(payload_member(static_cast<AttrKind>(k)))) << k;
  }
  EXPECT_FALSE(JsonWriter::needs_no_escape("a\"b"));
  EXPECT_FALSE(JsonWriter::needs_no_escape("tab\t"));
}

TEST_F(EntityRendererTest, ExpandedNamesWithoutAContext) {
  RenderOptions o;
  std::string out = render_entity(vehicle(), o);
  EXPECT_NE(out.find("\"https://uri.etsi.org/ngsi-ld/default-context/speed\":{"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\"vocab\":\"https://uri.etsi.org/ngsi-ld/default-context/Car\""),
            std::string::npos)
      << out;
}

TEST_F(EntityRendererTest, SysAttrs) {
  RenderOptions o = opts();
  o.sys_attrs = true;
  Entity e = vehicle();
  e.attrs.resize(1);
  EXPECT_TRUE(JsonEq(render_entity(e, o), R"({
    "id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle",
    "createdAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-01-02T00:00:00.500Z",
    "speed": {"type": "Property", "value": 55, "observedAt": "2026-04-01T06:00:00Z", "unitCode": "KMH",
              "createdAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-01-03T00:00:00Z",
              "accuracy": {"type": "Property", "value": 0.5,
                           "createdAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-01-01T00:00:00Z"}}
  })"));
  // Without sysAttrs no system timestamps appear anywhere.
  std::string plain = render_entity(e, opts());
  EXPECT_EQ(plain.find("createdAt"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("modifiedAt"), std::string::npos) << plain;
}

TEST_F(EntityRendererTest, MultiInstanceNormalized) {
  EXPECT_TRUE(JsonEq(render_entity(multi(), opts()), R"({
    "id": "urn:ngsi-ld:Vehicle:M", "type": "Vehicle",
    "speed": [{"type": "Property", "value": 50},
              {"type": "Property", "value": 54.5, "datasetId": "urn:ngsi-ld:ds:gps",
               "source": {"type": "Property", "value": "GPS"}}],
    "temp": {"type": "Property", "value": 20}
  })"));
}

TEST_F(EntityRendererTest, WithContext) {
  RenderOptions o = opts();
  o.with_context = true;
  Entity e;
  e.id = "urn:a:b";
  e.types = {D("T")};
  EXPECT_TRUE(JsonEq(
      render_entity(e, o),
      R"({"id": "urn:a:b", "type": "T", "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"})"));
}

// ---------------------------------------------------------------------------------------------
// Concise

TEST_F(EntityRendererTest, Concise) {
  EXPECT_TRUE(JsonEq(render_entity(vehicle(), opts(Format::kConcise)), R"({
    "id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle",
    "speed": {"value": 55, "observedAt": "2026-04-01T06:00:00Z", "unitCode": "KMH", "accuracy": 0.5},
    "owner": {"object": "urn:ngsi-ld:Person:Bob", "objectType": "Person"},
    "location": {"type": "Point", "coordinates": [139.7, 35.6]},
    "name": {"languageMap": {"en": "Ueno", "ja": "上野", "@none": "none"}},
    "category": {"vocab": "Car"},
    "config": {"json": {"type": "Property", "a": 1}},
    "readings": {"valueList": [1, 2, 3]},
    "route": {"objectList": [{"object": "urn:a:1"}, {"object": "urn:a:2"}]},
    "tags": {"value": ["x", "y"]},
    "brand": "Mercedes"
  })"));
}

// Concise is lossless (§4.5.1): what it renders must parse back to the same attributes.
TEST_F(EntityRendererTest, ConciseReadsBackToTheSameAttributes) {
  Entity e = vehicle();
  std::string text = render_entity(e, opts(Format::kConcise));
  auto in = reparse(text);
  ASSERT_TRUE(in.ok()) << in.status().detail() << "\n" << text;
  ASSERT_EQ(in->attrs.size(), e.attrs.size()) << text;
  for (size_t i = 0; i < e.attrs.size(); ++i) {
    EXPECT_EQ(in->attrs[i].name, e.attrs[i].name);
    EXPECT_EQ(in->attrs[i].kind, e.attrs[i].kind) << e.attrs[i].name.str();
    EXPECT_EQ(in->attrs[i].value, e.attrs[i].value) << e.attrs[i].name.str();
  }
}

// A Property (not a GeoProperty) whose value happens to be a GeoJSON geometry: without its
// "type" the concise form reads back as a GeoProperty.
TEST_F(EntityRendererTest, ConcisePropertyHoldingAGeometryKeepsItsType) {
  Entity e;
  e.id = "urn:a:b";
  e.types = {D("T")};
  e.attrs.push_back(prop(D("shape"), Value::json(kPoint)));
  std::string text = render_entity(e, opts(Format::kConcise));
  auto in = reparse(text);
  ASSERT_TRUE(in.ok()) << in.status().detail() << "\n" << text;
  ASSERT_EQ(in->attrs.size(), 1u);
  EXPECT_EQ(in->attrs[0].kind, AttrKind::kProperty) << text;
  EXPECT_EQ(in->attrs[0].value, Value::json(kPoint));
}

// In a multi-attribute, a bare value as the first element makes the array read back as one
// Property whose value is the array.
TEST_F(EntityRendererTest, ConciseMultiInstanceReadsBackAsInstances) {
  Entity e = multi();
  std::string text = render_entity(e, opts(Format::kConcise));
  auto in = reparse(text);
  ASSERT_TRUE(in.ok()) << in.status().detail() << "\n" << text;
  ASSERT_EQ(in->attrs.size(), 3u) << text;
  EXPECT_EQ(in->attrs[0].value, Value::integer(50)) << text;
  EXPECT_TRUE(in->attrs[0].dataset_id.empty());
  EXPECT_EQ(in->attrs[1].dataset_id.str(), "urn:ngsi-ld:ds:gps") << text;
  EXPECT_EQ(in->attrs[1].value, Value::number(54.5));
}

TEST_F(EntityRendererTest, ConciseNeverBareWithMetadataOrSysAttrs) {
  Entity e;
  e.id = "urn:a:b";
  e.types = {D("T")};
  Attribute p = prop(D("p"), Value::integer(1));
  p.value_type = D("Int");
  e.attrs.push_back(p);
  Attribute q = prop(D("qq"), Value::integer(2));
  q.dataset_id = A("urn:d:1");
  e.attrs.push_back(q);
  EXPECT_TRUE(JsonEq(render_entity(e, opts(Format::kConcise)), R"({
    "id": "urn:a:b", "type": "T",
    "p": {"value": 1, "valueType": "Int"},
    "qq": {"value": 2, "datasetId": "urn:d:1"}
  })"));
  RenderOptions o = opts(Format::kConcise);
  o.sys_attrs = true;
  e.attrs.resize(1);
  e.attrs[0].value_type = Atom();
  e.attrs[0].created_at = T("2026-01-01T00:00:00Z");
  EXPECT_TRUE(JsonEq(render_entity(e, o), R"({
    "id": "urn:a:b", "type": "T",
    "p": {"value": 1, "createdAt": "2026-01-01T00:00:00Z"}
  })"));
}

// ---------------------------------------------------------------------------------------------
// keyValues (simplified, §4.5.4)

TEST_F(EntityRendererTest, KeyValues) {
  EXPECT_TRUE(JsonEq(render_entity(vehicle(), opts(Format::kKeyValues)), R"({
    "id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle",
    "speed": 55,
    "owner": "urn:ngsi-ld:Person:Bob",
    "location": {"type": "Point", "coordinates": [139.7, 35.6]},
    "name": {"languageMap": {"en": "Ueno", "ja": "上野", "@none": "none"}},
    "category": {"vocab": "Car"},
    "config": {"json": {"type": "Property", "a": 1}},
    "readings": {"valueList": [1, 2, 3]},
    "route": {"objectList": ["urn:a:1", "urn:a:2"]},
    "tags": ["x", "y"],
    "brand": "Mercedes"
  })"));
}

TEST_F(EntityRendererTest, KeyValuesWithLanguage) {
  RenderOptions o = opts(Format::kKeyValues);
  o.lang = "ja";
  std::string out = render_entity(vehicle(), o);
  EXPECT_NE(out.find("\"name\":\"上野\""), std::string::npos) << out;
}

TEST_F(EntityRendererTest, KeyValuesMultiInstance) {
  EXPECT_TRUE(JsonEq(render_entity(multi(), opts(Format::kKeyValues)), R"({
    "id": "urn:ngsi-ld:Vehicle:M", "type": "Vehicle",
    "speed": {"dataset": {"@none": 50, "urn:ngsi-ld:ds:gps": 54.5}},
    "temp": 20
  })"));
}

TEST_F(EntityRendererTest, KeyValuesSingleNonDefaultInstanceIsBare) {
  Entity e = multi();
  e.attrs.erase(e.attrs.begin());
  std::string out = render_entity(e, opts(Format::kKeyValues));
  EXPECT_TRUE(JsonEq(
      out, R"({"id": "urn:ngsi-ld:Vehicle:M", "type": "Vehicle", "speed": 54.5, "temp": 20})"));
}

// ---------------------------------------------------------------------------------------------
// Projection, language, datasetId

TEST_F(EntityRendererTest, PickAttributes) {
  RenderOptions o = opts(Format::kKeyValues);
  o.projection.pick = true;
  o.projection.pick_attrs = {D("speed"), D("brand")};
  o.projection.pick_id = true;
  EXPECT_TRUE(JsonEq(render_entity(vehicle(), o),
                     R"({"id": "urn:ngsi-ld:Vehicle:A1", "speed": 55, "brand": "Mercedes"})"));
  o.projection.pick_id = false;
  o.projection.pick_type = true;
  o.projection.pick_attrs = {};
  EXPECT_TRUE(JsonEq(render_entity(vehicle(), o), R"({"type": "Vehicle"})"));
}

TEST_F(EntityRendererTest, OmitAttributes) {
  RenderOptions o = opts(Format::kKeyValues);
  Entity e = vehicle();
  e.attrs.resize(2);
  e.scopes = {"/a"};
  o.projection.omit_attrs = {D("speed")};
  o.projection.omit_type = true;
  o.projection.omit_scope = true;
  EXPECT_TRUE(JsonEq(render_entity(e, o),
                     R"({"id": "urn:ngsi-ld:Vehicle:A1", "owner": "urn:ngsi-ld:Person:Bob"})"));
  o.projection = {};
  o.projection.omit_id = true;
  EXPECT_TRUE(JsonEq(render_entity(e, o), R"({"type": "Vehicle", "scope": "/a",
      "speed": 55, "owner": "urn:ngsi-ld:Person:Bob"})"));
}

TEST_F(EntityRendererTest, ProjectionAppliesToTopLevelAttributesOnly) {
  RenderOptions o = opts();
  o.projection.pick = true;
  o.projection.pick_attrs = {D("speed")};
  std::string out = render_entity(vehicle(), o);
  EXPECT_NE(out.find("\"accuracy\""), std::string::npos) << out;
}

TEST_F(EntityRendererTest, LanguageReductionNormalized) {
  RenderOptions o = opts();
  o.lang = "ja";
  Entity e = vehicle();
  e.attrs = {e.attrs[3]};
  EXPECT_TRUE(JsonEq(render_entity(e, o), R"({"id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle",
      "name": {"type": "Property", "value": "上野", "lang": "ja"}})"));
  o.lang = "fr";
  EXPECT_TRUE(JsonEq(render_entity(e, o), R"({"id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle",
      "name": {"type": "Property", "value": "none", "lang": "@none"}})"));
  o.format = Format::kConcise;
  o.lang = "en";
  EXPECT_TRUE(JsonEq(render_entity(e, o), R"({"id": "urn:ngsi-ld:Vehicle:A1", "type": "Vehicle",
      "name": {"value": "Ueno", "lang": "en"}})"));
}

TEST(BestLanguageTest, ExactPrimarySubtagNoneFirst) {
  std::string v;
  const char* map = R"({"en-GB":"colour","en":"color","ja":"色","@none":"?"})";
  EXPECT_EQ(best_language(map, "ja", v), "ja");
  EXPECT_EQ(v, "\"色\"");
  EXPECT_EQ(best_language(map, "JA", v), "ja");
  EXPECT_EQ(best_language(map, "en", v), "en");  // exact beats an earlier primary-subtag match
  EXPECT_EQ(v, "\"color\"");
  EXPECT_EQ(best_language(map, "en-GB", v), "en-GB");
  EXPECT_EQ(best_language(map, "en-US", v), "en-GB");  // primary subtag "en", first such tag
  EXPECT_EQ(best_language(map, "fr", v), "@none");
  EXPECT_EQ(v, "\"?\"");
  EXPECT_EQ(best_language(R"({"de":"Farbe","fr":"couleur"})", "ja", v), "de");
  EXPECT_EQ(v, "\"Farbe\"");
  EXPECT_EQ(best_language(R"({"en-US":"a"})", "en", v), "en-US");
  EXPECT_EQ(best_language(map, "fr,ja;q=0.5", v), "ja");
  EXPECT_EQ(best_language(map, " fr , en-GB ;q=0.9", v), "en-GB");
  EXPECT_EQ(best_language(map, "*", v), "@none");
  EXPECT_EQ(best_language(R"({"ja":["上野","うえの"]})", "ja", v), "ja");
  EXPECT_EQ(v, R"(["上野","うえの"])");
  EXPECT_EQ(best_language("{}", "ja", v), "");
  EXPECT_EQ(v, "null");
}

TEST_F(EntityRendererTest, DatasetIdFilter) {
  RenderOptions o = opts();
  o.dataset_filter = true;
  o.dataset_ids = {A("urn:ngsi-ld:ds:gps")};
  std::string out = render_entity(multi(), o);
  EXPECT_TRUE(JsonEq(out, R"({"id": "urn:ngsi-ld:Vehicle:M", "type": "Vehicle",
      "speed": {"type": "Property", "value": 54.5, "datasetId": "urn:ngsi-ld:ds:gps",
                "source": {"type": "Property", "value": "GPS"}}})"));
  o.dataset_ids = {A("@none")};
  EXPECT_TRUE(
      JsonEq(render_entity(multi(), o), R"({"id": "urn:ngsi-ld:Vehicle:M", "type": "Vehicle",
      "speed": {"type": "Property", "value": 50}, "temp": {"type": "Property", "value": 20}})"));
  o.dataset_ids = {A("@none"), A("urn:ngsi-ld:ds:gps")};
  o.format = Format::kKeyValues;
  EXPECT_TRUE(
      JsonEq(render_entity(multi(), o), R"({"id": "urn:ngsi-ld:Vehicle:M", "type": "Vehicle",
      "speed": {"dataset": {"@none": 50, "urn:ngsi-ld:ds:gps": 54.5}}, "temp": 20})"));
  o.dataset_ids = {A("urn:ngsi-ld:ds:none-such")};
  EXPECT_TRUE(
      JsonEq(render_entity(multi(), o), R"({"id": "urn:ngsi-ld:Vehicle:M", "type": "Vehicle"})"));
}

// ---------------------------------------------------------------------------------------------
// GeoJSON (§4.5.16)

TEST_F(EntityRendererTest, Feature) {
  Entity e = vehicle();
  e.attrs = {e.attrs[0], e.attrs[2]};
  std::string out;
  JsonWriter w(out);
  render_feature(e, opts(Format::kKeyValues), N("location"), w);
  EXPECT_TRUE(JsonEq(out, R"({"id": "urn:ngsi-ld:Vehicle:A1", "type": "Feature",
      "geometry": {"type": "Point", "coordinates": [139.7, 35.6]},
      "properties": {"type": "Vehicle", "speed": 55,
                     "location": {"type": "Point", "coordinates": [139.7, 35.6]}}})"));
}

TEST_F(EntityRendererTest, FeatureWithContextAndNormalizedProperties) {
  Entity e = vehicle();
  e.attrs = {e.attrs[2]};
  RenderOptions o = opts();
  o.with_context = true;
  std::string out;
  JsonWriter w(out);
  render_feature(e, o, N("location"), w);
  EXPECT_TRUE(JsonEq(out, R"({"id": "urn:ngsi-ld:Vehicle:A1", "type": "Feature",
      "geometry": {"type": "Point", "coordinates": [139.7, 35.6]},
      "properties": {"type": "Vehicle",
                     "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7, 35.6]}}},
      "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"})"));
}

TEST_F(EntityRendererTest, FeatureGeometryIsNullWhenAbsentOrNotGeo) {
  Entity e = vehicle();
  for (Atom g : {D("nowhere"), D("brand")}) {
    std::string out;
    JsonWriter w(out);
    render_feature(e, opts(Format::kKeyValues), g, w);
    JsonDoc d;
    ASSERT_TRUE(parse_json(out, d).ok()) << out;
    EXPECT_TRUE(d["geometry"].IsNull()) << out;
    EXPECT_EQ(std::string(d["type"].GetString()), "Feature");
  }
}

TEST_F(EntityRendererTest, FeatureUsesTheFirstInstanceWithoutADefault) {
  Entity e;
  e.id = "urn:a:b";
  e.types = {D("T")};
  Attribute g = of_kind(AttrKind::kGeoProperty, N("location"), Value::json(kPoint));
  g.dataset_id = A("urn:d:1");
  e.attrs.push_back(g);
  std::string out;
  JsonWriter w(out);
  render_feature(e, opts(Format::kKeyValues), N("location"), w);
  JsonDoc d;
  ASSERT_TRUE(parse_json(out, d).ok()) << out;
  EXPECT_TRUE(d["geometry"].IsObject()) << out;
}

// ---------------------------------------------------------------------------------------------
// System attributes

// With sysAttrs a response carries every attribute's times, also those equal to its holder's
// (which the store's document leaves out: store/codec).
TEST_F(EntityRendererTest, SysAttrsShowEveryAttributesTimes) {
  Entity e = vehicle();  // speed: created with the entity, modified later; its accuracy:
                         // created with speed, modified before it
  for (size_t i = 1; i < e.attrs.size(); ++i) {  // the others: as stamped by one update
    e.attrs[i].created_at = e.created_at;
    e.attrs[i].modified_at = e.modified_at;
  }
  Attribute late = prop(D("late"), Value::integer(1));
  late.created_at = T("2026-01-02T00:00:00.5Z");  // appended by the last update
  late.modified_at = e.modified_at;
  Attribute late_sub = prop(D("note"), Value::integer(2));
  late_sub.created_at = late.created_at;
  late_sub.modified_at = late.modified_at;
  late.subs.push_back(late_sub);
  e.attrs.push_back(late);
  RenderOptions o = opts();
  o.sys_attrs = true;
  const std::string shown = render_entity(e, o);
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = shown.find(what); at != std::string::npos; at = shown.find(what, at + 1))
      ++n;
    return n;
  };
  // The entity, every attribute, and the two sub-attributes.
  EXPECT_EQ(count("\"createdAt\""), 1 + e.attrs.size() + 2) << shown;
  EXPECT_EQ(count("\"modifiedAt\""), 1 + e.attrs.size() + 2) << shown;
  EXPECT_EQ(shown.find("\"createdAt\"", shown.find("\"note\"")),
            shown.find("\"createdAt\":\"2026-01-02T00:00:00.500Z\"", shown.find("\"note\"")))
      << shown;
}

}  // namespace
}  // namespace tsunagu::ngsild
