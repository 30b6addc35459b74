// Context source registrations (ETSI GS CIM 009 §5.9, §5.10, §6.8-§6.9): register, query,
// retrieve, update and delete. The payload is read by ngsild/registration/, kept by
// engine::RegistrationService.
#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "ngsild/registration/registration_parser.hpp"
#include "ngsild/registration/registration_query.hpp"
#include "ngsild/registration/registration_renderer.hpp"

namespace tsunagu::http::api {
namespace {

namespace reg = ngsild::registration;

const std::vector<MediaType> kBodies = {MediaType::kJson, MediaType::kJsonLd};
const std::vector<MediaType> kViews = {MediaType::kJson, MediaType::kJsonLd};
constexpr std::string_view kCollection = "/ngsi-ld/v1/csourceRegistrations";

Status unavailable() {
  return Status::NotSupported("context source registrations are not enabled on this server");
}

// The {registrationId} of the path: a URI (§5.2.9).
Result<std::string> registration_id(const Prepared& p) {
  const std::string& id = p.call.params.at(0);
  if (!is_absolute_uri(id)) {
    return Status::BadRequestData("registration id '" + id.substr(0, 200) + "' is not a URI");
  }
  return id;
}

Result<reg::RegistrationRenderOptions> render_options_of(const Prepared& p) {
  auto options = options_list(p.call.query, {"sysAttrs"});
  if (!options.ok()) return options.status();
  reg::RegistrationRenderOptions o;
  o.sys_attrs = !options->empty();
  o.with_context = p.accept == MediaType::kJsonLd;
  return o;
}

}  // namespace

void create_registration(Env& env, Call&& c) {
  static const CallSpec spec{true, kBodies, {}, {}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.registrations == nullptr) return p.fail(unavailable());
    auto r = reg::parse_registration(*p.body, *p.ctx);
    if (!r.ok()) return p.fail(r.status());
    if (r->id.empty()) r->id = reg::make_registration_id();
    r->created_at = r->modified_at = now_us();
    std::string location = std::string(kCollection) + "/" + percent_encode_segment(r->id);
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.registrations->create(shared->tenant, std::move(*r), [shared, location](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      shared->respond_empty(201, {{"Location", location}});
    });
  });
}

void query_registration(Env& env, Call&& c) {
  static const CallSpec spec{false,
                             {},
                             kViews,
                             {"id",
                              "type",
                              "idPattern",
                              "attrs",
                              "q",
                              "csf",
                              "geometry",
                              "georel",
                              "coordinates",
                              "geoproperty",
                              "geometryProperty",
                              "timeproperty",
                              "timerel",
                              "timeAt",
                              "endTimeAt",
                              "lang",
                              "scopeQ",
                              "options",
                              "limit",
                              "offset",
                              "count",
                              "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.registrations == nullptr) return p.fail(unavailable());
    auto options = render_options_of(p);
    if (!options.ok()) return p.fail(options.status());
    auto q = reg::registration_query_from_params(p.call.query, *p.ctx, env.limits);
    if (!q.ok()) return p.fail(q.status());
    auto found = env.registrations->query(p.tenant, *q);
    const auto& page = q->entities;
    std::string body;
    JsonWriter w(body);
    w.begin_array();
    for (size_t i = page.offset; i < found.size() && i < page.offset + page.limit; ++i)
      reg::render_registration(*found[i].def, found[i].state, *p.ctx, w, *options);
    w.end_array();
    p.respond_json(200, std::move(body), page_headers(p, page, found.size()));
  });
}

void retrieve_registration(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, kViews, {"options", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.registrations == nullptr) return p.fail(unavailable());
    auto options = render_options_of(p);
    if (!options.ok()) return p.fail(options.status());
    auto id = registration_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto v = env.registrations->retrieve(p.tenant, *id);
    if (!v.ok()) return p.fail(v.status());
    std::string body;
    JsonWriter w(body);
    reg::render_registration(*v->def, v->state, *p.ctx, w, *options);
    p.respond_json(200, std::move(body));
  });
}

void update_registration(Env& env, Call&& c) {
  static const CallSpec spec{
      true, {MediaType::kJson, MediaType::kJsonLd, MediaType::kMergePatch}, {}, {"local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.registrations == nullptr) return p.fail(unavailable());
    auto id = registration_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    // The fragment is read against the registration as it is when the change commits.
    auto change = [shared](reg::Registration& r) -> Status {
      TSUNAGU_RETURN_IF_ERROR(reg::apply_registration_patch(r, *shared->body, *shared->ctx));
      r.modified_at = now_us();
      return Status::Ok();
    };
    env.registrations->update(shared->tenant, *id, change, [shared](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      shared->respond_empty(204);
    });
  });
}

void delete_registration(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {"local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.registrations == nullptr) return p.fail(unavailable());
    auto id = registration_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.registrations->remove(shared->tenant, *id, [shared](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      shared->respond_empty(204);
    });
  });
}

}  // namespace tsunagu::http::api
