// The representation of retrieve and query responses: the parameters, read by ngsild/, and what
// the HTTP content negotiation adds.
#include "ngsild/format/representation.hpp"
#include "http/api/api.hpp"

namespace tsunagu::http::api {

Result<ngsild::RenderOptions> render_options(const Prepared& p, bool allow_geojson) {
  const bool geojson = p.accept == MediaType::kGeoJson;
  auto o = ngsild::representation_options(p.call.query, *p.ctx, geojson);
  if (!o.ok()) return o;
  // ld+json bodies carry their @context; so do GeoJSON bodies unless the client prefers plain
  // JSON with a Link header (§5.7.2.4, Prefer: body=json).
  o->with_context = p.accept == MediaType::kJsonLd || (geojson && !p.prefer_body_json);
  if (geojson && !allow_geojson) {
    return Status(ErrorKind::kNotAcceptable, "application/geo+json is not available here");
  }
  return o;
}

ngsild::BodyShape body_shape(const Prepared& p) {
  ngsild::BodyShape shape;
  shape.geojson = p.accept == MediaType::kGeoJson;
  if (shape.geojson) {
    const std::string* gp = p.call.query.find("geometryProperty");
    shape.geometry = p.ctx->lookup(gp ? *gp : "location");
  }
  return shape;
}

}  // namespace tsunagu::http::api
