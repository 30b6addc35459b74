// The representation parameters of retrieve and query operations (ETSI GS CIM 009 §6.3.7
// format/options, §4.21 pick/omit, attrs, §4.15 lang, §4.5.5 datasetId, §6.3.11 sysAttrs).
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::http::api {

using ngsild::Format;

Status apply_representation_member(std::string_view name, std::string_view value,
                                   const ngsild::jsonld::Context& ctx,
                                   ngsild::RenderOptions& o) {
  std::string param(name);
  auto& pr = o.projection;
  if (name == "datasetId") {
    o.dataset_filter = true;
    for (const auto& d : split_list(value)) {
      if (d != "@none" && !is_absolute_uri(d)) {
        return Status::BadRequestData("datasetId: '" + d + "' is not a URI (or @none)");
      }
      o.dataset_ids.push_back(Atom::intern(d));
    }
    if (o.dataset_ids.empty()) return Status::BadRequestData("datasetId: must not be empty");
    return Status::Ok();
  }
  // The Attribute Projection Language (§4.21): names separated by ',' or '|'; a '{' asks for
  // Linked Entity retrieval, which needs join (not offered).
  if (value.find('{') != std::string_view::npos) {
    return Status::BadRequestData(param + ": '" + std::string(value.substr(0, 100)) +
                                  "' projects Linked Entity attributes, which needs join");
  }
  std::string list(value);
  for (char& c : list) {
    if (c == '|') c = ',';
  }
  auto items = split_list(list);
  if (items.empty()) return Status::BadRequestData(param + ": must list at least one member");
  bool pick = name == "pick" || name == "attrs";
  if (pick) pr.pick = true;
  if (name == "attrs") pr.pick_id = pr.pick_type = pr.pick_scope = true;
  for (const auto& m : items) {
    bool core = m == "id" || m == "type" || m == "scope";
    if (core && name != "attrs") {
      bool& flag = m == "id" ? (pick ? pr.pick_id : pr.omit_id)
                 : m == "type" ? (pick ? pr.pick_type : pr.omit_type)
                               : (pick ? pr.pick_scope : pr.omit_scope);
      flag = true;
      continue;
    }
    if (!ngsild::valid_name(m)) {
      return Status::BadRequestData(param + ": '" + m + "' is not a valid attribute name");
    }
    (pick ? pr.pick_attrs : pr.omit_attrs).push_back(ctx.expand(m));
  }
  return Status::Ok();
}

Result<ngsild::RenderOptions> render_options(const Prepared& p, bool allow_geojson) {
  const QueryParams& q = p.call.query;
  ngsild::RenderOptions o;
  o.ctx = p.ctx.get();
  // ld+json bodies carry their @context; so do GeoJSON bodies unless the client prefers plain
  // JSON with a Link header (§5.7.2.4, Prefer: body=json).
  o.with_context = p.accept == MediaType::kJsonLd ||
                   (p.accept == MediaType::kGeoJson && !p.prefer_body_json);

  std::optional<Format> from_options;
  if (const std::string* v = q.find("options")) {
    for (const auto& opt : split_list(*v)) {
      std::optional<Format> f;
      if (opt == "keyValues" || opt == "simplified") f = Format::kKeyValues;
      else if (opt == "concise") f = Format::kConcise;
      else if (opt == "normalized") f = Format::kNormalized;
      else if (opt == "sysAttrs") o.sys_attrs = true;
      else {
        return Status::InvalidRequest("options: '" + opt +
                                      "' is not one of keyValues, simplified, concise, "
                                      "normalized, sysAttrs");
      }
      if (f) {
        if (from_options && *from_options != *f) {
          return Status::BadRequestData("options: '" + *v + "' asks for two representations");
        }
        from_options = f;
      }
    }
  }
  if (const std::string* v = q.find("format")) {
    if (*v == "keyValues" || *v == "simplified") o.format = Format::kKeyValues;
    else if (*v == "concise") o.format = Format::kConcise;
    else if (*v == "normalized") o.format = Format::kNormalized;
    else {
      return Status::BadRequestData("format: '" + *v +
                                    "' is not one of normalized, concise, keyValues, simplified");
    }
  } else if (from_options) {
    o.format = *from_options;
  }

  const std::string* pick = q.find("pick");
  const std::string* omit = q.find("omit");
  const std::string* attrs = q.find("attrs");
  if (pick && omit) return Status::BadRequestData("pick and omit cannot be used together");
  if (pick && attrs) return Status::BadRequestData("pick and attrs cannot be used together");
  for (const char* name : {"pick", "omit", "attrs", "datasetId"}) {
    if (const std::string* v = q.find(name)) {
      TSUNAGU_RETURN_IF_ERROR(apply_representation_member(name, *v, *p.ctx, o));
    }
  }
  if (const std::string* v = q.find("lang")) {
    if (v->empty()) return Status::BadRequestData("lang: must name a language");
    o.lang = *v;
  }
  if (q.find("geometryProperty") != nullptr && p.accept != MediaType::kGeoJson) {
    return Status::BadRequestData("geometryProperty: only applies when Accept is "
                                  "application/geo+json (§5.7.2.4)");
  }
  if (p.accept == MediaType::kGeoJson && !allow_geojson) {
    return Status(ErrorKind::kNotAcceptable, "application/geo+json is not available here");
  }
  return o;
}

}  // namespace tsunagu::http::api
