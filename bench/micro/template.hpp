// The template entity (bench/fixtures/template-entity.json) as the micro-benchmarks use it: its
// text, and the Entity the broker holds after creating it. Built once, read by every benchmark.
#pragma once

#include <string>

#include "ngsild/jsonld/context.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::bench {

// The template's JSON text as it is in the fixture file (pretty-printed).
const std::string& template_text();
// The same text minified, as clients send it (about 1.1 KB).
const std::string& template_minified();
// The built-in core @context (ContextCache with no document loader).
const ngsild::jsonld::Context& core_context();
// The template parsed, expanded and stamped as engine::create_entity does.
const ngsild::Entity& template_entity();

}  // namespace tsunagu::bench
