// Fuzz target: the store's entity documents (store/codec/entity_codec.hpp), as the loader reads
// them at start from a change log or checkpoint that may be damaged. Any text gives an entity
// or an error with a detail; an entity that reads is one the codec writes and reads again as it
// is, and one every representation renders as JSON. Rendered with its names expanded: a document
// is not held to the API's rules for names, so a name may compact to a keyword, which responses
// then repeat (the entity target renders what the API accepts with a @context).
#include <string>

#include "fuzz.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "store/codec/entity_codec.hpp"
#include "store/codec/json_reader.hpp"

using namespace tsunagu;
using fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto e = store::decode_entity(fuzz::text_of(data, size));
  fuzz::require_explained(e, "decode_entity");
  if (!e.ok()) return 0;

  const std::string doc = store::encode_entity(*e);
  auto again = store::decode_entity(doc);
  require(again.ok(), "a decoded entity's document reads back",
          (again.ok() ? std::string() : again.status().detail()) + " | " + doc);
  require(store::encode_entity(*again) == doc, "a decoded entity is written as before", doc);

  for (ngsild::Format f :
       {ngsild::Format::kNormalized, ngsild::Format::kConcise, ngsild::Format::kKeyValues}) {
    ngsild::RenderOptions o;
    o.format = f;
    o.sys_attrs = f == ngsild::Format::kNormalized;
    const std::string text = ngsild::render_entity(*e, o);
    // As deep as the document (parse_json would refuse past a request's depth).
    store::JsonReader r(text, store::kMaxStoredDepth + 2);
    std::string copy;
    require(r.canonical(copy, 0) && r.at_end(), "a decoded entity renders as JSON",
            r.error() + " | " + text);
  }
  return 0;
}
