// The checks every NGSI-LD request goes through before its handler's own work: media types
// (ETSI GS CIM 009 §6.3.4), Accept negotiation, NGSILD-Tenant (§6.3.14), JSON syntax, and the
// @context rules of §6.3.5 (Link header for application/json, body member for ld+json, never
// both).
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>

#include "http/api/api.hpp"
#include "http/problem.hpp"

namespace tsunagu::http::api {
namespace {

Response with_common_headers(Prepared& p, Response r) {
  if (p.tenant_given) r.add_header("NGSILD-Tenant", p.tenant);
  return r;
}

}  // namespace

void Prepared::fail(const Status& st) {
  Response r = problem_response(st);
  call.respond(with_common_headers(*this, std::move(r)));
}

void Prepared::respond_json(int status, std::string body, std::vector<Header> extra) {
  Response r;
  r.status = status;
  r.content_type =
      std::string(media_type_name(accept == MediaType::kNone ? MediaType::kJson : accept));
  r.body = std::move(body);
  r.headers = std::move(extra);
  bool context_in_body =
      accept == MediaType::kJsonLd || (accept == MediaType::kGeoJson && !prefer_body_json);
  if (!context_in_body && ctx && !ctx->link_url().empty()) {
    r.add_header("Link", "<" + ctx->link_url() + ">; rel=\"" + std::string(kJsonLdContextRel) +
                             "\"; type=\"application/ld+json\"");
  }
  // One Link header holding every link (RFC 8288 §3): some clients read only the first.
  std::string links;
  for (auto it = r.headers.begin(); it != r.headers.end();) {
    if (it->name == "Link" || it->name == "link") {
      if (!links.empty()) links += ", ";
      links += it->value;
      it = r.headers.erase(it);
    } else {
      ++it;
    }
  }
  if (!links.empty()) r.add_header("Link", std::move(links));
  call.respond(with_common_headers(*this, std::move(r)));
}

void Prepared::respond_empty(int status, std::vector<Header> extra) {
  Response r;
  r.status = status;
  r.headers = std::move(extra);
  call.respond(with_common_headers(*this, std::move(r)));
}

void prepare(Env& env, Call&& call, const CallSpec& spec, std::function<void(Prepared&&)> next) {
  Prepared p;
  p.call = std::move(call);
  const Request& req = p.call.req;
  // Parameters first: a typo in a parameter should be named before anything else.
  for (const auto& [name, value] : p.call.query.items) {
    if (std::find(spec.params.begin(), spec.params.end(), name) == spec.params.end()) {
      return p.fail(Status::InvalidRequest("unknown query parameter '" + name + "'"));
    }
  }
  RequestContext& context = p.call.context;
  if (!context.problem.ok()) return p.fail(context.problem);
  p.tenant = std::move(context.tenant);
  p.tenant_given = context.tenant_given;
  p.restriction = std::move(context.restriction);
  auto accept = negotiate(req.header("accept"), spec.produces);
  if (!accept.ok()) return p.fail(accept.status());
  p.accept = *accept;
  p.prefer_body_json = ascii_lower(req.header("prefer")).find("body=json") != std::string::npos;

  std::string link_url;
  // Where the request carries no NGSI-LD data (a hosted @context) a Link header means nothing.
  bool has_link = spec.ngsild_context && req.has_header("link");
  if (has_link) {
    auto url = link_context(req.header("link"));
    if (!url.ok()) return p.fail(url.status());
    link_url = std::move(*url);
  }

  const JsonValue* body_context = nullptr;
  if (spec.body) {
    if (!req.body_framed) {
      return p.fail(Status(ErrorKind::kLengthRequired,
                           "a request body with Content-Length (or chunked encoding) is required"));
    }
    if (!req.has_header("content-type")) {
      return p.fail(Status(ErrorKind::kUnsupportedMediaType,
                           "Content-Type is missing; use application/json or application/ld+json"));
    }
    p.content = parse_media_type(req.header("content-type"));
    if (std::find(spec.content_types.begin(), spec.content_types.end(), p.content) ==
        spec.content_types.end()) {
      std::string names;
      for (MediaType m : spec.content_types) {
        if (!names.empty()) names += ", ";
        names += media_type_name(m);
      }
      return p.fail(Status(ErrorKind::kUnsupportedMediaType,
                           "Content-Type '" +
                               std::string(req.header("content-type").substr(0, 100)) +
                               "' is not supported here; use " + names));
    }
    if (req.body.empty()) return p.fail(Status::InvalidRequest("the request body is empty"));
    // Parsed in place: the document keeps the request's body text as its string storage.
    Status st = parse_json_in_place(std::move(p.call.req.body), p.body);
    if (!st.ok()) return p.fail(st);
    // A body that is not NGSI-LD data (a hosted @context) is the handler's to read.
    if (!spec.ngsild_context) return next(std::move(p));
    if (p.body->IsObject()) {
      auto it = p.body->FindMember("@context");
      if (it != p.body->MemberEnd()) body_context = &it->value;
    }
    if (p.content == MediaType::kJsonLd) {
      if (has_link) {
        return p.fail(Status::BadRequestData(
            "a Link header cannot be combined with Content-Type application/ld+json; put the "
            "@context in the body only"));
      }
      if (body_context == nullptr && !p.body->IsArray()) {
        return p.fail(Status::BadRequestData(
            "Content-Type application/ld+json requires an @context member in the body"));
      }
    } else if (body_context != nullptr) {
      return p.fail(Status::BadRequestData(
          "an @context member in the body requires Content-Type application/ld+json; with "
          "application/json give the @context in a Link header"));
    }
  }

  if (!spec.ngsild_context) return next(std::move(p));
  auto& contexts = env.contexts;
  bool remote = body_context ? contexts.may_fetch(*body_context)
                             : (!link_url.empty() && contexts.may_fetch_url(link_url));
  auto finish = [&contexts, link_url, body_context, next = std::move(next)](Prepared&& p) {
    Result<ngsild::jsonld::ContextPtr> ctx = contexts.core();
    if (body_context != nullptr)
      ctx = contexts.from_json(*body_context);
    else if (!link_url.empty())
      ctx = contexts.from_url(link_url);
    if (!ctx.ok()) return p.fail(ctx.status());
    p.ctx = std::move(*ctx);
    next(std::move(p));
  };
  if (!remote) return finish(std::move(p));
  // A remote @context may take up to the fetch timeout: never on an event loop.
  auto shared = std::make_shared<Prepared>(std::move(p));
  boost::asio::post(env.blocking,
                    [shared, finish = std::move(finish)]() mutable { finish(std::move(*shared)); });
}

Result<std::vector<std::string>> options_list(const QueryParams& q,
                                              std::initializer_list<std::string_view> allowed) {
  std::vector<std::string> out;
  const std::string* v = q.find("options");
  if (v == nullptr) return out;
  for (auto& o : split_list(*v)) {
    if (std::find(allowed.begin(), allowed.end(), o) == allowed.end()) {
      std::string names;
      for (auto a : allowed) {
        if (!names.empty()) names += ", ";
        names += a;
      }
      return Status::InvalidRequest("options: '" + o +
                                    "' is not supported here (allowed: " + names + ")");
    }
    out.push_back(o);
  }
  return out;
}

std::string page_base(const Request& req) {
  std::string base = req.path;
  if (base.size() > 1 && base.back() == '/') base.pop_back();  // the collection's own name
  base.push_back('?');
  std::string_view query = req.query;
  while (!query.empty()) {
    const size_t amp = std::min(query.find('&'), query.size());
    std::string_view item = query.substr(0, amp);
    query.remove_prefix(std::min(amp + 1, query.size()));
    if (item.empty() || item.starts_with("offset=") || item.starts_with("limit=")) continue;
    base.append(item);
    base.push_back('&');
  }
  return base;
}

std::vector<Header> page_headers(const Prepared& p, const ngsild::query::EntityQuery& page,
                                 size_t total) {
  std::vector<Header> out;
  if (page.count) out.push_back({"NGSILD-Results-Count", std::to_string(total)});
  const std::string base = page_base(p.call.req);
  const std::string type(media_type_name(p.accept));
  auto link = [&](size_t offset, const char* rel) {
    return "<" + base + "limit=" + std::to_string(page.limit) +
           "&offset=" + std::to_string(offset) + ">;rel=\"" + rel + "\";type=\"" + type + "\"";
  };
  if (page.limit > 0 && page.offset > 0) {
    out.push_back({"Link", link(page.offset > page.limit ? page.offset - page.limit : 0, "prev")});
  }
  if (page.limit > 0 && page.offset + page.limit < total) {
    out.push_back({"Link", link(page.offset + page.limit, "next")});
  }
  return out;
}

}  // namespace tsunagu::http::api
