// Fuzz target: entity payloads (ngsild/parse/entity_parser.hpp), in every mode a route parses
// one: create (kEntity), append and replace (kFragment), update (kUpdate), merge (kMerge), the
// batch variants with a required id, and the attribute fragments of PATCH/PUT .../attrs/{attrId}.
// The body is read as prepare.cpp reads it (in place), its "@context" resolved as for
// application/ld+json (remote references fail: no network). An entity that is accepted for
// create must come back from the store's document (what a restart reads) and from each
// rendering a GET gives.
#include <memory>
#include <string>

#include "common/json.hpp"
#include "contexts.hpp"
#include "engine/entity_ops.hpp"
#include "fuzz.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "store/codec/entity_codec.hpp"

using namespace tsunagu;
using namespace tsunagu::ngsild;
using fuzz::require;

namespace {

constexpr int64_t kNow = 1700000000000000;  // µs since the epoch

ngsild::jsonld::ContextCache& contexts() {
  static auto cache = fuzz::offline_contexts();
  return *cache;
}

// The store's document of an entity created from `in` (store/codec), as the loader reads it at
// start.
void check_store_round_trip(const Entity& e) {
  const std::string doc = store::encode_entity(e);
  JsonDoc json;
  Status st = parse_json(doc, json);
  require(st.ok(), "a stored document is JSON", st.detail() + " | " + doc);
  auto reloaded = store::decode_entity(doc);
  require(reloaded.ok(), "a stored document loads again",
          (reloaded.ok() ? std::string() : reloaded.status().detail()) + " | " + doc);
  const std::string again = store::encode_entity(*reloaded);
  require(again == doc, "a reloaded entity is stored as before", doc + " | " + again);
}

// Each representation a GET gives is JSON; the normalized one can be created again.
void check_renderings(const Entity& e, const jsonld::Context& ctx) {
  struct View {
    Format format;
    bool sys_attrs;
  };
  for (View v : {View{Format::kNormalized, true}, View{Format::kNormalized, false},
                 View{Format::kConcise, false}, View{Format::kKeyValues, false}}) {
    RenderOptions o;
    o.ctx = &ctx;
    o.format = v.format;
    o.sys_attrs = v.sys_attrs;
    const std::string text = render_entity(e, o);
    JsonDoc json;
    Status st = parse_json(text, json);
    require(st.ok(), "a rendered entity is JSON", st.detail() + " | " + text);
    if (v.format != Format::kNormalized || v.sys_attrs) continue;
    auto again = parse_entity(json, ctx, ParseOptions{ParseMode::kEntity});
    require(again.ok(), "a normalized rendering can be created again",
            (again.ok() ? std::string() : again.status().detail()) + " | " + text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<JsonDoc> body;
  if (!parse_json_in_place(std::string(fuzz::text_of(data, size)), body).ok()) return 0;

  jsonld::ContextPtr ctx = contexts().core();
  if (body->IsObject()) {
    auto member = body->FindMember("@context");
    if (member != body->MemberEnd()) {
      auto resolved = contexts().from_json(member->value);
      fuzz::require_explained(resolved, "@context");
      if (resolved.ok()) ctx = *resolved;
    }
  }

  const ParseOptions modes[] = {
      {ParseMode::kEntity, true, true},      // POST /entities
      {ParseMode::kFragment, false, false},  // POST .../attrs, PUT /entities/{id}
      {ParseMode::kUpdate, false, false},    // PATCH .../attrs
      {ParseMode::kMerge, false, false},     // PATCH /entities/{id}
      {ParseMode::kEntity, true, false},     // batch upsert
      {ParseMode::kFragment, true, false},   // batch update
      {ParseMode::kMerge, true, false},      // batch merge
  };
  for (const ParseOptions& o : modes) {
    auto in = parse_entity(*body, *ctx, o);
    fuzz::require_explained(in, "parse_entity");
    if (!in.ok()) continue;
    require(!o.require_id || in->id.has_value(), "a required id is there");
    require(!o.require_type || !in->types.empty(), "a required type is there");
    if (in->id) require(check_entity_id(*in->id).ok(), "an accepted id is a valid entity id");
    if (o.mode != ParseMode::kEntity || !o.require_type) continue;
    const Entity e = engine::create_entity(std::move(*in), kNow);
    check_store_round_trip(e);
    check_renderings(e, *ctx);
  }

  const Atom name = ctx->expand("temperature");
  for (ParseMode m : {ParseMode::kMerge, ParseMode::kFragment}) {
    fuzz::require_explained(parse_attribute_fragment(*body, name, *ctx, m), "attribute fragment");
  }
  return 0;
}
