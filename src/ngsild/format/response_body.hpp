// The bodies of Retrieve Entity and Query Entities: an entity in the requested representation,
// a GeoJSON Feature or FeatureCollection (§5.2.30-§5.2.31), or, with join=flat (§4.5.23), the
// entities followed by those they link to. Notifications render their data the same way.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "common/atom.hpp"
#include "common/json_writer.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/format/render_cache.hpp"

namespace tsunagu::ngsild {

// What carries the entities: JSON(-LD), or GeoJSON whose geometry is the GeoProperty `geometry`
// (the geometryProperty parameter; location by default).
struct BodyShape {
  bool geojson = false;
  Atom geometry;
};

// One entity. A join must have been readied in `o` (RenderOptions::lookup) when it asks for one.
void render_entity_body(const Entity& e, const RenderOptions& o, const BodyShape& shape,
                        RenderCache& renders, JsonWriter& w);

// join=flat (§4.5.23): the entities `roots` link to, each with its own projection, written as
// items of the array the caller has begun (nothing without a join=flat). A join must have been
// readied in `o`. Notifications add them after the entities they notify.
void render_flat_linked(std::span<const Entity* const> roots, const RenderOptions& o,
                        JsonWriter& w);

// One page of entities, in order: a JSON array, or a FeatureCollection.
void render_page(const std::vector<std::shared_ptr<const Entity>>& page, const RenderOptions& o,
                 const BodyShape& shape, RenderCache& renders, JsonWriter& w);

}  // namespace tsunagu::ngsild
