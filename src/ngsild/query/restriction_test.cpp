// What a role's rules cover (docs/security.md, "Roles"): each rule by type, whole id and scope,
// reading and writing apart, and a query that sees only what its restriction reads.
#include "ngsild/query/restriction.hpp"

#include <gtest/gtest.h>

#include "ngsild/model/test_atoms.hpp"
#include "ngsild/query/entity_query.hpp"

namespace tsunagu::ngsild::query {
namespace {

using test_atoms::D;

Entity entity(std::string id, std::string_view type, std::vector<std::string> scopes = {}) {
  Entity e;
  e.id = std::move(id);
  e.types.push_back(D(type));
  e.scopes = std::move(scopes);
  return e;
}

AccessRule rule(bool write, std::vector<std::string_view> types, std::string pattern = "",
                std::string scope = "") {
  AccessRule r;
  r.write = write;
  for (auto t : types)
    r.types.push_back(D(t));
  if (!pattern.empty()) r.id_pattern = std::make_shared<re2::RE2>(pattern);
  if (!scope.empty()) r.scope = *parse_scope_query(scope);
  return r;
}

TEST(RestrictionTest, ARuleCoversWhatEachOfItsPartsAllows) {
  const Entity bus = entity("urn:ngsi-ld:Bus:1", "Bus", {"/Takamatsu/Lines/3"});
  EXPECT_TRUE(rule(false, {}).covers(bus));
  EXPECT_TRUE(rule(false, {"Tram", "Bus"}).covers(bus));
  EXPECT_FALSE(rule(false, {"Tram"}).covers(bus));
  EXPECT_TRUE(rule(false, {}, "urn:ngsi-ld:Bus:.*").covers(bus));
  // The whole id must match, not a part of it.
  EXPECT_FALSE(rule(false, {}, "Bus:1").covers(bus));
  EXPECT_TRUE(rule(false, {}, "", "/Takamatsu/#").covers(bus));
  EXPECT_FALSE(rule(false, {}, "", "/Kagawa/#").covers(bus));
  EXPECT_FALSE(rule(false, {}, "", "/Takamatsu/#").covers(entity("urn:ngsi-ld:Bus:2", "Bus")));
  // Every part given must hold.
  EXPECT_FALSE(rule(false, {"Bus"}, "urn:ngsi-ld:Tram:.*").covers(bus));
}

TEST(RestrictionTest, WritingNeedsAWriteRuleAndReadingAnyRule) {
  Restriction r;
  r.role = "bus-operator";
  r.rules = {rule(true, {"Bus"}), rule(false, {"BusStop"})};
  const Entity bus = entity("urn:ngsi-ld:Bus:1", "Bus");
  const Entity stop = entity("urn:ngsi-ld:BusStop:1", "BusStop");
  const Entity park = entity("urn:ngsi-ld:Park:1", "Park");
  EXPECT_TRUE(r.can_read(bus) && r.can_write(bus));
  EXPECT_TRUE(r.can_read(stop));
  EXPECT_FALSE(r.can_write(stop));
  EXPECT_FALSE(r.can_read(park) || r.can_write(park));
  EXPECT_TRUE(r.writes());
  r.rules.erase(r.rules.begin());
  EXPECT_FALSE(r.writes());
  EXPECT_FALSE(Restriction{}.can_read(bus));  // no rules: nothing
}

TEST(RestrictionTest, AQueryWithARestrictionMatchesOnlyWhatItReads) {
  auto r = std::make_shared<Restriction>();
  r->rules = {rule(false, {}, "", "/Parks/#")};
  EntityQuery q;
  EXPECT_TRUE(q.matches(entity("urn:ngsi-ld:Sensor:1", "Sensor")));
  q.restriction = r;
  EXPECT_FALSE(q.matches(entity("urn:ngsi-ld:Sensor:1", "Sensor")));
  EXPECT_TRUE(q.matches(entity("urn:ngsi-ld:Park:1", "Park", {"/Parks/North"})));
}

}  // namespace
}  // namespace tsunagu::ngsild::query
