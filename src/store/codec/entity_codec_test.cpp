// GCC 12 inlines Value's destructor into these tests and misreads a scalar Value's union as a
// heap pointer (-Wfree-nonheap-object false positive; Value frees only string and JSON texts).
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

#include "store/codec/entity_codec.hpp"

#include <gtest/gtest.h>

#include "common/test_random.hpp"
#include "common/time.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/model/test_atoms.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "store/codec/test_entities.hpp"

namespace tsunagu::store {
namespace {

using ngsild::Attribute;
using ngsild::AttrKind;
using ngsild::Entity;
using ngsild::Value;
using ngsild::test_atoms::A;
using ngsild::test_atoms::D;
using ngsild::test_atoms::N;
using test_entities::expect_same_entity;

int64_t T(std::string_view iso) {
  return *parse_datetime(iso);
}

Attribute attr(AttrKind kind, Atom name, Value v, int64_t created, int64_t modified) {
  Attribute a;
  a.kind = kind;
  a.name = name;
  a.value = std::move(v);
  a.created_at = created;
  a.modified_at = modified;
  return a;
}

// A vehicle after a create and two updates: speed has a second instance (datasetId) added later
// and a sub-attribute modified before it; owner a type of its object.
Entity vehicle() {
  Entity e;
  e.id = "urn:ngsi-ld:Vehicle:A4567";
  e.types = {D("Vehicle")};
  e.scopes = {"/Tokyo/Ueno"};
  e.created_at = T("2026-01-01T00:00:00Z");
  e.modified_at = T("2026-01-03T00:00:00Z");
  Attribute speed =
      attr(AttrKind::kProperty, D("speed"), Value::number(55.5), e.created_at, e.modified_at);
  speed.observed_at = T("2026-01-02T23:59:58.25Z");
  speed.unit_code = A("KMH");
  speed.subs.push_back(attr(AttrKind::kProperty, D("accuracy"), Value::number(0.5), e.created_at,
                            T("2026-01-02T00:00:00Z")));
  e.attrs.push_back(speed);
  Attribute gps = attr(AttrKind::kProperty, D("speed"), Value::integer(54),
                       T("2026-01-02T00:00:00.5Z"), e.modified_at);
  gps.dataset_id = A("urn:ngsi-ld:Dataset:gps");
  e.attrs.push_back(gps);
  e.attrs.push_back(
      attr(AttrKind::kProperty, D("brand"), Value::string("Mercedes"), e.created_at, e.created_at));
  Attribute owner = attr(AttrKind::kRelationship, D("owner"),
                         Value::string("urn:ngsi-ld:Person:Bob"), e.created_at, e.created_at);
  owner.value_type = A("https://example.org/Person");
  owner.observed_at = T("2025-12-31T12:00:00Z");
  e.attrs.push_back(owner);
  return e;
}

// One attribute of every kind, on an entity of two types and two scopes, and sub-attributes two
// deep.
Entity every_kind() {
  Entity e;
  e.id = "urn:ngsi-ld:Bridge:kinds";
  e.types = {A("https://example.org/Bridge"), D("Structure")};
  e.scopes = {"/Tokyo", "/Tokyo/Sumida"};
  e.created_at = T("2026-02-01T08:00:00.123Z");
  e.modified_at = T("2026-02-01T08:00:00.123456Z");
  const int64_t c = e.created_at, m = e.modified_at;
  auto add = [&](AttrKind kind, Atom name, Value v) {
    e.attrs.push_back(attr(kind, name, std::move(v), c, m));
    return &e.attrs.back();
  };
  add(AttrKind::kGeoProperty, N("location"),
      Value::json(R"({"type":"Point","coordinates":[139.8839,36.5551]})"));
  add(AttrKind::kGeoProperty, D("area"),
      Value::json(R"({"type":"Polygon","coordinates":[[[139.8,35.7],[139.81,35.7],)"
                  R"([139.81,35.71],[139.8,35.7]]]})"));
  add(AttrKind::kLanguageProperty, D("name"),
      Value::json("{\"en\":\"Kototoi Bridge\",\"ja\":\"\xe8\xa8\x80\xe5\x95\x8f\xe6\xa9\x8b\","
                  "\"@none\":[\"a\",\"b\"]}"));
  add(AttrKind::kVocabProperty, D("category"), Value::string("https://example.org/Arch"));
  add(AttrKind::kVocabProperty, D("modes"),
      Value::json(R"(["https://example.org/Walk","https://example.org/Drive"])"));
  Attribute* config =
      add(AttrKind::kJsonProperty, D("config"), Value::json(R"({"a":null,"b":[true,false]})"));
  Attribute provider = attr(AttrKind::kProperty, D("provider"), Value::string("city"), c, m);
  provider.subs.push_back(
      attr(AttrKind::kProperty, D("note"), Value::string("checked"), m, m + 1000));
  config->subs.push_back(provider);
  add(AttrKind::kJsonProperty, D("count"), Value::integer(7));
  add(AttrKind::kListProperty, D("readings"), Value::json(R"([1,2.5,"x",null,[]])"));
  add(AttrKind::kListRelationship, D("members"),
      Value::json(R"([{"object":"urn:ngsi-ld:Pier:1"},{"object":"urn:ngsi-ld:Pier:2"}])"));
  add(AttrKind::kRelationship, D("connects"),
      Value::json(R"(["urn:ngsi-ld:Road:1","urn:ngsi-ld:Road:2"])"))
      ->value_type = D("Road");
  add(AttrKind::kProperty, D("structure"), Value::json(R"({"deck":{"spans":[1,{"m":150.5}]}})"))
      ->value_type = A("https://example.org/Structure");
  add(AttrKind::kProperty, D("open"), Value::boolean(true));
  return e;
}

// Names, strings and numbers that JSON must escape or that sit at the edge of what it holds.
Entity escapes() {
  Entity e;
  e.id = "urn:ngsi-ld:Thing:'q'(\xc3\xa9)";
  e.types = {A("http://example.org/t;v=1")};
  e.created_at = T("1969-07-20T20:17:40.123456Z");
  e.modified_at = T("2026-03-04T05:06:07Z");
  const int64_t c = e.created_at, m = e.modified_at;
  Attribute text = attr(
      AttrKind::kProperty, A("http://example.org/vocab?name=q"),
      Value::string(std::string("quote \" backslash \\ newline \n tab \t ctrl \x01 del \x7f nul ") +
                    std::string(1, '\0') +
                    " \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac \xe2\x80\xa8 /"),
      c, m);
  text.unit_code = A("a\"b");
  text.dataset_id = A("urn:x:\xc3\xa9");
  text.observed_at = T("1969-07-20T20:17:40.123456Z");
  e.attrs.push_back(text);
  const double numbers[] = {-0.0, 1e-7, 1.7976931348623157e308, 1e21, 5e-324, -1.25e-7};
  for (size_t i = 0; i < std::size(numbers); ++i) {
    e.attrs.push_back(attr(AttrKind::kProperty, A("https://example.org/a\"b\\" + std::to_string(i)),
                           Value::number(numbers[i]), c, m));
  }
  e.attrs.push_back(
      attr(AttrKind::kProperty, A("https://example.org/min"), Value::integer(INT64_MIN), c, m));
  e.attrs.push_back(attr(AttrKind::kProperty, A("https://example.org/\xe5\x90\x8d\xe5\x89\x8d"),
                         Value::json("{\"\\u0000\\n\":\"\\\"\",\"\xc3\xa9\":-0.0}"), c, m));
  return e;
}

// Only what every entity has.
Entity minimal() {
  Entity e;
  e.id = "urn:a:b";
  e.types = {A("T")};
  e.created_at = T("2026-01-01T00:00:00Z");
  e.modified_at = e.created_at;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Documents as they were written before the codec (by the API renderer's stored mode), byte for
// byte: what is on disk must keep reading as it did, and the same entity must keep being written
// the same, so that older and newer builds can share a store.

const char* const kVehicleDoc =
    R"doc({"id":"urn:ngsi-ld:Vehicle:A4567","type":"https://uri.etsi.org/ngsi-ld/default-context/Vehicle","scope":"/Tokyo/Ueno","createdAt":"2026-01-01T00:00:00Z","modifiedAt":"2026-01-03T00:00:00Z","https://uri.etsi.org/ngsi-ld/default-context/speed":[{"type":"Property","value":55.5,"observedAt":"2026-01-02T23:59:58.250Z","unitCode":"KMH","https://uri.etsi.org/ngsi-ld/default-context/accuracy":{"type":"Property","value":0.5,"modifiedAt":"2026-01-02T00:00:00Z"}},{"type":"Property","value":54,"datasetId":"urn:ngsi-ld:Dataset:gps","createdAt":"2026-01-02T00:00:00.500Z"}],"https://uri.etsi.org/ngsi-ld/default-context/brand":{"type":"Property","value":"Mercedes","modifiedAt":"2026-01-01T00:00:00Z"},"https://uri.etsi.org/ngsi-ld/default-context/owner":{"type":"Relationship","object":"urn:ngsi-ld:Person:Bob","objectType":"https://example.org/Person","observedAt":"2025-12-31T12:00:00Z","modifiedAt":"2026-01-01T00:00:00Z"}})doc";

const char* const kEveryKindDoc =
    R"doc({"id":"urn:ngsi-ld:Bridge:kinds","type":["https://example.org/Bridge","https://uri.etsi.org/ngsi-ld/default-context/Structure"],"scope":["/Tokyo","/Tokyo/Sumida"],"createdAt":"2026-02-01T08:00:00.123Z","modifiedAt":"2026-02-01T08:00:00.123456Z","https://uri.etsi.org/ngsi-ld/location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[139.8839,36.5551]}},"https://uri.etsi.org/ngsi-ld/default-context/area":{"type":"GeoProperty","value":{"type":"Polygon","coordinates":[[[139.8,35.7],[139.81,35.7],[139.81,35.71],[139.8,35.7]]]}},"https://uri.etsi.org/ngsi-ld/default-context/name":{"type":"LanguageProperty","languageMap":{"en":"Kototoi Bridge","ja":"言問橋","@none":["a","b"]}},"https://uri.etsi.org/ngsi-ld/default-context/category":{"type":"VocabProperty","vocab":"https://example.org/Arch"},"https://uri.etsi.org/ngsi-ld/default-context/modes":{"type":"VocabProperty","vocab":["https://example.org/Walk","https://example.org/Drive"]},"https://uri.etsi.org/ngsi-ld/default-context/config":{"type":"JsonProperty","json":{"a":null,"b":[true,false]},"https://uri.etsi.org/ngsi-ld/default-context/provider":{"type":"Property","value":"city","https://uri.etsi.org/ngsi-ld/default-context/note":{"type":"Property","value":"checked","createdAt":"2026-02-01T08:00:00.123456Z","modifiedAt":"2026-02-01T08:00:00.124456Z"}}},"https://uri.etsi.org/ngsi-ld/default-context/count":{"type":"JsonProperty","json":7},"https://uri.etsi.org/ngsi-ld/default-context/readings":{"type":"ListProperty","valueList":[1,2.5,"x",null,[]]},"https://uri.etsi.org/ngsi-ld/default-context/members":{"type":"ListRelationship","objectList":[{"object":"urn:ngsi-ld:Pier:1"},{"object":"urn:ngsi-ld:Pier:2"}]},"https://uri.etsi.org/ngsi-ld/default-context/connects":{"type":"Relationship","object":["urn:ngsi-ld:Road:1","urn:ngsi-ld:Road:2"],"objectType":"https://uri.etsi.org/ngsi-ld/default-context/Road"},"https://uri.etsi.org/ngsi-ld/default-context/structure":{"type":"Property","value":{"deck":{"spans":[1,{"m":150.5}]}},"valueType":"https://example.org/Structure"},"https://uri.etsi.org/ngsi-ld/default-context/open":{"type":"Property","value":true}})doc";

// With a DEL and a U+2028 LINE SEPARATOR, which JSON carries unescaped, spelt out.
const char* const kEscapesDoc =
    R"doc({"id":"urn:ngsi-ld:Thing:'q'(é)","type":"http://example.org/t;v=1","createdAt":"1969-07-20T20:17:40.123456Z","modifiedAt":"2026-03-04T05:06:07Z","http://example.org/vocab?name=q":{"type":"Property","value":"quote \" backslash \\ newline \n tab \t ctrl \u0001 del )doc"
    "\x7f"
    R"doc( nul \u0000 😀 日本 )doc"
    "\xe2\x80\xa8"
    R"doc( /","observedAt":"1969-07-20T20:17:40.123456Z","unitCode":"a\"b","datasetId":"urn:x:é"},"https://example.org/a\"b\\0":{"type":"Property","value":-0.0},"https://example.org/a\"b\\1":{"type":"Property","value":1e-07},"https://example.org/a\"b\\2":{"type":"Property","value":1.7976931348623157e+308},"https://example.org/a\"b\\3":{"type":"Property","value":1e+21},"https://example.org/a\"b\\4":{"type":"Property","value":5e-324},"https://example.org/a\"b\\5":{"type":"Property","value":-1.25e-07},"https://example.org/min":{"type":"Property","value":-9223372036854775808},"https://example.org/名前":{"type":"Property","value":{"\u0000\n":"\"","é":-0.0}}})doc";

const char* const kMinimalDoc =
    R"doc({"id":"urn:a:b","type":"T","createdAt":"2026-01-01T00:00:00Z","modifiedAt":"2026-01-01T00:00:00Z"})doc";

struct Golden {
  const char* name;
  Entity (*entity)();
  const char* doc;
};
const Golden kGolden[] = {{"vehicle", vehicle, kVehicleDoc},
                          {"every_kind", every_kind, kEveryKindDoc},
                          {"escapes", escapes, kEscapesDoc},
                          {"minimal", minimal, kMinimalDoc}};

TEST(EntityCodecTest, GoldenDocumentsAreWrittenAndReadAsBefore) {
  for (const Golden& g : kGolden) {
    SCOPED_TRACE(g.name);
    const Entity want = g.entity();
    EXPECT_EQ(encode_entity(want), g.doc);
    auto got = decode_entity(g.doc);
    ASSERT_TRUE(got.ok()) << got.status().detail();
    expect_same_entity(*got, want);
    EXPECT_EQ(encode_entity(*got), g.doc);
  }
}

TEST(EntityCodecTest, GoldenVehicleReadsBackEveryField) {
  auto r = decode_entity(kVehicleDoc);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  const Entity& e = *r;
  EXPECT_EQ(e.id, "urn:ngsi-ld:Vehicle:A4567");
  EXPECT_EQ(e.types, std::vector<Atom>{D("Vehicle")});
  EXPECT_EQ(e.scopes, std::vector<std::string>{"/Tokyo/Ueno"});
  EXPECT_EQ(e.row, 0u);
  ASSERT_EQ(e.attrs.size(), 4u);
  const Attribute& speed = e.attrs[0];
  EXPECT_EQ(speed.name, D("speed"));
  EXPECT_EQ(speed.kind, AttrKind::kProperty);
  EXPECT_EQ(speed.value.type(), Value::Type::kDouble);
  EXPECT_EQ(speed.value.as_double(), 55.5);
  EXPECT_EQ(speed.unit_code, A("KMH"));
  EXPECT_TRUE(speed.dataset_id.empty());
  EXPECT_EQ(speed.observed_at, T("2026-01-02T23:59:58.25Z"));
  EXPECT_EQ(speed.created_at, T("2026-01-01T00:00:00Z"));   // left out: the entity's
  EXPECT_EQ(speed.modified_at, T("2026-01-03T00:00:00Z"));  // likewise
  ASSERT_EQ(speed.subs.size(), 1u);
  EXPECT_EQ(speed.subs[0].name, D("accuracy"));
  EXPECT_EQ(speed.subs[0].created_at, speed.created_at);  // left out: speed's
  EXPECT_EQ(speed.subs[0].modified_at, T("2026-01-02T00:00:00Z"));
  const Attribute& gps = e.attrs[1];
  EXPECT_EQ(gps.name, D("speed"));
  EXPECT_EQ(gps.dataset_id, A("urn:ngsi-ld:Dataset:gps"));
  EXPECT_EQ(gps.value.type(), Value::Type::kInt);
  EXPECT_EQ(gps.value.as_int(), 54);
  EXPECT_EQ(gps.created_at, T("2026-01-02T00:00:00.5Z"));
  EXPECT_EQ(gps.observed_at, kNoTime);
  EXPECT_EQ(e.attrs[2].value, Value::string("Mercedes"));
  const Attribute& owner = e.attrs[3];
  EXPECT_EQ(owner.kind, AttrKind::kRelationship);
  EXPECT_EQ(owner.value, Value::string("urn:ngsi-ld:Person:Bob"));
  EXPECT_EQ(owner.value_type, A("https://example.org/Person"));
  EXPECT_EQ(owner.modified_at, T("2026-01-01T00:00:00Z"));
  for (const Attribute& a : e.attrs)
    EXPECT_EQ(a.flags, 0) << a.name.str();
}

TEST(EntityCodecTest, GoldenEveryKindReadsBackEachPayload) {
  auto r = decode_entity(kEveryKindDoc);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  const Entity& e = *r;
  EXPECT_EQ(e.types, (std::vector<Atom>{A("https://example.org/Bridge"), D("Structure")}));
  EXPECT_EQ(e.scopes, (std::vector<std::string>{"/Tokyo", "/Tokyo/Sumida"}));
  auto kind_and_text = [&](Atom name) {
    const Attribute* a = e.find(name);
    return a == nullptr ? std::string("missing")
                        : std::string(ngsild::kind_name(a->kind)) + " " + a->value.to_json();
  };
  EXPECT_EQ(kind_and_text(N("location")),
            R"(GeoProperty {"type":"Point","coordinates":[139.8839,36.5551]})");
  EXPECT_EQ(kind_and_text(D("category")), R"(VocabProperty "https://example.org/Arch")");
  EXPECT_EQ(kind_and_text(D("modes")),
            R"(VocabProperty ["https://example.org/Walk","https://example.org/Drive"])");
  EXPECT_EQ(kind_and_text(D("count")), "JsonProperty 7");
  EXPECT_EQ(kind_and_text(D("readings")), R"(ListProperty [1,2.5,"x",null,[]])");
  EXPECT_EQ(
      kind_and_text(D("members")),
      R"(ListRelationship [{"object":"urn:ngsi-ld:Pier:1"},{"object":"urn:ngsi-ld:Pier:2"}])");
  EXPECT_EQ(kind_and_text(D("connects")),
            R"(Relationship ["urn:ngsi-ld:Road:1","urn:ngsi-ld:Road:2"])");
  EXPECT_EQ(kind_and_text(D("open")), "Property true");
  EXPECT_TRUE(e.find(D("category"))->value.is_string());
  EXPECT_TRUE(e.find(D("count"))->value.is_number());
  // VocabProperty IRIs are interned, as the loader always did: reads look them up by atom.
  EXPECT_FALSE(Atom::find("https://example.org/Walk").empty());
  const Attribute* note = e.find(D("config"))->subs[0].find_sub(D("note"));
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->modified_at, e.modified_at + 1000);
}

// Documents written before schema 3 carry every attribute's times (docs/storage.md).
TEST(EntityCodecTest, ReadsDocumentsWithEveryAttributesTimes) {
  const std::string v2 =
      R"({"id":"urn:ngsi-ld:Vehicle:A4567","type":"https://uri.etsi.org/ngsi-ld/default-context/Vehicle","scope":"/Tokyo/Ueno","createdAt":"2026-01-01T00:00:00Z","modifiedAt":"2026-01-03T00:00:00Z",)"
      R"("https://uri.etsi.org/ngsi-ld/default-context/speed":[{"type":"Property","value":55.5,"observedAt":"2026-01-02T23:59:58.250Z","unitCode":"KMH","createdAt":"2026-01-01T00:00:00Z","modifiedAt":"2026-01-03T00:00:00Z","https://uri.etsi.org/ngsi-ld/default-context/accuracy":{"type":"Property","value":0.5,"createdAt":"2026-01-01T00:00:00Z","modifiedAt":"2026-01-02T00:00:00Z"}},{"type":"Property","value":54,"datasetId":"urn:ngsi-ld:Dataset:gps","createdAt":"2026-01-02T00:00:00.500Z","modifiedAt":"2026-01-03T00:00:00Z"}],)"
      R"("https://uri.etsi.org/ngsi-ld/default-context/brand":{"type":"Property","value":"Mercedes","createdAt":"2026-01-01T00:00:00Z","modifiedAt":"2026-01-01T00:00:00Z"},)"
      R"("https://uri.etsi.org/ngsi-ld/default-context/owner":{"type":"Relationship","object":"urn:ngsi-ld:Person:Bob","objectType":"https://example.org/Person","observedAt":"2025-12-31T12:00:00Z","createdAt":"2026-01-01T00:00:00Z","modifiedAt":"2026-01-01T00:00:00Z"}})";
  auto r = decode_entity(v2);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  expect_same_entity(*r, vehicle());
  EXPECT_EQ(encode_entity(*r), kVehicleDoc);
}

// Written by hand, or by another tool: whitespace, escapes JSON allows but the encoder does not
// write, members in another order (the entity's times after its attributes, an attribute's type
// after its payload) and members no document holds are all read as the loader always read them.
TEST(EntityCodecTest, ReadsWhatTheEncoderDoesNotWrite) {
  const std::string doc = R"( {
    "https://uri.etsi.org/ngsi-ld/default-context/speed" : [
      { "value" : 55.50, "type" : "Property", "unitCode" : "KMH",
        "observedAt" : "2026-01-02T23:59:58.25Z",
        "https://uri.etsi.org/ngsi-ld/default-context/accuracy" : {
          "modifiedAt" : "2026-01-02T00:00:00Z", "value" : 5E-1, "type" : "Property" } },
      { "type" : "Property", "value" : 54, "datasetId" : "urn:ngsi-ld:Dataset:gps",
        "createdAt" : "2026-01-02T00:00:00.500Z", "instanceId" : "urn:x", "lang" : "en" } ],
    "https:\/\/uri.etsi.org\/ngsi-ld\/default-context\/brand" : {
      "type" : "Property", "value" : "Merc\u0065des", "modifiedAt" : "2026-01-01T09:00:00+09:00" },
    "https://uri.etsi.org/ngsi-ld/default-context/owner" : { "type" : "Relationship",
      "observedAt" : "2025-12-31T12:00:00Z", "object" : "urn:ngsi-ld:Person:Bob",
      "objectType" : "https://example.org/Person", "modifiedAt" : "2026-01-01T00:00:00Z" },
    "@context" : [ "https://example.org/ignored.jsonld" ], "deletedAt" : "whatever",
    "id" : "urn:ngsi-ld:Vehicle:A4567", "scope" : [ "/Tokyo/Ueno" ],
    "type" : [ "https://uri.etsi.org/ngsi-ld/default-context/Vehicle",
               "https://uri.etsi.org/ngsi-ld/default-context/Vehicle" ],
    "createdAt" : "2026-01-01T00:00:00Z", "modifiedAt" : "2026-01-03T00:00:00Z" } )";
  auto r = decode_entity(doc);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  expect_same_entity(*r, vehicle());
  EXPECT_EQ(encode_entity(*r), kVehicleDoc);
}

// A document's names are IRIs already: they are taken as they are, never expanded.
TEST(EntityCodecTest, TakesNamesAsTheyAre) {
  auto r = decode_entity(R"({"id":"urn:a:b","type":"Car","speed":{"type":"Property","value":1}})");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->types, std::vector<Atom>{A("Car")});
  EXPECT_EQ(r->attrs[0].name, A("speed"));
}

// Names that are IRIs but not terms ('=', ';', '(', ')', '\'' are allowed in IRIs) can enter
// through a user @context; the document must still read back.
TEST(EntityCodecTest, NamesFromAUserContextRoundTrip) {
  ngsild::jsonld::ContextCache cache(nullptr, {});
  JsonDoc c;
  ASSERT_TRUE(
      parse_json(R"({"qq": "http://example.org/vocab?name=q", "TT": "http://example.org/t;v=1"})",
                 c)
          .ok());
  auto ctx = cache.from_json(c);
  ASSERT_TRUE(ctx.ok());
  JsonDoc body;
  ASSERT_TRUE(parse_json(R"({"id": "urn:a:b", "type": "TT", "qq": 1})", body).ok());
  auto in = ngsild::parse_entity(body, **ctx, ngsild::ParseOptions{});
  ASSERT_TRUE(in.ok()) << in.status().detail();
  Entity e;
  e.id = *in->id;
  e.types = in->types;
  e.attrs = in->attrs;
  test_entities::inherit_times(e.attrs, e.created_at, e.modified_at);
  ASSERT_EQ(e.attrs[0].name.str(), "http://example.org/vocab?name=q");
  auto back = decode_entity(encode_entity(e));
  ASSERT_TRUE(back.ok()) << back.status().detail();
  expect_same_entity(*back, e);
}

// Every entity round-trips: decode(encode(e)) is e, field by field, and writes the same again.
TEST(EntityCodecTest, RandomEntitiesRoundTrip) {
  test_entities::EntityGenerator g(0x73746f7265ull);
  for (int n = 0; n < 3000; ++n) {
    Entity e = g.entity();
    const std::string doc = encode_entity(e);
    auto back = decode_entity(doc);
    ASSERT_TRUE(back.ok()) << n << ": " << back.status().detail() << "\n" << doc;
    expect_same_entity(*back, e);
    ASSERT_EQ(encode_entity(*back), doc) << n;
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << n << ": " << doc;
      break;
    }
  }
}

// An attribute with no times of its own (the engine always stamps them; a test may not) is
// written without them and reads back with its holder's.
TEST(EntityCodecTest, AnAttributeWithoutTimesReadsBackWithItsHolders) {
  Entity e = minimal();
  Attribute a = attr(AttrKind::kProperty, D("p"), Value::integer(1), kNoTime, kNoTime);
  a.subs.push_back(attr(AttrKind::kProperty, D("s"), Value::integer(2), kNoTime, kNoTime));
  e.attrs.push_back(a);
  const std::string doc = encode_entity(e);
  EXPECT_EQ(doc.find("createdAt", doc.find("/p\"")), std::string::npos) << doc;
  auto r = decode_entity(doc);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->attrs[0].created_at, e.created_at);
  EXPECT_EQ(r->attrs[0].subs[0].modified_at, e.modified_at);
}

// A document nests deeper than the request that wrote it. Found by PATCH
// /entities/{id}/attrs/a with {"value": 2, "s": [[...]]} as deep as a body may be (the fragment
// is a level down from an entity), then a second instance of "a": "s" is written inside an
// object, and "a" inside an array. The server took both requests, and its next start refused
// the document as nested deeper than 64 levels.
TEST(EntityCodecTest, AnEntityNestedDeeperThanARequestReadsBack) {
  Entity e = minimal();
  const int levels = kMaxJsonDepth - 1;  // the body's object holds the arrays
  const std::string deep = std::string(levels, '[') + "0" + std::string(levels, ']');
  Attribute a = attr(AttrKind::kProperty, D("a"), Value::integer(2), e.created_at, e.modified_at);
  a.subs.push_back(
      attr(AttrKind::kProperty, D("s"), Value::json(deep), e.created_at, e.modified_at));
  e.attrs.push_back(a);
  Attribute other =
      attr(AttrKind::kProperty, D("a"), Value::integer(3), e.created_at, e.modified_at);
  other.dataset_id = A("urn:ds:2");
  e.attrs.push_back(other);
  const std::string doc = encode_entity(e);
  JsonDoc json;
  EXPECT_FALSE(parse_json(doc, json).ok());  // deeper than kMaxJsonDepth
  auto r = decode_entity(doc);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->attrs[0].subs[0].value.text(), deep);
  // What no API could build is refused.
  const std::string deeper = std::string(kMaxStoredDepth, '[') + std::string(kMaxStoredDepth, ']');
  e.attrs[0].value = Value::json(deeper);
  r = decode_entity(encode_entity(e));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().detail().find("nesting deeper than 256"), std::string::npos)
      << r.status().detail();
}

// ---------------------------------------------------------------------------------------------
// Damaged documents: an error naming the byte, never a crash.

std::string error_of(std::string_view doc) {
  auto r = decode_entity(doc);
  if (r.ok()) return "ok";
  EXPECT_EQ(r.status().kind(), ErrorKind::kInternalError);
  EXPECT_NE(r.status().detail().find("at byte "), std::string::npos) << r.status().detail();
  return r.status().detail();
}

#define EXPECT_REFUSED(doc, what)                                                \
  do {                                                                           \
    const std::string e_ = error_of(doc);                                        \
    EXPECT_NE(e_.find(what), std::string::npos) << (doc) << "\n  gives: " << e_; \
  } while (0)

TEST(EntityCodecTest, RefusesDocumentsOfTheWrongShape) {
  const std::string head = R"({"id":"urn:a:b","type":"T",)";
  auto with = [&](std::string_view attr) { return head + R"("p":)" + std::string(attr) + "}"; };
  EXPECT_REFUSED("", "a document is a JSON object");
  EXPECT_REFUSED("[]", "a document is a JSON object");
  EXPECT_REFUSED("null", "a document is a JSON object");
  EXPECT_REFUSED(R"({"type":"T"})", "no id");
  EXPECT_REFUSED(R"({"id":"urn:a:b"})", "no type");
  EXPECT_REFUSED(R"({"id":5,"type":"T"})", "a string expected");
  EXPECT_REFUSED(R"({"id":"","type":"T"})", "id is empty");
  EXPECT_REFUSED(R"({"id":"urn:a:b","type":[]})", "type is an empty array");
  EXPECT_REFUSED(R"({"id":"urn:a:b","type":["T",1]})", "type holds a non-string");
  EXPECT_REFUSED(R"({"id":"urn:a:b","type":{}})", "type is not a string or an array");
  EXPECT_REFUSED(R"({"id":"urn:a:b","type":"T","scope":5})", "scope is not a string");
  EXPECT_REFUSED(R"({"id":"urn:a:b","type":"T","id":"urn:a:c"})", "'id' is given twice");
  EXPECT_REFUSED(R"({"id":"urn:a:b","type":"T","createdAt":"yesterday"})",
                 "createdAt is not an ISO 8601 date-time");
  EXPECT_REFUSED(R"({"id":"urn:a:b","type":"T","modifiedAt":1})", "modifiedAt is not a string");
  EXPECT_REFUSED(R"({"id":"urn:a:b","type":"T"} {})", "text follows the document");
  EXPECT_REFUSED(with("5"), "attribute 'p' is not an object or an array of objects");
  EXPECT_REFUSED(with("[]"), "attribute 'p' is an empty array");
  EXPECT_REFUSED(with("[5]"), "has an instance that is not an object");
  EXPECT_REFUSED(with(R"({"value":1})"), "attribute 'p' has no type");
  EXPECT_REFUSED(with(R"({"type":"Property"})"), "attribute 'p' has no 'value'");
  EXPECT_REFUSED(with(R"({"type":"Propriety","value":1})"), "has the unknown type 'Propriety'");
  EXPECT_REFUSED(with(R"({"type":7,"value":1})"), "has a type that is not a string");
  EXPECT_REFUSED(with(R"({"type":"Property","object":"urn:a:c"})"),
                 "is a Property with a 'object'");
  EXPECT_REFUSED(with(R"({"type":"Property","value":1,"value":2})"), "two payload members");
  EXPECT_REFUSED(with(R"({"type":"Property","type":"Property","value":1})"), "gives 'type' twice");
  EXPECT_REFUSED(with(R"({"type":"Property","value":null})"), "has a null payload");
  EXPECT_REFUSED(with(R"({"type":"JsonProperty","json":null})"), "has a null payload");
  EXPECT_REFUSED(with(R"({"type":"Relationship","object":5})"),
                 "has an object that is not a string or an array");
  EXPECT_REFUSED(with(R"({"type":"Relationship","object":""})"), "has an empty object");
  EXPECT_REFUSED(with(R"({"type":"Relationship","object":[]})"), "has an empty array");
  EXPECT_REFUSED(with(R"({"type":"Relationship","object":["urn:a",{}]})"),
                 "has an array item that is not a string");
  EXPECT_REFUSED(with(R"x({"type":"GeoProperty","value":"POINT(1 2)"})x"),
                 "has a value that is not a GeoJSON object");
  EXPECT_REFUSED(with(R"({"type":"ListProperty","valueList":{}})"),
                 "has a valueList that is not an array");
  EXPECT_REFUSED(with(R"({"type":"LanguageProperty","languageMap":"en"})"),
                 "has a languageMap that is not an object");
  EXPECT_REFUSED(with(R"({"type":"LanguageProperty","languageMap":{}})"),
                 "has an empty languageMap");
  EXPECT_REFUSED(with(R"({"type":"LanguageProperty","languageMap":{"en":1}})"),
                 "a languageMap item that is not a string or an array");
  EXPECT_REFUSED(with(R"({"type":"LanguageProperty","languageMap":{"en":["a",null]}})"),
                 "a languageMap item that is not a string");
  EXPECT_REFUSED(with(R"({"type":"LanguageProperty","languageMap":{"en":"a","en":"b"}})"),
                 "given twice in one object");
  EXPECT_REFUSED(with(R"({"type":"VocabProperty","vocab":""})"), "has an empty vocab");
  EXPECT_REFUSED(with(R"({"type":"VocabProperty","vocab":[]})"), "has an empty array");
  EXPECT_REFUSED(with(R"({"type":"VocabProperty","vocab":5})"),
                 "has a vocab that is not a string or an array");
  EXPECT_REFUSED(with(R"({"type":"ListRelationship","objectList":"urn:a:c"})"),
                 "has an objectList that is not an array");
  EXPECT_REFUSED(with(R"({"type":"ListRelationship","objectList":[{"obj":"urn:a:c"}]})"),
                 "has an objectList item that is neither");
  EXPECT_REFUSED(with(R"({"type":"ListRelationship","objectList":[5]})"),
                 "has an objectList item that is neither");
  EXPECT_REFUSED(with(R"({"type":"Property","value":1,"unitCode":""})"), "has an empty unitCode");
  EXPECT_REFUSED(with(R"({"type":"Property","value":1,"datasetId":7})"),
                 "has a datasetId that is not a string");
  EXPECT_REFUSED(with(R"({"type":"Property","value":1,"observedAt":"now"})"),
                 "observedAt is not an ISO 8601 date-time");
  EXPECT_REFUSED(with(R"([{"type":"Property","value":1},{"type":"Property","value":2}])"),
                 "has two default instances");
  EXPECT_REFUSED(with(R"([{"type":"Property","value":1,"datasetId":"urn:d"},)"
                      R"({"type":"Property","value":2,"datasetId":"urn:d"}])"),
                 "has two instances with datasetId 'urn:d'");
  EXPECT_REFUSED(with(R"({"type":"Property","value":1,"s":{"type":"Property","value":1},)"
                      R"("s":{"type":"Property","value":2}})"),
                 "has the sub-attribute 's' twice");
  EXPECT_REFUSED(head + R"("p":{"type":"Property","value":1},"p":{"type":"Property","value":2}})",
                 "attribute 'p' is given twice");
  EXPECT_REFUSED(with(R"({"type":"Property","value":{"a":1,"a":2}})"), "given twice in one object");
  EXPECT_REFUSED(with(R"({"type":"Property","value":1e999})"), "too big for a double");
  EXPECT_REFUSED(with(R"({"type":"Property","value":"\ud800"})"), "lone UTF-16 surrogate");
  EXPECT_REFUSED(with("{\"type\":\"Property\",\"value\":\"\xff\"}"), "not valid UTF-8");
  EXPECT_REFUSED(with("{\"type\":\"Property\",\"value\":\"a\nb\"}"), "a control character");
  EXPECT_REFUSED(with(R"({"type":"Property","value":tru})"), "a value expected");
  EXPECT_REFUSED(with(R"({"type":"Property","value":01})"), "'}' expected");
  std::string deep_subs;
  for (int i = 0; i < 300; ++i)
    deep_subs += R"({"type":"Property","value":1,"s":)";
  EXPECT_REFUSED(with(deep_subs + "1" + std::string(300, '}')), "nesting deeper than 256");
  EXPECT_REFUSED(with(R"({"type":"Property","value":)" + std::string(100000, '[')),
                 "nesting deeper than 256");
}

// Every prefix of a document is refused, and so is every document with one byte changed that no
// longer reads as JSON; none of it crashes (run under the sanitizers by scripts/test).
TEST(EntityCodecTest, DamagedDocumentsGiveAnErrorNeverACrash) {
  for (const Golden& g : kGolden) {
    const std::string doc = g.doc;
    for (size_t n = 0; n < doc.size(); ++n) {
      auto r = decode_entity(std::string_view(doc).substr(0, n));
      ASSERT_FALSE(r.ok()) << g.name << " cut at " << n;
      ASSERT_FALSE(r.status().detail().empty());
    }
  }
  testing::Xorshift rnd(0x64616d61676564ull);
  test_entities::EntityGenerator g(0x64616d61676564ull);
  const char kBytes[] = "{}[]:,\"\\ 0-.eEtfnu\xff\x01";
  int read = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string doc = encode_entity(g.entity());
    for (int k = 0, changes = 1 + static_cast<int>(rnd.below(3)); k < changes; ++k) {
      const size_t at = rnd.below(doc.size());
      switch (rnd.below(3)) {
        case 0:
          doc[at] = kBytes[rnd.below(sizeof kBytes - 1)];
          break;
        case 1:
          doc.erase(at, 1 + rnd.below(8));
          break;
        default:
          doc.insert(at, 1, kBytes[rnd.below(sizeof kBytes - 1)]);
          break;
      }
    }
    auto r = decode_entity(doc);
    if (!r.ok()) {
      ASSERT_FALSE(r.status().detail().empty());
      continue;
    }
    // What does read is an entity the codec writes and reads again as it is.
    ++read;
    const std::string again = encode_entity(*r);
    auto twice = decode_entity(again);
    ASSERT_TRUE(twice.ok()) << twice.status().detail() << "\n" << doc;
    expect_same_entity(*twice, *r);
    ASSERT_EQ(encode_entity(*twice), again);
  }
  EXPECT_GT(read, 100);
}

}  // namespace
}  // namespace tsunagu::store
