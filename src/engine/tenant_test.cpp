// The tenant's memory on its own: entities by id, their creation order, and the indexes queries
// and discovery read (type lists, spatial index per GeoProperty and type, relationship objects,
// attribute counters), through every put, replace and erase. The indexes are private; each test
// looks at one through the query path that reads it: a page of one type walks the type list
// without checking types, a `near` with maxDistance takes the spatial index's candidates, an
// equality on a Relationship takes the relationship index. A stale entry there shows up as an
// entity that no longer matches.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"  // as in entity_ops_test.cpp

#include "engine/tenant.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/discovery.hpp"
#include "engine/test_tenant.hpp"

namespace tsunagu::engine {
namespace {

using test::short_ids;
using test::TenantTest;
using Ids = std::vector<std::string>;

// Two places about 9 km apart in Tokyo, and a `near` that reaches 100 m around each.
constexpr std::string_view kP = "[139.70,35.68]";
constexpr std::string_view kQ = "[139.80,35.68]";
constexpr std::string_view kNear = "near;maxDistance==100";

std::string bin(std::string_view id, std::string_view types, std::string_view extra = "") {
  return std::string(R"({"id":"urn:ngsi-ld:)") + std::string(id) + R"(","type":)" +
         std::string(types) + R"(,"fillingLevel":{"type":"Property","value":0.5})" +
         std::string(extra) + "}";
}
std::string at(std::string_view point, std::string_view name = "location") {
  return R"(,")" + std::string(name) + R"(":{"type":"GeoProperty","value":{"type":"Point",)" +
         R"("coordinates":)" + std::string(point) + "}}";
}
std::string zone(std::string_view object) {
  return R"(,"refZone":{"type":"Relationship","object":)" + std::string(object) + "}";
}

// Discovery's view, sorted, with names as the core @context compacts them:
// "Type n: attr attr" per type, "attr entities/instances Kind.. Type.." per attribute.
class DiscoveryView {
 public:
  DiscoveryView(const Tenant& t, const ngsild::jsonld::Context& ctx) {
    for (const auto& info : Discovery::types(t)) {
      std::vector<std::string> attrs;
      for (Atom a : info.attributes)
        attrs.push_back(ctx.compact(a));
      std::sort(attrs.begin(), attrs.end());
      std::string line = ctx.compact(info.type) + " " + std::to_string(info.entities) + ":";
      for (const auto& a : attrs)
        line += " " + a;
      types.push_back(line);
    }
    std::sort(types.begin(), types.end());
    for (const auto& info : Discovery::attributes(t)) {
      std::string line = ctx.compact(info.name) + " " + std::to_string(info.entities) + "/" +
                         std::to_string(info.instances);
      for (auto k : info.kinds)
        line += " " + std::string(ngsild::kind_name(k));
      std::vector<std::string> types_of;
      for (Atom type : info.types)
        types_of.push_back(ctx.compact(type));
      std::sort(types_of.begin(), types_of.end());
      for (const auto& type : types_of)
        line += " " + type;
      attributes.push_back(line);
    }
    std::sort(attributes.begin(), attributes.end());
  }
  std::vector<std::string> types, attributes;
};

TEST_F(TenantTest, GetFindsTheEntityUnderItsId) {
  put(bin("Bin:1", R"("WasteContainer")"));
  put(bin("Bin:2", R"("WasteContainer")"));
  ASSERT_NE(tenant_.get("urn:ngsi-ld:Bin:1"), nullptr);
  EXPECT_EQ(tenant_.get("urn:ngsi-ld:Bin:1")->id, "urn:ngsi-ld:Bin:1");
  EXPECT_EQ(tenant_.get("urn:ngsi-ld:Bin:3"), nullptr);
  EXPECT_EQ(tenant_.get("urn:ngsi-ld:Bin"), nullptr);
  EXPECT_EQ(tenant_.size(), 2u);
  EXPECT_EQ(tenant_.name(), "test");
}

TEST_F(TenantTest, AReplacedEntityKeepsItsPlaceInCreationOrder) {
  put(bin("Bin:1", R"("WasteContainer")"));
  put(bin("Bin:2", R"("WasteContainer")"));
  put(bin("Bin:3", R"("WasteContainer")"));
  put(R"({"id":"urn:ngsi-ld:Bin:1","type":"WasteContainer","fillingLevel":0.9})");
  EXPECT_EQ(all_ids(), (Ids{"Bin:1", "Bin:2", "Bin:3"}));
  EXPECT_EQ(tenant_.size(), 3u);
  auto now = tenant_.get("urn:ngsi-ld:Bin:1");
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->find(ctx().lookup("fillingLevel"))->value.as_double(), 0.9);
}

TEST_F(TenantTest, AnErasedEntityCreatedAgainComesLast) {
  put(bin("Bin:1", R"("WasteContainer")"));
  put(bin("Bin:2", R"("WasteContainer")"));
  put(bin("Bin:3", R"("WasteContainer")"));
  tenant_.erase("urn:ngsi-ld:Bin:2");
  tenant_.erase("urn:ngsi-ld:Bin:9");  // absent: nothing happens
  EXPECT_EQ(tenant_.get("urn:ngsi-ld:Bin:2"), nullptr);
  EXPECT_EQ(all_ids(), (Ids{"Bin:1", "Bin:3"}));
  // Bin:4 takes the slot Bin:2 left; the order is by creation, not by slot.
  put(bin("Bin:4", R"("WasteContainer")"));
  put(bin("Bin:2", R"("WasteContainer")"));
  EXPECT_EQ(all_ids(), (Ids{"Bin:1", "Bin:3", "Bin:4", "Bin:2"}));
  EXPECT_EQ(ids(query().type("WasteContainer")), (Ids{"Bin:1", "Bin:3", "Bin:4", "Bin:2"}));
  EXPECT_EQ(tenant_.size(), 4u);
}

TEST_F(TenantTest, AReaderKeepsTheSnapshotItHolds) {
  put(R"({"id":"urn:ngsi-ld:Bin:1","type":"WasteContainer","fillingLevel":0.1})");
  const Atom level = ctx().lookup("fillingLevel");
  EntityPtr before = tenant_.get("urn:ngsi-ld:Bin:1");
  QueryResult page = run(query().type("WasteContainer"));
  ASSERT_EQ(page.entities.size(), 1u);

  put(R"({"id":"urn:ngsi-ld:Bin:1","type":"WasteContainer","fillingLevel":0.7})");
  EXPECT_EQ(before->find(level)->value.as_double(), 0.1);
  EXPECT_EQ(page.entities[0]->find(level)->value.as_double(), 0.1);
  EXPECT_EQ(tenant_.get("urn:ngsi-ld:Bin:1")->find(level)->value.as_double(), 0.7);

  tenant_.erase("urn:ngsi-ld:Bin:1");
  EXPECT_EQ(tenant_.get("urn:ngsi-ld:Bin:1"), nullptr);
  EXPECT_EQ(before->id, "urn:ngsi-ld:Bin:1");
  EXPECT_EQ(before->find(level)->value.as_double(), 0.1);
}

TEST_F(TenantTest, TheTypeListsFollowReplaceAndErase) {
  put(bin("Bin:1", R"("WasteContainer")"));
  put(bin("Bin:2", R"("WasteContainer")"));
  put(bin("Lamp:1", R"("StreetLight")"));
  auto of_type = [&](std::string_view t) { return run(query().type(t).count()); };
  EXPECT_EQ(short_ids(of_type("WasteContainer").entities), (Ids{"Bin:1", "Bin:2"}));

  // Bin:1 changes type: it leaves one list and joins the other at its creation position.
  put(bin("Bin:1", R"("StreetLight")"));
  EXPECT_EQ(short_ids(of_type("WasteContainer").entities), (Ids{"Bin:2"}));
  EXPECT_EQ(of_type("WasteContainer").total, 1u);
  EXPECT_EQ(short_ids(of_type("StreetLight").entities), (Ids{"Bin:1", "Lamp:1"}));
  EXPECT_EQ(of_type("StreetLight").total, 2u);

  // A second type adds a list entry and keeps the first.
  put(bin("Lamp:1", R"(["StreetLight","Asset"])"));
  EXPECT_EQ(short_ids(of_type("Asset").entities), (Ids{"Lamp:1"}));
  EXPECT_EQ(short_ids(of_type("StreetLight").entities), (Ids{"Bin:1", "Lamp:1"}));

  tenant_.erase("urn:ngsi-ld:Bin:2");
  EXPECT_TRUE(of_type("WasteContainer").entities.empty());
  EXPECT_EQ(of_type("WasteContainer").total, 0u);
  tenant_.erase("urn:ngsi-ld:Lamp:1");
  EXPECT_TRUE(of_type("Asset").entities.empty());
  EXPECT_EQ(short_ids(of_type("StreetLight").entities), (Ids{"Bin:1"}));
}

TEST_F(TenantTest, TheSpatialIndexFollowsReplaceAndErase) {
  put(bin("Bin:1", R"("WasteContainer")", at(kP)));
  put(bin("Bin:2", R"("WasteContainer")", at(kQ)));
  auto near = [&](std::string_view point, std::string_view type = "") {
    auto q = query().geo(kNear, "Point", point);
    if (!type.empty()) q.type(type);
    return ids(q);
  };
  EXPECT_EQ(near(kP), (Ids{"Bin:1"}));
  EXPECT_EQ(near(kQ, "WasteContainer"), (Ids{"Bin:2"}));

  // Moved: the old position is gone from the index.
  put(bin("Bin:1", R"("WasteContainer")", at(kQ)));
  EXPECT_EQ(near(kP), Ids{});
  EXPECT_EQ(near(kQ), (Ids{"Bin:1", "Bin:2"}));

  // No location any more.
  put(bin("Bin:1", R"("WasteContainer")"));
  EXPECT_EQ(near(kQ), (Ids{"Bin:2"}));
  EXPECT_EQ(near(kQ, "WasteContainer"), (Ids{"Bin:2"}));

  // Back at P, of another type: found under that type only.
  put(bin("Bin:1", R"("StreetLight")", at(kP)));
  EXPECT_EQ(near(kP, "WasteContainer"), Ids{});
  EXPECT_EQ(near(kP, "StreetLight"), (Ids{"Bin:1"}));
  EXPECT_EQ(near(kP), (Ids{"Bin:1"}));

  // The same position with two types (the index of entities with several types).
  put(bin("Bin:1", R"(["WasteContainer","StreetLight"])", at(kP)));
  EXPECT_EQ(near(kP, "WasteContainer"), (Ids{"Bin:1"}));
  EXPECT_EQ(near(kP, "StreetLight"), (Ids{"Bin:1"}));
  EXPECT_EQ(near(kP, "Asset"), Ids{});

  // Back to one type, same position: it leaves the several-types index.
  put(bin("Bin:1", R"("StreetLight")", at(kP)));
  EXPECT_EQ(near(kP, "WasteContainer"), Ids{});
  EXPECT_EQ(near(kP, "StreetLight"), (Ids{"Bin:1"}));

  tenant_.erase("urn:ngsi-ld:Bin:1");
  EXPECT_EQ(near(kP), Ids{});
  EXPECT_EQ(near(kP, "StreetLight"), Ids{});
  EXPECT_EQ(near(kQ), (Ids{"Bin:2"}));
}

TEST_F(TenantTest, AGeoPropertyReplacedByAPropertyLeavesTheIndex) {
  put(bin("Bin:1", R"("WasteContainer")", at(kP, "area")));
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP, "area")), (Ids{"Bin:1"}));
  put(bin("Bin:1", R"("WasteContainer")", R"(,"area":{"type":"Property","value":"north"})"));
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP, "area")), Ids{});
  EXPECT_EQ(ids(query().q("area==\"north\"")), (Ids{"Bin:1"}));
}

TEST_F(TenantTest, EachGeoPropertyHasItsOwnIndex) {
  put(bin("Bus:1", R"("Bus")", at(kP) + at(kQ, "destination")));
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP)), (Ids{"Bus:1"}));
  EXPECT_EQ(ids(query().geo(kNear, "Point", kQ)), Ids{});
  EXPECT_EQ(ids(query().geo(kNear, "Point", kQ, "destination")), (Ids{"Bus:1"}));
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP, "destination")), Ids{});
  // The destination dropped, the location kept.
  put(bin("Bus:1", R"("Bus")", at(kP)));
  EXPECT_EQ(ids(query().geo(kNear, "Point", kQ, "destination")), Ids{});
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP)), (Ids{"Bus:1"}));
}

TEST_F(TenantTest, EveryInstanceOfAGeoPropertyIsFound) {
  put(R"({"id":"urn:ngsi-ld:Bus:1","type":"Bus","location":[
    {"type":"GeoProperty","value":{"type":"Point","coordinates":[139.70,35.68]}},
    {"type":"GeoProperty","value":{"type":"Point","coordinates":[139.80,35.68]},
     "datasetId":"urn:ngsi-ld:Dataset:gps2"}]})");
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP)), (Ids{"Bus:1"}));
  EXPECT_EQ(ids(query().geo(kNear, "Point", kQ)), (Ids{"Bus:1"}));
  // Half-way between the two: in the box the index keeps, near neither point.
  EXPECT_EQ(ids(query().geo(kNear, "Point", "[139.75,35.68]")), Ids{});
  put(bin("Bus:1", R"("Bus")", at(kP)));
  EXPECT_EQ(ids(query().geo(kNear, "Point", kQ)), Ids{});
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP)), (Ids{"Bus:1"}));
}

TEST_F(TenantTest, TheRelationshipIndexFollowsReplace) {
  put(bin("Bin:1", R"("WasteContainer")", zone(R"("urn:ngsi-ld:Zone:A")")));
  put(bin("Bin:2", R"("WasteContainer")", zone(R"(["urn:ngsi-ld:Zone:A","urn:ngsi-ld:Zone:C"])")));
  auto in_zone = [&](std::string_view z) {
    return ids(query().q("refZone==\"urn:ngsi-ld:Zone:" + std::string(z) + "\""));
  };
  EXPECT_EQ(in_zone("A"), (Ids{"Bin:1", "Bin:2"}));
  EXPECT_EQ(in_zone("C"), (Ids{"Bin:2"}));
  put(bin("Bin:1", R"("WasteContainer")", zone(R"("urn:ngsi-ld:Zone:B")")));
  EXPECT_EQ(in_zone("A"), (Ids{"Bin:2"}));
  EXPECT_EQ(in_zone("B"), (Ids{"Bin:1"}));
  put(bin("Bin:2", R"("WasteContainer")", zone(R"("urn:ngsi-ld:Zone:C")")));
  EXPECT_EQ(in_zone("A"), Ids{});
  EXPECT_EQ(in_zone("C"), (Ids{"Bin:2"}));
  tenant_.erase("urn:ngsi-ld:Bin:1");
  EXPECT_EQ(in_zone("B"), Ids{});
}

TEST_F(TenantTest, AFreedSlotCarriesNothingOver) {
  put(bin("Bin:1", R"("WasteContainer")",
          at(kP) + zone(R"("urn:ngsi-ld:Zone:A")") + R"(,"status":"full")"));
  tenant_.erase("urn:ngsi-ld:Bin:1");
  put(bin("Bin:2", R"("WasteContainer")"));  // the slot Bin:1 left
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP)), Ids{});
  EXPECT_EQ(ids(query().geo(kNear, "Point", kP).type("WasteContainer")), Ids{});
  EXPECT_EQ(ids(query().q("refZone==\"urn:ngsi-ld:Zone:A\"")), Ids{});
  EXPECT_EQ(ids(query().type("WasteContainer")), (Ids{"Bin:2"}));
  EXPECT_EQ(DiscoveryView(tenant_, ctx()).attributes,
            (Ids{"fillingLevel 1/1 Property WasteContainer"}));
}

TEST_F(TenantTest, DiscoveryCountsFollowEveryWrite) {
  put(bin("Bin:1", R"("WasteContainer")", at(kP)));
  put(bin("Bin:2", R"("WasteContainer")", zone(R"("urn:ngsi-ld:Zone:A")")));
  put(R"({"id":"urn:ngsi-ld:Lamp:1","type":["StreetLight","Asset"],
          "fillingLevel":[{"type":"Property","value":1},
                          {"type":"Property","value":2,"datasetId":"urn:ds:2"}]})");
  DiscoveryView v(tenant_, ctx());
  EXPECT_EQ(v.types, (Ids{"Asset 1: fillingLevel", "StreetLight 1: fillingLevel",
                          "WasteContainer 2: fillingLevel location refZone"}));
  EXPECT_EQ(v.attributes, (Ids{"fillingLevel 3/4 Property Asset StreetLight WasteContainer",
                               "location 1/1 GeoProperty WasteContainer",
                               "refZone 1/1 Relationship WasteContainer"}));

  // Bin:1 becomes a StreetLight without a location; Lamp:1 goes.
  put(bin("Bin:1", R"("StreetLight")"));
  tenant_.erase("urn:ngsi-ld:Lamp:1");
  DiscoveryView w(tenant_, ctx());
  EXPECT_EQ(w.types,
            (Ids{"StreetLight 1: fillingLevel", "WasteContainer 1: fillingLevel refZone"}));
  EXPECT_EQ(w.attributes, (Ids{"fillingLevel 2/2 Property StreetLight WasteContainer",
                               "refZone 1/1 Relationship WasteContainer"}));

  tenant_.erase("urn:ngsi-ld:Bin:1");
  tenant_.erase("urn:ngsi-ld:Bin:2");
  EXPECT_TRUE(Discovery::types(tenant_).empty());
  EXPECT_TRUE(Discovery::attributes(tenant_).empty());
}

// Thousands of entities and erasures: the lists drop their tombstones (compaction) and pages
// at deep offsets must still be the right slices of creation order.
TEST_F(TenantTest, CreationOrderSurvivesManyErasures) {
  constexpr int kN = 3000;
  auto id = [](int i) { return "Bin:" + std::to_string(i); };
  auto type_of = [](int i) { return i % 2 == 0 ? "Even" : "Odd"; };
  for (int i = 0; i < kN; ++i)
    put(bin(id(i), '"' + std::string(type_of(i)) + '"'));
  // Keep every third entity.
  Ids all, even;
  for (int i = 0; i < kN; ++i) {
    if (i % 3 != 0) {
      tenant_.erase("urn:ngsi-ld:" + id(i));
      continue;
    }
    all.push_back(id(i));
    if (i % 2 == 0) even.push_back(id(i));
  }
  // A survivor gains the type Even: it joins that list where its creation puts it.
  put(bin(id(3), R"(["Odd","Even"])"));
  even.insert(std::find(even.begin(), even.end(), id(6)), id(3));
  // New entities come after every survivor.
  put(bin("Bin:new", R"("Even")"));
  all.push_back("Bin:new");
  even.push_back("Bin:new");

  EXPECT_EQ(all_ids(), all);
  EXPECT_EQ(tenant_.size(), all.size());
  for (size_t offset : {size_t{0}, size_t{1}, size_t{499}, size_t{500}, even.size() - 3}) {
    const QueryResult r = run(query().type("Even").page(offset, 7).count());
    const size_t end = std::min(even.size(), offset + 7);
    EXPECT_EQ(short_ids(r.entities), Ids(even.begin() + offset, even.begin() + end))
        << "offset " << offset;
    EXPECT_EQ(r.total, even.size());
    EXPECT_EQ(r.more, end < even.size());
  }
  const QueryResult deep = run(query().type("*").page(all.size() - 2, 10));
  EXPECT_EQ(short_ids(deep.entities), Ids(all.end() - 2, all.end()));
  EXPECT_FALSE(deep.more);
}

TEST(TenantRegistryTest, CreatesTenantsOnTheirFirstWrite) {
  TenantRegistry r;
  ASSERT_NE(r.find(""), nullptr);  // the default tenant always exists
  EXPECT_EQ(r.find("city"), nullptr);
  bool created = false;
  Tenant* city = r.get_or_create("city", created);
  EXPECT_TRUE(created);
  EXPECT_EQ(city->name(), "city");
  EXPECT_EQ(r.get_or_create("city", created), city);
  EXPECT_FALSE(created);
  EXPECT_EQ(r.find("city"), city);
  EXPECT_EQ(r.all().size(), 2u);
}

}  // namespace
}  // namespace tsunagu::engine
