// Loads the template fixture once and aborts with a message when it is missing or no longer
// parses: a benchmark of a failing path would measure the error branch.
#include "template.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/json.hpp"
#include "common/time.hpp"
#include "engine/entity_ops.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::bench {
namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tsunagu_micro: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

const std::string& template_text() {
  static const std::string text = [] {
    std::ifstream in(TSUNAGU_BENCH_TEMPLATE);
    if (!in) fail("cannot read " TSUNAGU_BENCH_TEMPLATE);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }();
  return text;
}

const std::string& template_minified() {
  static const std::string text = [] {
    JsonDoc doc;
    Status st = parse_json(template_text(), doc);
    if (!st.ok()) fail("template is not JSON: " + st.detail());
    return json_text(doc);
  }();
  return text;
}

const ngsild::jsonld::Context& core_context() {
  static const ngsild::jsonld::ContextCache cache(nullptr, {});
  return *cache.core();
}

const ngsild::Entity& template_entity() {
  static const ngsild::Entity entity = [] {
    JsonDoc doc;
    Status st = parse_json(template_text(), doc);
    if (!st.ok()) fail("template is not JSON: " + st.detail());
    auto in = ngsild::parse_entity(doc, core_context(), {});
    if (!in.ok()) fail("template does not parse: " + in.status().detail());
    return engine::create_entity(std::move(*in), now_us());
  }();
  return entity;
}

}  // namespace tsunagu::bench
