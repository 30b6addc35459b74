// The representation parameters of retrieve and query operations (ETSI GS CIM 009 §6.3.7
// format/options, §4.21 pick/omit, attrs, §4.15 lang, §4.5.5 datasetId, §6.3.11 sysAttrs).
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::http::api {

using ngsild::Format;

Result<ngsild::RenderOptions> render_options(const Prepared& p, bool allow_geojson) {
  const QueryParams& q = p.call.query;
  ngsild::RenderOptions o;
  o.ctx = p.ctx.get();
  o.with_context = p.accept == MediaType::kJsonLd;

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
  auto members = [&](const std::string& param, const std::string& value, bool& id, bool& type,
                     bool& scope, std::vector<Atom>& names) -> Status {
    auto items = split_list(value);
    if (items.empty()) return Status::BadRequestData(param + ": must list at least one member");
    for (const auto& m : items) {
      if (m == "id") id = true;
      else if (m == "type") type = true;
      else if (m == "scope") scope = true;
      else if (!ngsild::valid_name(m)) {
        return Status::BadRequestData(param + ": '" + m + "' is not a valid attribute name");
      } else {
        names.push_back(p.ctx->expand(m));
      }
    }
    return Status::Ok();
  };
  auto& pr = o.projection;
  if (pick) {
    pr.pick = true;
    TSUNAGU_RETURN_IF_ERROR(members("pick", *pick, pr.pick_id, pr.pick_type, pr.pick_scope,
                                    pr.pick_attrs));
  }
  if (omit) {
    TSUNAGU_RETURN_IF_ERROR(members("omit", *omit, pr.omit_id, pr.omit_type, pr.omit_scope,
                                    pr.omit_attrs));
  }
  if (attrs) {
    pr.pick = true;
    pr.pick_id = pr.pick_type = pr.pick_scope = true;
    bool id = false, type = false, scope = false;
    TSUNAGU_RETURN_IF_ERROR(members("attrs", *attrs, id, type, scope, pr.pick_attrs));
  }
  if (const std::string* v = q.find("lang")) {
    if (v->empty()) return Status::BadRequestData("lang: must name a language");
    o.lang = *v;
  }
  if (const std::string* v = q.find("datasetId")) {
    o.dataset_filter = true;
    for (const auto& d : split_list(*v)) {
      if (d != "@none" && !is_absolute_uri(d)) {
        return Status::BadRequestData("datasetId: '" + d + "' is not a URI (or @none)");
      }
      o.dataset_ids.push_back(Atom::intern(d));
    }
    if (o.dataset_ids.empty()) return Status::BadRequestData("datasetId: must not be empty");
  }
  if (p.accept == MediaType::kGeoJson && !allow_geojson) {
    return Status(ErrorKind::kNotAcceptable, "application/geo+json is not available here");
  }
  return o;
}

}  // namespace tsunagu::http::api
