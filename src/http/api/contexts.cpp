// The @context API (ETSI GS CIM 009 §5.13; bindings §6.29, §6.30): add a hosted @context, list
// the stored ones, serve one or its metadata, delete (or reload) one. The storage is the
// ContextCache's (ngsild/jsonld/context_store.hpp), one for every tenant: a URL names one
// document, whoever reads it (docs/jsonld.md).
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <optional>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "http/api/api.hpp"

namespace tsunagu::http::api {
namespace {

namespace jsonld = ngsild::jsonld;
using jsonld::ContextKind;
using jsonld::StoredContext;

// The URL a stored @context is known by: a Cached one's own, a Hosted one's on this broker as
// the client reached it (the Host header; the path alone without one).
std::string context_url(const StoredContext& e, const Request& req) {
  if (e.kind == ContextKind::kCached) return e.url;
  std::string path = std::string(jsonld::kHostedContextPath) + e.local_id;
  std::string_view host = req.header("host");
  return host.empty() ? path : "http://" + std::string(host) + path;
}

// The metadata of one @context (§5.13.3.5; createdAt where the OpenAPI's LdContextMetadata
// still says "timestamp"). The core context's uses are not counted: every request would contend
// for its counter. No extraInfo: it is optional, and ETSI's suite cannot read an object there.
void write_metadata(const StoredContext& e, const Request& req, JsonWriter& w) {
  w.begin_object();
  w.key("URL");
  w.string(context_url(e, req));
  w.key("localId");
  w.string(e.local_id);
  w.key("kind");
  w.string(jsonld::context_kind_name(e.kind));
  w.key("createdAt");
  w.string(format_datetime(e.created_us));
  if (e.origin != jsonld::ContextOrigin::kBuiltIn) {
    int64_t last = e.last_used_us.load(std::memory_order_relaxed);
    if (last != kNoTime) {
      w.key("lastUsage");
      w.string(format_datetime(last));
    }
    w.key("numberOfHits");
    w.number(e.hits.load(std::memory_order_relaxed));
  }
  w.end_object();
}

// The `kind` filter of §5.13.3: the name to keep, or none. ImplicitlyCreated is valid and, with
// no subscriptions yet, matches nothing.
Result<std::optional<std::string>> kind_param(const QueryParams& q) {
  const std::string* v = q.find("kind");
  if (v == nullptr) return std::optional<std::string>();
  if (*v == "Cached" || *v == "Hosted" || *v == "ImplicitlyCreated") {
    return std::optional<std::string>(*v);
  }
  return Status::BadRequestData("kind: '" + *v + "' is not Cached, Hosted or ImplicitlyCreated");
}

// Runs `f` on the blocking pool: the hosted storage writes and syncs files, and a reload
// downloads.
template <class F>
void off_loop(Env& env, Prepared&& p, F f) {
  auto shared = std::make_shared<Prepared>(std::move(p));
  boost::asio::post(env.blocking, [shared, f = std::move(f)]() mutable { f(*shared); });
}

std::vector<MediaType> produces() {
  return {MediaType::kJson, MediaType::kJsonLd};
}

}  // namespace

// POST (§6.29; Add @context, §5.13.2): 201 with the Location of the hosted @context.
void create_context(Env& env, Call&& c) {
  static const CallSpec spec{
      true, {MediaType::kJson, MediaType::kJsonLd}, {}, {}, /*ngsild_context=*/false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    off_loop(env, std::move(p), [&env](Prepared& p) {
      auto e = env.contexts.add_hosted(*p.body);
      if (!e.ok()) return p.fail(e.status());
      p.respond_empty(201,
                      {{"Location", std::string(jsonld::kHostedContextPath) + (*e)->local_id}});
    });
  });
}

// GET (§6.29; List @contexts, §5.13.3): URLs, or with details=true their metadata.
void list_contexts(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, produces(), {"details", "kind"}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    auto details = flag_param(p.call.query, "details");
    if (!details.ok()) return p.fail(details.status());
    auto kind = kind_param(p.call.query);
    if (!kind.ok()) return p.fail(kind.status());
    std::string body;
    JsonWriter w(body);
    w.begin_array();
    for (const auto& e : env.contexts.stored()) {
      if (*kind && **kind != jsonld::context_kind_name(e->kind)) continue;
      if (*details)
        write_metadata(*e, p.call.req, w);
      else
        w.string(context_url(*e, p.call.req));
    }
    w.end_array();
    p.respond_json(200, std::move(body));
  });
}

// GET (§6.30; Serve @context, §5.13.4): a Hosted document as it was added, or with
// details=true the metadata of any kind. A Cached document is served by its own URL.
void retrieve_context(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, produces(), {"details"}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    auto details = flag_param(p.call.query, "details");
    if (!details.ok()) return p.fail(details.status());
    auto e = env.contexts.stored(p.call.params.at(0));
    if (!e.ok()) return p.fail(e.status());
    const StoredContext& entry = **e;
    if (*details) {
      std::string body;
      JsonWriter w(body);
      write_metadata(entry, p.call.req, w);
      return p.respond_json(200, std::move(body));
    }
    if (entry.kind != ContextKind::kHosted) {
      return p.fail(Status::NotSupported("'" + p.call.params.at(0) +
                                         "' is a Cached @context: only Hosted ones are served "
                                         "(§5.13.4); fetch it from " +
                                         entry.url + ", or ask for details=true"));
    }
    p.respond_json(200, entry.text);
  });
}

// DELETE (§6.30; Delete and Reload @context, §5.13.5): 204.
void delete_context(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {"reload"}, false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    auto reload = flag_param(p.call.query, "reload");
    if (!reload.ok()) return p.fail(reload.status());
    off_loop(env, std::move(p), [&env, reload = *reload](Prepared& p) {
      Status st = env.contexts.remove(p.call.params.at(0), reload);
      if (!st.ok()) return p.fail(st);
      p.respond_empty(204);
    });
  });
}

}  // namespace tsunagu::http::api
