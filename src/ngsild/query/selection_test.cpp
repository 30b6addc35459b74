// The Entity Type Selection Language (§4.17) and the Scope Query Language (§4.19) on their own:
// what each form selects, and the errors malformed ones get.
#include "ngsild/query/selection.hpp"

#include <gtest/gtest.h>

#include "ngsild/model/test_atoms.hpp"

namespace tsunagu::ngsild::query {
namespace {

using test_atoms::D;

Entity with_types(std::vector<std::string_view> types, std::vector<std::string> scopes = {}) {
  Entity e;
  e.id = "urn:ngsi-ld:Thing:1";
  for (auto t : types)
    e.types.push_back(D(t));
  e.scopes = std::move(scopes);
  return e;
}

class SelectionTest : public ::testing::Test {
 protected:
  SelectionTest() : contexts_(nullptr, {}) {
    for (auto t : {"Home", "Vehicle", "Motorhome", "Building", "House"})
      D(t);  // names a write has stored: reads only look names up
  }
  bool types(std::string_view text, const Entity& e) {
    auto s = parse_type_selection(text, *contexts_.core());
    EXPECT_TRUE(s.ok()) << text << ": " << s.status().detail();
    return s.ok() && s->matches(e);
  }
  bool scope(std::string_view text, const Entity& e) {
    auto s = parse_scope_query(text);
    EXPECT_TRUE(s.ok()) << text << ": " << s.status().detail();
    return s.ok() && s->matches(e);
  }
  jsonld::ContextCache contexts_;
};

TEST_F(SelectionTest, TypesOrAndAndGroups) {
  const Entity home = with_types({"Home"});
  const Entity motorhome = with_types({"Home", "Vehicle"});
  EXPECT_TRUE(types("Home", home));
  EXPECT_FALSE(types("Vehicle", home));
  EXPECT_TRUE(types("Vehicle|Home", home));
  EXPECT_TRUE(types("Vehicle,Home", home));  // the comma of earlier versions is an OR too
  EXPECT_FALSE(types("(Home;Vehicle)", home));
  EXPECT_TRUE(types("(Home;Vehicle)", motorhome));
  EXPECT_TRUE(types("(Home;Vehicle)|Motorhome", motorhome));
  EXPECT_FALSE(types("(Home;Vehicle)|Motorhome", home));
  EXPECT_TRUE(types("*", home));
  // Parentheses may hold an or, and nest (ETSI suite 046_16).
  EXPECT_TRUE(types("(Building|Home)", home));
  EXPECT_FALSE(types("(Building|Tower)", home));
  EXPECT_TRUE(types("((Home|Tower);Vehicle)", motorhome));
  EXPECT_FALSE(types("((Home|Tower);Vehicle)", home));
  EXPECT_TRUE(types("(Vehicle;(Tower|Home))|Building", motorhome));
  auto one = parse_type_selection("Building", *contexts_.core());
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->single(), D("Building"));
  auto two = parse_type_selection("Building|House", *contexts_.core());
  ASSERT_TRUE(two.ok());
  EXPECT_TRUE(two->single().empty());
  EXPECT_EQ(two->all_types(), (std::vector<Atom>{D("Building"), D("House")}));
}

TEST_F(SelectionTest, MalformedTypeSelectionsAreRefused) {
  // A conjunction needs its parentheses (§4.17; docs/decisions.md).
  for (const char* bad : {"", "(Home", "Home)", "Home|", ";Home", "Home;Vehicle", "(Home;;Vehicle)",
                          "()", "(Home|)", "((Home)", "Home(Vehicle)", "(Home)Vehicle"}) {
    auto s = parse_type_selection(bad, *contexts_.core());
    EXPECT_FALSE(s.ok()) << "'" << bad << "' parsed";
    if (!s.ok()) {
      EXPECT_EQ(s.status().kind(), ErrorKind::kBadRequestData) << bad;
    }
  }
}

TEST_F(SelectionTest, ScopesWithWildcardsAndSubtrees) {
  const Entity park = with_types({"Home"}, {"/Madrid/Gardens/ParqueNorte"});
  const Entity both = with_types({"Home"}, {"/Madrid/Districts/Centro", "/CompanyA"});
  const Entity none = with_types({"Home"});
  EXPECT_TRUE(scope("/Madrid/Gardens/ParqueNorte", park));
  EXPECT_FALSE(scope("/Madrid/Gardens", park));  // a level, not its subtree
  EXPECT_TRUE(scope("/Madrid/Gardens/#", park));
  EXPECT_TRUE(scope("/Madrid/+/ParqueNorte", park));
  EXPECT_FALSE(scope("/Madrid/+", park));
  EXPECT_TRUE(scope("/#", park));
  EXPECT_FALSE(scope("/#", none));
  EXPECT_TRUE(scope("(/Madrid/Districts/#;/CompanyA)|/CompanyB", both));
  EXPECT_FALSE(scope("/Madrid/Districts/#;/CompanyB", both));
  EXPECT_TRUE(scope("/Madrid/Districts/#;/CompanyB|/CompanyA", both));
}

TEST_F(SelectionTest, MalformedScopeQueriesAreRefused) {
  for (const char* bad : {"", "Madrid", "/Madrid/", "/Madrid/#/Gardens", "(/Madrid", "/a|"}) {
    auto s = parse_scope_query(bad);
    EXPECT_FALSE(s.ok()) << "'" << bad << "' parsed";
  }
}

TEST_F(SelectionTest, InternedTypesOutliveTheRequest) {
  const auto& ctx = *contexts_.core();
  auto read = parse_type_selection("SelTestNeverStoredA", ctx);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->single().empty());
  auto kept = parse_type_selection("SelTestNeverStoredB", ctx, true);
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(kept->single().empty());
  EXPECT_EQ(kept->single(), ctx.lookup("SelTestNeverStoredB"));
}

}  // namespace
}  // namespace tsunagu::ngsild::query
