#include "ngsild/format/response_body.hpp"

#include "ngsild/format/linked_entities.hpp"
#include "ngsild/jsonld/context.hpp"

namespace tsunagu::ngsild {
namespace {

// Each linked entity (join=flat) with its own projection, as array items.
void render_linked(const std::vector<LinkedEntity>& linked, const RenderOptions& options,
                   JsonWriter& w) {
  RenderOptions o = options;
  o.previous = nullptr;  // a notification's previous values are the notified entity's only
  for (const auto& l : linked) {
    o.projection = *l.projection;
    render_entity(*l.entity, o, w);
  }
}

// Before rendering entity i of a page, a pipeline: the entity three ahead is fetched, the
// attribute array of the one two ahead (whose entity arrived meanwhile), and the values of the
// next one (whose attributes did).
void prefetch_ahead(const std::vector<std::shared_ptr<const Entity>>& page, size_t i) {
  if (i + 3 < page.size()) __builtin_prefetch(page[i + 3].get());
  if (i + 2 < page.size()) prefetch_attributes(*page[i + 2]);
  if (i + 1 < page.size()) prefetch_values(*page[i + 1]);
}

}  // namespace

void render_entity_body(const Entity& e, const RenderOptions& o, const BodyShape& shape,
                        RenderCache& renders, JsonWriter& w) {
  if (shape.geojson) return render_feature(e, o, shape.geometry, w);
  if (o.join != Join::kFlat) return renders.render(e, o, w);
  // join=flat: the entity, then the entities it links to, as one array; the entity alone when
  // it links to none.
  const Entity* root = &e;
  auto linked = linked_entities({&root, 1}, o);
  if (linked.empty()) return render_entity(e, o, w);
  w.begin_array();
  render_entity(e, o, w);
  render_linked(linked, o, w);
  w.end_array();
}

void render_page(const std::vector<std::shared_ptr<const Entity>>& page, const RenderOptions& o,
                 const BodyShape& shape, RenderCache& renders, JsonWriter& w) {
  if (shape.geojson) {
    // The @context goes on the collection, once (§5.2.30).
    RenderOptions feature = o;
    feature.with_context = false;
    w.begin_object();
    w.key("type");
    w.string("FeatureCollection");
    w.key("features");
    w.begin_array();
    for (size_t i = 0; i < page.size(); ++i) {
      prefetch_ahead(page, i);
      render_feature(*page[i], feature, shape.geometry, w);
    }
    w.end_array();
    if (o.with_context && o.ctx != nullptr) {
      w.key("@context");
      w.raw(o.ctx->body_json());
    }
    w.end_object();
    return;
  }
  w.begin_array();
  // Kept renderings need the entity's stamp and the cache's slot and entry, not the entity's
  // attributes and values: the same pipeline, other stages.
  const bool kept = renders.keeps(o);
  for (size_t i = 0; i < page.size(); ++i) {
    if (!kept) {
      prefetch_ahead(page, i);
    } else {
      if (i + 6 < page.size()) __builtin_prefetch(page[i + 6].get());
      if (i + 4 < page.size()) renders.prefetch(*page[i + 4], o, 1);
      if (i + 2 < page.size()) renders.prefetch(*page[i + 2], o, 2);
    }
    renders.render(*page[i], o, w);
  }
  if (o.join == Join::kFlat) {
    std::vector<const Entity*> roots;
    roots.reserve(page.size());
    for (const auto& e : page)
      roots.push_back(e.get());
    render_flat_linked(roots, o, w);
  }
  w.end_array();
}

void render_flat_linked(std::span<const Entity* const> roots, const RenderOptions& o,
                        JsonWriter& w) {
  if (o.join != Join::kFlat) return;
  render_linked(linked_entities(roots, o), o, w);
}

}  // namespace tsunagu::ngsild
