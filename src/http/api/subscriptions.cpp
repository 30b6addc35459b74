// Subscriptions (ETSI GS CIM 009 §5.8, §6.10-§6.11): create, query, retrieve, update and delete.
// The payload is read by ngsild/subscription/, kept and matched by engine::SubscriptionService.
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
constexpr std::string_view kBase = "/ngsi-ld/v1/subscriptions/";

Status unavailable() {
  return Status::NotSupported("subscriptions are not enabled on this server");
}

// The {subscriptionId} of the path: a URI (§5.2.12).
Result<std::string> subscription_id(const Prepared& p) {
  const std::string& id = p.call.params.at(0);
  if (!is_absolute_uri(id)) {
    return Status::BadRequestData("subscription id '" + id.substr(0, 200) + "' is not a URI");
  }
  return id;
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

}  // namespace

void create_subscription(Env& env, Call&& c) {
  static const CallSpec spec{true, kBodies, {}, {}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.subscriptions == nullptr) return p.fail(unavailable());
    auto s = sub::parse_subscription(*p.body, *p.ctx);
    if (!s.ok()) return p.fail(s.status());
    if (s->id.empty()) s->id = sub::make_subscription_id();
    s->created_at = s->modified_at = now_us();
    auto shared = std::make_shared<Prepared>(std::move(p));
    auto def = std::make_shared<sub::Subscription>(std::move(*s));
    boost::asio::post(env.blocking, [&env, shared, def] {
      auto ctx = notification_context(env, *def, *shared);
      if (!ctx.ok()) return shared->fail(ctx.status());
      std::string location = std::string(kBase) + percent_encode_segment(def->id);
      env.subscriptions->create(shared->tenant, std::move(*def), *ctx,
                                [shared, location](const Status& st) {
                                  if (!st.ok()) return shared->fail(st);
                                  shared->respond_empty(201, {{"Location", location}});
                                });
    });
  });
}

void query_subscription(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, kViews, {"limit", "offset", "count", "options", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.subscriptions == nullptr) return p.fail(unavailable());
    auto options = render_options_of(p);
    if (!options.ok()) return p.fail(options.status());
    auto page = ngsild::query::query_from_params(p.call.query, *p.ctx, env.limits, true);
    if (!page.ok()) return p.fail(page.status());
    auto all = env.subscriptions->list(p.tenant);
    std::string body;
    JsonWriter w(body);
    w.begin_array();
    for (size_t i = page->offset; i < all.size() && i < page->offset + page->limit; ++i)
      sub::render_subscription(*all[i].def, all[i].state, *p.ctx, w, *options);
    w.end_array();
    p.respond_json(200, std::move(body), page_headers(p, *page, all.size()));
  });
}

void retrieve_subscription(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, kViews, {"options", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.subscriptions == nullptr) return p.fail(unavailable());
    auto options = render_options_of(p);
    if (!options.ok()) return p.fail(options.status());
    auto id = subscription_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto v = env.subscriptions->retrieve(p.tenant, *id);
    if (!v.ok()) return p.fail(v.status());
    std::string body;
    JsonWriter w(body);
    sub::render_subscription(*v->def, v->state, *p.ctx, w, *options);
    p.respond_json(200, std::move(body));
  });
}

void update_subscription(Env& env, Call&& c) {
  // A subscription patch is a merge (§5.8.2): application/merge-patch+json too (suite 044_02).
  static const CallSpec spec{
      true, {MediaType::kJson, MediaType::kJsonLd, MediaType::kMergePatch}, {}, {"local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.subscriptions == nullptr) return p.fail(unavailable());
    auto id = subscription_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    // The fragment is read against the subscription as it is when the change commits.
    auto change = [shared](sub::Subscription& s) -> Status {
      TSUNAGU_RETURN_IF_ERROR(sub::apply_subscription_patch(s, *shared->body, *shared->ctx));
      s.modified_at = now_us();
      return Status::Ok();
    };
    env.subscriptions->update(shared->tenant, *id, change, nullptr, [shared](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      shared->respond_empty(204);
    });
  });
}

void delete_subscription(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {"local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    if (env.subscriptions == nullptr) return p.fail(unavailable());
    auto id = subscription_id(p);
    if (!id.ok()) return p.fail(id.status());
    auto shared = std::make_shared<Prepared>(std::move(p));
    env.subscriptions->remove(shared->tenant, *id, [shared](const Status& st) {
      if (!st.ok()) return shared->fail(st);
      shared->respond_empty(204);
    });
  });
}

}  // namespace tsunagu::http::api
