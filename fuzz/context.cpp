// Fuzz target: JSON-LD @contexts (ngsild/jsonld/context.hpp), built from an "@context" value as
// prepare.cpp builds a body's (ContextCache::from_json), checked as the @context API checks a
// hosted one (check_context, add_hosted). Remote references go to a loader that fails every
// URL, so they are followed without I/O. Invariants: a built context's JSON is JSON, and a name
// it compacts an IRI to expands back to that IRI (what a GET writes, a POST reads the same).
#include <string>
#include <vector>

#include "common/json.hpp"
#include "contexts.hpp"
#include "fuzz.hpp"

using namespace tsunagu;
using namespace tsunagu::ngsild::jsonld;
using fuzz::require;

namespace {

// Member names of the context's objects: the terms it defines, and so those worth expanding.
void collect_terms(const JsonValue& v, std::vector<std::string>& out) {
  if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      collect_terms(e, out);
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject())
      out.emplace_back(m.name.GetString(), m.name.GetStringLength());
  }
}

void check_built(const Context& ctx, const JsonValue& value) {
  if (!ctx.body_json().empty()) {
    JsonDoc json;
    Status st = parse_json(ctx.body_json(), json);
    require(st.ok(), "a context's JSON is JSON", st.detail() + " | " + ctx.body_json());
  }
  std::vector<std::string> terms{"name", "location", "Building", "schema:name", "ex:a"};
  collect_terms(value, terms);
  for (const std::string& term : terms) {
    const Atom iri = ctx.expand(term);
    (void)ctx.coercion(iri);
    if (!looks_like_absolute_iri(iri.str())) continue;
    const std::string compacted = ctx.compact(iri);
    require(ctx.expand(compacted) == iri, "a compacted name expands back to its IRI",
            term + " -> " + std::string(iri.str()) + " -> " + compacted + " -> " +
                std::string(ctx.expand(compacted).str()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  JsonDoc json;
  if (!parse_json(fuzz::text_of(data, size), json).ok()) return 0;
  auto contexts = fuzz::offline_contexts();

  (void)contexts->may_fetch(json);
  fuzz::require_explained(check_context(json, ContextCache::Options{}.max_depth), "check_context");
  auto built = contexts->from_json(json);
  fuzz::require_explained(built, "from_json");
  if (built.ok()) {
    require(*built != nullptr, "a built context is there");
    check_built(**built, json);
  }
  // POST /jsonldContexts: a document whose "@context" member is the context.
  if (json.IsObject() && json.HasMember("@context")) {
    fuzz::require_explained(contexts->add_hosted(json), "add_hosted");
  }
  return 0;
}
