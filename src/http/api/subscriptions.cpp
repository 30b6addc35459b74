// Subscriptions (ETSI GS CIM 009 §5.8, §6.10-§6.11) and Context Source Registration
// subscriptions (§5.11.2-§5.11.6, §6.12-§6.13): create, query, retrieve, update and delete, one
// pipeline for both. The payload is read by ngsild/subscription/ (by the rules of its kind), kept
// and matched by engine::SubscriptionService or engine::CsourceSubscriptionService.
#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "ngsild/subscription/subscription_parser.hpp"
#include "ngsild/subscription/subscription_renderer.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace tsunagu::http::api {
namespace {

namespace sub = ngsild::subscription;

const std::vector<MediaType> kBodies = {MediaType::kJson, MediaType::kJsonLd};
const std::vector<MediaType> kViews = {MediaType::kJson, MediaType::kJsonLd};

// What tells the two kinds of subscription apart in the API.
template <class Service>
struct Resource {
  Service* Env::*service;
  sub::SubscriptionKind kind;
  std::string_view base;  // the collection's path, with a trailing '/'
  std::string_view what;  // in OperationNotSupported
  // The query parameters every operation takes besides its own (the entity subscriptions'
  // routes accept `local`, suite 030_02).
  std::vector<std::string_view> params;
};

const Resource<engine::SubscriptionService> kEntitySubscriptions{&Env::subscriptions,
                                                                 sub::SubscriptionKind::kEntity,
                                                                 "/ngsi-ld/v1/subscriptions/",
                                                                 "subscriptions",
                                                                 {"local"}};
const Resource<engine::CsourceSubscriptionService> kCsourceSubscriptions{
    &Env::csource_subscriptions,
    sub::SubscriptionKind::kCsource,
    "/ngsi-ld/v1/csourceSubscriptions/",
    "registration subscriptions",
    {}};

template <class Service>
Status unavailable(const Resource<Service>& r) {
  return Status::NotSupported(std::string(r.what) + " are not enabled on this server");
}

template <class Service>
std::vector<std::string_view> params_of(const Resource<Service>& r,
                                        std::initializer_list<std::string_view> own) {
  std::vector<std::string_view> out(own);
  out.insert(out.end(), r.params.begin(), r.params.end());
  return out;
}

// The {subscriptionId} of the path: a URI (§5.2.12).
Result<std::string> subscription_id(const Prepared& p) {
  const std::string& id = p.call.params.at(0);
  if (!is_absolute_uri(id)) {
    return Status::BadRequestData("subscription id '" + id.substr(0, 200) + "' is not a URI");
  }
  return id;
}

// A caller with a role (docs/security.md, "Roles") sees only the subscriptions made with that
// role; to it the others do not exist. A caller without one sees them all.
bool visible_to(const Prepared& p, const sub::Subscription& s) {
  return !p.restriction || s.role == p.restriction->role;
}

Status absent(std::string_view id) {
  return Status::NotFound("subscription '" + std::string(id) + "' does not exist");
}

// The @context notifications are compacted with: jsonldContext when given (fetched now, so that
// a missing one is refused at once, §5.8.1), else the request's. May block: off the loops.
Result<ngsild::jsonld::ContextPtr> notification_context(Env& env, const sub::Subscription& s,
                                                        const Prepared& p) {
  if (!s.jsonld_context) return p.ctx;
  return env.contexts.from_url(*s.jsonld_context);
}

// How GET renders subscriptions: options (only sysAttrs) read once per request.
Result<sub::SubscriptionRenderOptions> render_options_of(const Prepared& p) {
  auto options = options_list(p.call.query, {"sysAttrs"});
  if (!options.ok()) return options.status();
  sub::SubscriptionRenderOptions o;
  o.sys_attrs = !options->empty();
  o.with_context = p.accept == MediaType::kJsonLd;
  return o;
}

template <class Service>
void create(Env& env, Call&& c, const Resource<Service>& r) {
  static const CallSpec spec{true, kBodies, {}, params_of(r, {})};
  prepare(env, std::move(c), spec, [&env, &r](Prepared&& p) {
    Service* service = env.*r.service;
    if (service == nullptr) return p.fail(unavailable(r));
    auto s = sub::parse_subscription(*p.body, *p.ctx, now_us(), r.kind);
    if (!s.ok()) return p.fail(s.status());
    if (s->id.empty()) s->id = sub::make_subscription_id();
    s->created_at = s->modified_at = now_us();
    if (p.restriction) s->role = p.restriction->role;
    auto shared = std::make_shared<Prepared>(std::move(p));
    auto def = std::make_shared<sub::Subscription>(std::move(*s));
    boost::asio::post(env.blocking, [&env, &r, service, shared, def] {
      auto ctx = notification_context(env, *def, *shared);
      if (!ctx.ok()) return shared->fail(ctx.status());
      std::string location = std::string(r.base) + percent_encode_segment(def->id);
      service->create(shared->tenant, std::move(*def), *ctx, [shared, location](const Status& st) {
        if (!st.ok()) return shared->fail(st);
        shared->respond_empty(201, {{"Location", location}});
      });
    });
  });
}

template <class Service>
void query(Env& env, Call&& c, const Resource<Service>& r) {
  static const CallSpec spec{
      false, {}, kViews, params_of(r, {"limit", "offset", "count", "options"})};
  prepare(env, std::move(c), spec, [&env, &r](Prepared&& p) {
    Service* service = env.*r.service;
    if (service == nullptr) return p.fail(unavailable(r));
    auto options = render_options_of(p);
    if (!options.ok()) return p.fail(options.status());
    auto page = ngsild::query::query_from_params(p.call.query, *p.ctx, env.limits, true);
    if (!page.ok()) return p.fail(page.status());
    auto all = service->list(p.tenant);
    std::erase_if(all, [&p](const auto& v) { return !visible_to(p, *v.def); });
    std::string body;
    JsonWriter w(body);
    w.begin_array();
    for (size_t i = page->offset; i < all.size() && i < page->offset + page->limit; ++i)
      sub::render_subscription(*all[i].def, all[i].state, *p.ctx, w, *options);
    w.end_array();
    p.respond_json(200, std::move(body), page_headers(p, *page, all.size()));
  });
}

template <class Service>
void retrieve(Env& env, Call&& c, const Resource<Service>& r) {
  static const CallSpec spec{false, {}, kViews, params_of(r, {"options"})};
  prepare(env, std::move(c), spec, [&env, &r](Prepared&& p) {
    Service* service = env.*r.service;
    if (service == nullptr) return p.fail(unavailable(r));
    auto options = render_options_of(p);
    if (!options.ok()) return p.fail(options.status());
    auto id = subscription_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto v = service->retrieve(p.tenant, *id);
    if (!v.ok()) return p.fail(v.status());
    if (!visible_to(p, *v->def)) return p.fail(absent(*id));
    std::string body;
    JsonWriter w(body);
    sub::render_subscription(*v->def, v->state, *p.ctx, w, *options);
    p.respond_json(200, std::move(body));
  });
}

template <class Service>
void update(Env& env, Call&& c, const Resource<Service>& r) {
  // A subscription patch is a merge (§5.8.2): application/merge-patch+json too (suite 044_02).
  static const CallSpec spec{
      true, {MediaType::kJson, MediaType::kJsonLd, MediaType::kMergePatch}, {}, params_of(r, {})};
  prepare(env, std::move(c), spec, [&env, &r](Prepared&& p) {
    Service* service = env.*r.service;
    if (service == nullptr) return p.fail(unavailable(r));
    auto id = subscription_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    // The fragment is read against the subscription as it is when the change commits.
    auto change = [shared](sub::Subscription& s) -> Status {
      if (!visible_to(*shared, s)) return absent(s.id);
      TSUNAGU_RETURN_IF_ERROR(sub::apply_subscription_patch(s, *shared->body, *shared->ctx));
      s.modified_at = now_us();
      return Status::Ok();
    };
    service->update(shared->tenant, *id, change, nullptr, [shared](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      shared->respond_empty(204);
    });
  });
}

template <class Service>
void remove(Env& env, Call&& c, const Resource<Service>& r) {
  static const CallSpec spec{false, {}, {}, params_of(r, {})};
  prepare(env, std::move(c), spec, [&env, &r](Prepared&& p) {
    Service* service = env.*r.service;
    if (service == nullptr) return p.fail(unavailable(r));
    auto id = subscription_id(p);
    if (!id.ok()) return p.fail(id.status());
    // A subscription's role never changes: checked once, before the removal.
    if (p.restriction) {
      auto v = service->retrieve(p.tenant, *id);
      if (v.ok() && !visible_to(p, *v->def)) return p.fail(absent(*id));
    }
    auto shared = std::make_shared<Prepared>(std::move(p));
    service->remove(shared->tenant, *id, [shared](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      shared->respond_empty(204);
    });
  });
}

}  // namespace

void create_subscription(Env& env, Call&& c) {
  create(env, std::move(c), kEntitySubscriptions);
}
void query_subscription(Env& env, Call&& c) {
  query(env, std::move(c), kEntitySubscriptions);
}
void retrieve_subscription(Env& env, Call&& c) {
  retrieve(env, std::move(c), kEntitySubscriptions);
}
void update_subscription(Env& env, Call&& c) {
  update(env, std::move(c), kEntitySubscriptions);
}
void delete_subscription(Env& env, Call&& c) {
  remove(env, std::move(c), kEntitySubscriptions);
}

void create_csource_subscription(Env& env, Call&& c) {
  create(env, std::move(c), kCsourceSubscriptions);
}
void query_csource_subscription(Env& env, Call&& c) {
  query(env, std::move(c), kCsourceSubscriptions);
}
void retrieve_csource_subscription(Env& env, Call&& c) {
  retrieve(env, std::move(c), kCsourceSubscriptions);
}
void update_csource_subscription(Env& env, Call&& c) {
  update(env, std::move(c), kCsourceSubscriptions);
}
void delete_csource_subscription(Env& env, Call&& c) {
  remove(env, std::move(c), kCsourceSubscriptions);
}

}  // namespace tsunagu::http::api
