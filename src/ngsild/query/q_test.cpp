// The NGSI-LD Query Language (ETSI GS CIM 009 §4.9), parser and evaluator, on one entity: each
// operator on each kind of value, paths into sub-attributes, metadata and compound values,
// precedence, and the errors a malformed q gets. The same grammar reaches a PostgreSQL
// translator later through the Expr tree, so its shape is tested too.
#include <gtest/gtest.h>

#include "ngsild/jsonld/context.hpp"
#include "ngsild/model/test_atoms.hpp"
#include "ngsild/query/q.hpp"

namespace tsunagu::ngsild::query {
namespace {

using test_atoms::D;

Attribute property(std::string_view name, Value v) {
  Attribute a;
  a.name = D(name);
  a.value = std::move(v);
  return a;
}

Entity park() {
  Entity e;
  e.id = "urn:ngsi-ld:Park:1";
  e.types = {D("Park")};
  Attribute speed = property("speed", Value::number(42.5));
  speed.observed_at = 1714557600000000;  // 2024-05-01T10:00:00Z
  speed.unit_code = Atom::intern("KMH");
  Attribute temperature = property("temperature", Value::number(21));
  temperature.subs.push_back(property("accuracy", Value::number(0.5)));
  Attribute owner;
  owner.kind = AttrKind::kRelationship;
  owner.name = D("owner");
  owner.value = Value::string("urn:ngsi-ld:Person:1");
  e.attrs = {speed,
             temperature,
             property("name", Value::string("Parque del Retiro")),
             property("open", Value::boolean(true)),
             property("address", Value::json(R"({"city":"Madrid","zip":"28001"})")),
             owner};
  return e;
}

class QTest : public ::testing::Test {
 protected:
  QTest() : contexts_(nullptr, {}), park_(park()) {}

  // Whether `q` matches the park; fails the test when it does not parse.
  bool q(std::string_view text) {
    auto expr = parse_q(text, *contexts_.core());
    EXPECT_TRUE(expr.ok()) << text << ": " << expr.status().detail();
    return expr.ok() && matches(*expr, park_);
  }
  std::string error(std::string_view text) {
    auto expr = parse_q(text, *contexts_.core());
    EXPECT_FALSE(expr.ok()) << text << " parsed";
    if (!expr.ok()) {
      EXPECT_EQ(expr.status().kind(), ErrorKind::kBadRequestData) << text;
    }
    return expr.ok() ? "" : expr.status().detail();
  }

  jsonld::ContextCache contexts_;
  Entity park_;
};

TEST_F(QTest, ComparesNumbers) {
  EXPECT_TRUE(q("speed==42.5"));
  EXPECT_FALSE(q("speed!=42.5"));
  EXPECT_TRUE(q("speed!=42"));
  EXPECT_TRUE(q("speed>40"));
  EXPECT_TRUE(q("speed>=42.5"));
  EXPECT_FALSE(q("speed>42.5"));
  EXPECT_FALSE(q("speed<42.5"));
  EXPECT_TRUE(q("speed<=42.5"));
  EXPECT_FALSE(q("speed==\"42.5\""));  // a string is not the number
}

TEST_F(QTest, RangesAndListsAreInclusiveAndAnyOf) {
  EXPECT_TRUE(q("speed==40..50"));
  EXPECT_TRUE(q("speed==42.5..50"));
  EXPECT_FALSE(q("speed==1..10"));
  EXPECT_FALSE(q("speed!=40..50"));
  EXPECT_TRUE(q("speed==1,42.5,99"));
  EXPECT_FALSE(q("speed==1,2"));
  EXPECT_TRUE(q("speed!=1,2"));
}

TEST_F(QTest, StringsBooleansAndPatterns) {
  EXPECT_TRUE(q("name==\"Parque del Retiro\""));
  EXPECT_FALSE(q("name==\"parque del retiro\""));
  EXPECT_TRUE(q("name~=Retiro$"));
  EXPECT_FALSE(q("name~=^Retiro"));
  EXPECT_TRUE(q("name~=\"(?i)^parque\""));
  EXPECT_FALSE(q("name!~=^Parque"));
  EXPECT_TRUE(q("name!~=xyz"));
  EXPECT_TRUE(q("open==true"));
  EXPECT_FALSE(q("open==false"));
  EXPECT_FALSE(q("speed~=4"));  // patterns apply to strings only
}

TEST_F(QTest, RelationshipsCompareTheirObject) {
  EXPECT_TRUE(q("owner==urn:ngsi-ld:Person:1"));
  EXPECT_TRUE(q("owner==\"urn:ngsi-ld:Person:1\""));
  EXPECT_FALSE(q("owner==urn:ngsi-ld:Person:2"));
  EXPECT_FALSE(q("owner~=Person"));  // never a pattern on an object (§4.9)
}

TEST_F(QTest, PathsIntoSubAttributesMetadataAndCompoundValues) {
  EXPECT_TRUE(q("temperature.accuracy<1"));
  EXPECT_FALSE(q("temperature.accuracy>1"));
  EXPECT_TRUE(q("speed.observedAt>2024-01-01T00:00:00Z"));
  EXPECT_FALSE(q("speed.observedAt<2024-01-01T00:00:00Z"));
  EXPECT_TRUE(q("speed.unitCode==\"KMH\""));
  EXPECT_TRUE(q("address[city]==\"Madrid\""));
  EXPECT_FALSE(q("address[zip]==\"1\""));
  EXPECT_FALSE(q("address[country]==\"Spain\""));
}

TEST_F(QTest, ExistenceAndAbsentAttributes) {
  EXPECT_TRUE(q("speed"));
  EXPECT_TRUE(q("temperature.accuracy"));
  EXPECT_FALSE(q("temperature.precision"));
  EXPECT_FALSE(q("speed;missing"));
  // An attribute the entity lacks satisfies no comparison, != included.
  EXPECT_FALSE(q("speed2==1"));
  EXPECT_FALSE(q("speed2!=1"));
  EXPECT_FALSE(q("name2!~=x"));
}

TEST_F(QTest, AndBindsTighterThanOrAndParenthesesGroup) {
  EXPECT_FALSE(q("speed>40;name==\"x\""));
  EXPECT_TRUE(q("speed>40|name==\"x\""));
  // speed>40 | (open==false ; name=="x"): true. Read the other way round it would be false.
  EXPECT_TRUE(q("speed>40|open==false;name==\"x\""));
  EXPECT_FALSE(q("(speed>40|open==false);name==\"x\""));
  EXPECT_TRUE(q("((speed<40|open==true));name~=Retiro"));
  auto tree = parse_q("a==1;b==2|c==3", *contexts_.core());
  ASSERT_TRUE(tree.ok());
  ASSERT_EQ(tree->kind, Expr::Kind::kOr);
  ASSERT_EQ(tree->children.size(), 2u);
  EXPECT_EQ(tree->children[0].kind, Expr::Kind::kAnd);
  EXPECT_EQ(tree->children[1].kind, Expr::Kind::kTerm);
  EXPECT_EQ(tree->children[1].term->path.text, "c");
}

TEST_F(QTest, MalformedQueriesAreRefusedWithThePosition) {
  EXPECT_NE(error("speed>").find("position"), std::string::npos);
  EXPECT_NE(error("(speed>1").find("q:"), std::string::npos);
  error("speed>1)");
  error("speed>1;");
  error("|speed>1");
  error("speed==1..2..3");
  EXPECT_NE(error("speed>1,2").find("a value list needs == or !="), std::string::npos);
  EXPECT_NE(error("speed==1..\"a\"").find("same kind"), std::string::npos);
  EXPECT_NE(error("open==true..false").find("booleans"), std::string::npos);
  EXPECT_NE(error("name~=(").find("invalid regular expression"), std::string::npos);
  error("speed===1");
}

// A read looks names up and leaves a name nobody stored empty; a subscription's q is kept and
// evaluated against later writes, so it interns them (NameUse::kIntern).
TEST_F(QTest, InternedNamesOutliveTheRequest) {
  const auto& ctx = *contexts_.core();
  auto read = parse_q("qTestNeverStoredA>1", ctx);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->term->path.names[0].empty());
  auto kept = parse_q("qTestNeverStoredB>1", ctx, {}, NameUse::kIntern);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->term->path.names[0], ctx.lookup("qTestNeverStoredB"));
  EXPECT_FALSE(kept->term->path.names[0].empty());
}

}  // namespace
}  // namespace tsunagu::ngsild::query
