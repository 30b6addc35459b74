// Fuzz target: the Scope Query Language (scopeQ, ETSI GS CIM 009 §4.19) and its sibling, the
// Entity Type Selection Language (type, §4.17), both in ngsild/query/selection.hpp, parsed as
// query.cpp parses the parameters (core @context) and evaluated against fixed entities.
#include <string>
#include <vector>

#include "contexts.hpp"
#include "fuzz.hpp"
#include "ngsild/model/entity.hpp"
#include "ngsild/query/selection.hpp"

using namespace tsunagu;
using namespace tsunagu::ngsild;
using fuzz::require;

namespace {

struct Fixture {
  std::unique_ptr<jsonld::ContextCache> contexts = fuzz::offline_contexts();
  std::vector<Entity> entities;

  Fixture() {
    const std::vector<std::vector<std::string>> scopes{
        {}, {"/Madrid"}, {"/Madrid/Gardens/ParqueNorte", "/CompanyA"}, {"/a/b/c/d/e/f"}};
    const std::vector<std::vector<std::string>> types{
        {"Building"}, {"Home", "Vehicle"}, {"https://example.org/Park"}, {"Motorhome"}};
    for (size_t i = 0; i < scopes.size(); ++i) {
      Entity e;
      e.id = "urn:ngsi-ld:Thing:" + std::to_string(i);
      for (const auto& t : types[i])
        e.types.push_back(contexts->core()->expand(t));
      e.scopes = scopes[i];
      entities.push_back(std::move(e));
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fixture;
  const std::string_view text = fuzz::text_of(data, size);

  auto scope = query::parse_scope_query(text);
  fuzz::require_explained(scope, "parse_scope_query");
  if (scope.ok()) {
    require(!scope->groups.empty(), "an accepted scopeQ has a pattern", text);
    for (const Entity& e : fixture.entities)
      (void)scope->matches(e);
    for (const auto& group : scope->groups) {
      for (const auto& pattern : group) {
        for (const Entity& e : fixture.entities)
          for (const auto& s : e.scopes)
            (void)pattern.matches(s);
      }
    }
  }

  auto types = query::parse_type_selection(text, *fixture.contexts->core());
  fuzz::require_explained(types, "parse_type_selection");
  if (types.ok()) {
    require(types->any || !types->groups.empty(), "an accepted type selection names a type", text);
    for (const Entity& e : fixture.entities)
      (void)types->matches(e);
    (void)types->all_types();
  }
  return 0;
}
