// Micro-benchmarks of the per-request work on the template entity: JSON parsing, validation and
// term expansion (the input half of POST /entities), rendering in each representation (GET
// /entities/{id}) and the store's document (store/codec: every durable write, and every entity
// read back at start).
#include <benchmark/benchmark.h>

#include "common/json.hpp"
#include "common/time.hpp"
#include "engine/entity_ops.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "store/codec/entity_codec.hpp"
#include "template.hpp"

namespace tsunagu::bench {
namespace {

void BM_JsonParse(benchmark::State& state) {
  const std::string& text = template_minified();
  for (auto _ : state) {
    JsonDoc doc;
    Status st = parse_json(text, doc);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_JsonParse);

// The way a request body is parsed: in place, in a buffer the document then owns (the copy of
// the text into it is part of the figure, as the body's own buffer is in a request).
void BM_JsonParseInPlace(benchmark::State& state) {
  const std::string& text = template_minified();
  for (auto _ : state) {
    std::shared_ptr<JsonDoc> doc;
    Status st = parse_json_in_place(std::string(text), doc);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_JsonParseInPlace);

// parse_entity alone: the DOM is built once.
void BM_ParseEntity(benchmark::State& state) {
  JsonDoc doc;
  if (!parse_json(template_minified(), doc).ok()) state.SkipWithError("template is not JSON");
  const auto& ctx = core_context();
  for (auto _ : state) {
    auto in = ngsild::parse_entity(doc, ctx, {});
    if (!in.ok()) state.SkipWithError(in.status().detail().c_str());
    benchmark::DoNotOptimize(in);
  }
}
BENCHMARK(BM_ParseEntity);

// The whole input path of a create: text -> DOM -> expanded EntityInput -> stamped Entity.
void BM_TextToEntity(benchmark::State& state) {
  const std::string& text = template_minified();
  const auto& ctx = core_context();
  const int64_t now = now_us();
  for (auto _ : state) {
    JsonDoc doc;
    if (!parse_json(text, doc).ok()) state.SkipWithError("template is not JSON");
    auto in = ngsild::parse_entity(doc, ctx, {});
    if (!in.ok()) state.SkipWithError(in.status().detail().c_str());
    ngsild::Entity e = engine::create_entity(std::move(*in), now);
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TextToEntity);

void render(benchmark::State& state, ngsild::Format format, bool sys_attrs) {
  const ngsild::Entity& e = template_entity();
  ngsild::RenderOptions o;
  o.ctx = &core_context();
  o.format = format;
  o.sys_attrs = sys_attrs;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = ngsild::render_entity(e, o);
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_RenderNormalized(benchmark::State& state) {
  render(state, ngsild::Format::kNormalized, false);
}
BENCHMARK(BM_RenderNormalized);

void BM_RenderKeyValues(benchmark::State& state) {
  render(state, ngsild::Format::kKeyValues, false);
}
BENCHMARK(BM_RenderKeyValues);

void BM_RenderConcise(benchmark::State& state) {
  render(state, ngsild::Format::kConcise, false);
}
BENCHMARK(BM_RenderConcise);

void BM_RenderNormalizedSysAttrs(benchmark::State& state) {
  render(state, ngsild::Format::kNormalized, true);
}
BENCHMARK(BM_RenderNormalizedSysAttrs);

// Into one reused buffer, as a response writer that keeps its buffer would.
void BM_RenderNormalizedReusedBuffer(benchmark::State& state) {
  const ngsild::Entity& e = template_entity();
  ngsild::RenderOptions o;
  o.ctx = &core_context();
  std::string out;
  for (auto _ : state) {
    out.clear();
    JsonWriter w(out);
    ngsild::render_entity(e, o, w);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_RenderNormalizedReusedBuffer);

void BM_StoredDocument(benchmark::State& state) {
  const ngsild::Entity& e = template_entity();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string doc = store::encode_entity(e);
    bytes = doc.size();
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_StoredDocument);

// Reading the store's document back, as the start-up rebuild does for every entity.
void BM_StoredDocumentToEntity(benchmark::State& state) {
  const std::string doc_text = store::encode_entity(template_entity());
  for (auto _ : state) {
    auto e = store::decode_entity(doc_text);
    if (!e.ok()) state.SkipWithError(e.status().detail().c_str());
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * doc_text.size()));
}
BENCHMARK(BM_StoredDocumentToEntity);

}  // namespace
}  // namespace tsunagu::bench
