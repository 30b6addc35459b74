// Linked Entity retrieval: which entities join=flat adds and in what order, what join=inline
// writes, and the budget that bounds both.
#include "ngsild/format/linked_entities.hpp"

#include <gtest/gtest.h>

#include <map>

#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::ngsild {
namespace {

class LinkedEntitiesTest : public ::testing::Test {
 protected:
  LinkedEntitiesTest() : cache_(nullptr, {}) {}

  void add(const char* json) {
    JsonDoc doc;
    ASSERT_TRUE(parse_json(json, doc).ok()) << json;
    auto in = parse_entity(doc, *cache_.core(), ParseOptions{ParseMode::kEntity, true, true});
    ASSERT_TRUE(in.ok()) << in.status().detail();
    auto e = std::make_shared<Entity>();
    e->id = *in->id;
    e->types = in->types;
    e->attrs = std::move(in->attrs);
    entities_[e->id] = e;
  }

  RenderOptions options(Join join, int level, size_t budget = 10000) {
    RenderOptions o;
    o.ctx = cache_.core().get();
    o.join = join;
    o.join_level = level;
    o.lookup = [this](std::string_view id) -> std::shared_ptr<const Entity> {
      auto it = entities_.find(std::string(id));
      return it == entities_.end() ? nullptr : it->second;
    };
    o.join_budget = std::make_shared<JoinBudget>();
    o.join_budget->left = budget;
    return o;
  }

  std::vector<std::string> flat_ids(std::vector<std::string> roots, const RenderOptions& o) {
    std::vector<const Entity*> r;
    for (const auto& id : roots)
      r.push_back(entities_.at(id).get());
    std::vector<std::string> out;
    for (const auto& l : linked_entities(r, o))
      out.push_back(l.entity->id);
    return out;
  }

  Atom expand(std::string_view term) const { return cache_.core()->expand(term); }

  jsonld::ContextCache cache_;
  std::map<std::string, std::shared_ptr<const Entity>> entities_;
};

TEST_F(LinkedEntitiesTest, ObjectsOfEveryRelationshipForm) {
  add(R"({"id": "urn:a:1", "type": "T",
          "one": {"type": "Relationship", "object": "urn:b:1"},
          "many": {"type": "Relationship", "object": ["urn:b:2", "urn:b:3"]},
          "list": {"type": "ListRelationship", "objectList": [{"object": "urn:b:4"}, {"object": "urn:b:5"}]},
          "p": {"type": "Property", "value": "urn:b:6"}})");
  const Entity& e = *entities_.at("urn:a:1");
  EXPECT_EQ(relationship_objects(*e.find(expand("one"))), std::vector<std::string>{"urn:b:1"});
  EXPECT_EQ(relationship_objects(*e.find(expand("many"))),
            (std::vector<std::string>{"urn:b:2", "urn:b:3"}));
  EXPECT_EQ(relationship_objects(*e.find(expand("list"))),
            (std::vector<std::string>{"urn:b:4", "urn:b:5"}));
  EXPECT_TRUE(relationship_objects(*e.find(expand("p"))).empty());
}

// A -> B -> C -> A, and A -> D (missing): breadth first, each once, roots not repeated.
TEST_F(LinkedEntitiesTest, FlatIsBreadthFirstAndEachOnce) {
  add(R"({"id": "urn:A", "type": "T", "r": {"type": "Relationship", "object": "urn:B"},
          "s": {"type": "Relationship", "object": ["urn:D", "urn:E"]}})");
  add(R"({"id": "urn:B", "type": "T", "r": {"type": "Relationship", "object": "urn:C"}})");
  add(R"({"id": "urn:C", "type": "T", "r": {"type": "Relationship", "object": "urn:A"}})");
  add(R"({"id": "urn:E", "type": "T", "r": {"type": "Relationship", "object": "urn:B"}})");
  EXPECT_EQ(flat_ids({"urn:A"}, options(Join::kFlat, 1)),
            (std::vector<std::string>{"urn:B", "urn:E"}));
  EXPECT_EQ(flat_ids({"urn:A"}, options(Join::kFlat, 8)),
            (std::vector<std::string>{"urn:B", "urn:E", "urn:C"}));
  EXPECT_EQ(flat_ids({"urn:A", "urn:B"}, options(Join::kFlat, 1)),
            (std::vector<std::string>{"urn:E", "urn:C"}));
  RenderOptions contained = options(Join::kFlat, 8);
  contained.contained_by = {"urn:B"};
  EXPECT_EQ(flat_ids({"urn:A"}, contained), std::vector<std::string>{"urn:E"});
  EXPECT_TRUE(flat_ids({"urn:A"}, options(Join::kNone, 8)).empty());
}

TEST_F(LinkedEntitiesTest, OnlyRelationshipsTheProjectionKeepsAreFollowed) {
  add(R"({"id": "urn:A", "type": "T", "r": {"type": "Relationship", "object": "urn:B"},
          "s": {"type": "Relationship", "object": "urn:C"}})");
  add(R"({"id": "urn:B", "type": "T", "x": {"type": "Relationship", "object": "urn:D"}})");
  add(R"({"id": "urn:C", "type": "T"})");
  add(R"({"id": "urn:D", "type": "T"})");
  RenderOptions o = options(Join::kFlat, 2);
  o.projection.pick = true;
  o.projection.pick_attrs = {expand("r")};
  EXPECT_EQ(flat_ids({"urn:A"}, o), (std::vector<std::string>{"urn:B", "urn:D"}));
  // r{id}: B keeps only its id, so x is not followed.
  auto nested = std::make_shared<Projection>();
  nested->pick = nested->pick_id = true;
  o.projection.linked.emplace_back(expand("r"), nested);
  EXPECT_EQ(flat_ids({"urn:A"}, o), std::vector<std::string>{"urn:B"});
}

TEST_F(LinkedEntitiesTest, BudgetStopsAndSaysSo) {
  add(R"({"id": "urn:A", "type": "T", "r": {"type": "Relationship", "object": ["urn:B", "urn:C", "urn:D"]}})");
  add(R"({"id": "urn:B", "type": "T"})");
  add(R"({"id": "urn:C", "type": "T"})");
  add(R"({"id": "urn:D", "type": "T"})");
  RenderOptions o = options(Join::kFlat, 1, 2);
  EXPECT_EQ(flat_ids({"urn:A"}, o).size(), 2u);
  EXPECT_TRUE(o.join_budget->exhausted);
  RenderOptions enough = options(Join::kFlat, 1, 3);
  EXPECT_EQ(flat_ids({"urn:A"}, enough).size(), 3u);
  EXPECT_FALSE(enough.join_budget->exhausted);
  // Inline draws from the same kind of budget.
  RenderOptions in = options(Join::kInline, 1, 1);
  render_entity(*entities_.at("urn:A"), in);
  EXPECT_TRUE(in.join_budget->exhausted);
}

// Inline: "entity" for one object, "entityList" for several; a way back is not followed.
TEST_F(LinkedEntitiesTest, InlineWritesTheLinkedEntitiesInside) {
  add(R"({"id": "urn:A", "type": "T", "r": {"type": "Relationship", "object": "urn:B"},
          "l": {"type": "ListRelationship", "objectList": [{"object": "urn:B"}, {"object": "urn:X"}]}})");
  add(R"({"id": "urn:B", "type": "U", "back": {"type": "Relationship", "object": "urn:A"}})");
  std::string out = render_entity(*entities_.at("urn:A"), options(Join::kInline, 3));
  JsonDoc d;
  ASSERT_TRUE(parse_json(out, d).ok()) << out;
  EXPECT_STREQ(d["r"]["entity"]["id"].GetString(), "urn:B");
  EXPECT_FALSE(d["r"]["entity"]["back"].HasMember("entity")) << out;
  ASSERT_TRUE(d["l"]["entityList"].IsArray()) << out;
  EXPECT_EQ(d["l"]["entityList"].Size(), 1u) << out;
  RenderOptions simplified = options(Join::kInline, 1);
  simplified.format = Format::kKeyValues;
  std::string kv = render_entity(*entities_.at("urn:A"), simplified);
  JsonDoc k;
  ASSERT_TRUE(parse_json(kv, k).ok()) << kv;
  EXPECT_STREQ(k["r"]["id"].GetString(), "urn:B") << kv;
}

TEST_F(LinkedEntitiesTest, KeepsAny) {
  add(R"({"id": "urn:A", "type": "T", "r": {"type": "Relationship", "object": "urn:B"}})");
  const Entity& e = *entities_.at("urn:A");
  Projection p;
  EXPECT_TRUE(keeps_any(e, p));
  p.pick = true;
  EXPECT_FALSE(keeps_any(e, p));
  p.pick_attrs = {expand("nothing")};
  EXPECT_FALSE(keeps_any(e, p));
  p.pick_attrs = {expand("r")};
  EXPECT_TRUE(keeps_any(e, p));
  Projection omit;
  omit.omit_id = omit.omit_type = true;
  omit.omit_attrs = {expand("r")};
  EXPECT_FALSE(keeps_any(e, omit));
}

}  // namespace
}  // namespace tsunagu::ngsild
