// Fuzz target: the NGSI-LD Query Language (ngsild/query/q.hpp), parsed as query.cpp parses the
// q parameter (core @context, expandValues naming one attribute) and evaluated against a fixed
// entity holding every attribute kind, as a query evaluates it per candidate entity.
#include <memory>
#include <string>

#include "common/json.hpp"
#include "contexts.hpp"
#include "engine/entity_ops.hpp"
#include "fuzz.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "ngsild/query/q.hpp"

using namespace tsunagu;
using namespace tsunagu::ngsild;
using fuzz::require;

namespace {

constexpr char kEntity[] = R"({
  "id": "urn:ngsi-ld:Vehicle:A4567", "type": "Vehicle",
  "speed": [{"type": "Property", "value": 55.5, "observedAt": "2024-03-01T10:00:00Z",
             "unitCode": "KMH", "accuracy": {"type": "Property", "value": 0.5}},
            {"type": "Property", "value": 60, "datasetId": "urn:ngsi-ld:Dataset:gps"}],
  "brandName": {"type": "Property", "value": "Mercedes"},
  "isParked": {"type": "Relationship", "object": "urn:ngsi-ld:OffStreetParking:Downtown1",
               "observedAt": "2024-03-01T12:00:00Z"},
  "category": {"type": "VocabProperty", "vocab": "commercial"},
  "name": {"type": "LanguageProperty", "languageMap": {"en": "Car", "ja": "車"}},
  "address": {"type": "Property", "value": {"street": "Calle 1", "postcode": 28001,
                                            "tags": ["a", "b"], "open": true}},
  "readings": {"type": "ListProperty", "valueList": [1, 2.5, "x"]},
  "fleet": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Fleet:1"}]},
  "config": {"type": "JsonProperty", "json": {"k": [1, null]}},
  "since": {"type": "Property", "value": {"@type": "DateTime", "@value": "2020-01-01T00:00:00Z"}},
  "opens": {"type": "Property", "value": "08:30:00"},
  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-3.7, 40.4]}}
})";

struct Fixture {
  std::unique_ptr<jsonld::ContextCache> contexts = fuzz::offline_contexts();
  Entity entity;

  Fixture() {
    JsonDoc json;
    require(parse_json(kEntity, json).ok(), "the fixed entity is JSON");
    auto in = parse_entity(json, *contexts->core(), ParseOptions{ParseMode::kEntity});
    require(in.ok(), "the fixed entity parses", in.ok() ? "" : in.status().detail());
    entity = engine::create_entity(std::move(*in), 1700000000000000);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fixture;
  const std::string_view q = fuzz::text_of(data, size);
  auto expr = query::parse_q(q, *fixture.contexts->core(), {"category"});
  fuzz::require_explained(expr, "parse_q");
  if (!expr.ok()) return 0;
  size_t terms = 0;
  query::for_each_term(*expr, [&](const query::Term& t) {
    require(!t.path.names.empty(), "a term names an attribute", q);
    if (t.shape == query::Term::Shape::kRange)
      require(t.values.size() == 2, "a range has two ends", q);
    if (t.op == query::Op::kMatch || t.op == query::Op::kNotMatch) {
      require(t.regex != nullptr, "a pattern term holds its compiled pattern", q);
    }
    ++terms;
  });
  require(terms > 0, "an accepted q has a term", q);
  (void)query::matches(*expr, fixture.entity);
  return 0;
}
