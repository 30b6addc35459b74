#include "http/api/federation.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <mutex>

#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::http::api {
namespace {

namespace reg = ngsild::registration;
using RegistrationPtr = engine::RegistrationService::RegistrationPtr;

// Whether the request already passed this broker: its Via names our identity (RFC 9110 §7.6.3:
// "received-protocol received-by", comma-separated).
bool passed_here(const Env& env, const Request& req) {
  std::string_view via = req.header("via");
  const std::string& me = env.source_identity;
  for (size_t at = via.find(me); at != std::string_view::npos; at = via.find(me, at + 1)) {
    const bool starts = at == 0 || via[at - 1] == ' ';
    const size_t end = at + me.size();
    const bool ends = end == via.size() || via[end] == ',' || via[end] == ' ';
    if (starts && ends) return true;
  }
  return false;
}

// The time an instance stands for, to choose between two sources' instances.
int64_t instance_time(const ngsild::Attribute& a) {
  return a.observed_at != kNoTime ? a.observed_at : a.modified_at;
}

}  // namespace

std::vector<RegistrationPtr> read_sources(Env& env, const Prepared& p, std::string_view op,
                                          const reg::RegistrationQuery& q) {
  if (!env.forward || env.registrations == nullptr) return {};
  if (const std::string* local = p.call.query.find("local"); local != nullptr && *local == "true")
    return {};
  if (passed_here(env, p.call.req)) return {};
  std::vector<RegistrationPtr> out;
  for (auto& v : env.registrations->query(p.tenant, q)) {
    if (reg::supports(*v.def, op)) out.push_back(std::move(v.def));
  }
  return out;
}

void fan_out(Env& env, const Prepared& p, const std::vector<RegistrationPtr>& sources,
             const std::string& path_query, std::function<void(std::vector<SourceAnswer>)> done) {
  struct Gather {
    std::mutex mu;
    std::vector<SourceAnswer> answers;
    size_t left = 0;
    std::function<void(std::vector<SourceAnswer>)> done;
  };
  auto g = std::make_shared<Gather>();
  g->left = sources.size();
  g->done = std::move(done);
  if (sources.empty()) {
    boost::asio::post(env.blocking, [g] { g->done({}); });
    return;
  }
  for (const auto& r : sources)
    g->answers.push_back({r, {}});
  // What every forwarded request carries: the @context it is to be read with, and Via.
  std::vector<Header> common = {{"Accept", "application/json"}};
  if (std::string_view link = p.call.req.header("link"); !link.empty()) {
    common.push_back({"Link", std::string(link)});
  }
  std::string via(p.call.req.header("via"));
  via += (via.empty() ? "" : ", ") + std::string("1.1 ") + env.source_identity;
  common.push_back({"Via", via});
  auto finish = [&env, g](size_t i, HttpClient::Outcome&& o) {
    std::lock_guard lock(g->mu);
    g->answers[i].outcome = std::move(o);
    if (--g->left == 0) {
      boost::asio::post(env.blocking, [g] { g->done(std::move(g->answers)); });
    }
  };
  for (size_t i = 0; i < sources.size(); ++i) {
    const reg::Registration& r = *sources[i];
    HttpClient::Request req;
    std::string endpoint = r.endpoint;
    while (!endpoint.empty() && endpoint.back() == '/')
      endpoint.pop_back();
    req.url = endpoint + path_query;
    req.method = "GET";
    req.headers = common;
    if (r.tenant) req.headers.push_back({"NGSILD-Tenant", *r.tenant});
    for (const auto& [k, v] : r.context_source_info)
      req.headers.push_back({k, v});
    req.timeout_ms = r.timeout_ms ? static_cast<int>(*r.timeout_ms) : env.forward_timeout_ms;
    if (!env.forward(std::move(req),
                     [finish, i](HttpClient::Outcome&& o) { finish(i, std::move(o)); })) {
      HttpClient::Outcome refused;
      refused.error = "too many requests to context sources queued";
      finish(i, std::move(refused));
    }
  }
}

std::string forwarded_query(const Request& req) {
  static constexpr std::string_view kKeptHere[] = {"options", "format",    "pick",  "omit",
                                                   "join",    "joinLevel", "local", "limit",
                                                   "offset",  "count"};
  std::string out;
  std::string_view query = req.query;
  while (!query.empty()) {
    const size_t amp = std::min(query.find('&'), query.size());
    std::string_view item = query.substr(0, amp);
    query.remove_prefix(std::min(amp + 1, query.size()));
    std::string_view name = item.substr(0, item.find('='));
    if (item.empty() ||
        std::find(std::begin(kKeptHere), std::end(kKeptHere), name) != std::end(kKeptHere)) {
      continue;
    }
    out += out.empty() ? "?" : "&";
    out.append(item);
  }
  return out;
}

std::vector<Header> source_warnings(const std::vector<SourceAnswer>& answers) {
  // §6.3.17: 199 (miscellaneous) with the source and what went wrong, one value per source,
  // comma-separated in one header.
  std::string value;
  for (const auto& a : answers) {
    const auto& o = a.outcome;
    if (o.ok() || (o.error.empty() && o.status == 404)) continue;
    std::string what = o.error.empty() ? "answered " + std::to_string(o.status) : o.error;
    std::replace(what.begin(), what.end(), '"', '\'');
    if (!value.empty()) value += ", ";
    value += "199 " + a.registration->endpoint + " \"" + a.registration->id + ": " + what + "\"";
  }
  if (value.empty()) return {};
  return {{"NGSILD-Warning", std::move(value)}};
}

Result<std::shared_ptr<ngsild::Entity>> source_entity(const JsonValue& v,
                                                      const ngsild::jsonld::Context& ctx) {
  if (!v.IsObject()) return Status::BadRequestData("a source's entity is not a JSON object");
  auto in = ngsild::parse_entity(v, ctx, {});
  if (!in.ok()) return in.status();
  auto e = std::make_shared<ngsild::Entity>();
  e->id = std::move(*in->id);
  e->types = std::move(in->types);
  if (in->scopes) e->scopes = std::move(*in->scopes);
  for (auto& a : in->attrs)
    e->put(std::move(a));
  return e;
}

void merge_entity(ngsild::Entity& into, const ngsild::Entity& from) {
  for (Atom t : from.types) {
    if (!into.has_type(t)) into.types.push_back(t);
  }
  for (const auto& s : from.scopes) {
    if (std::find(into.scopes.begin(), into.scopes.end(), s) == into.scopes.end()) {
      into.scopes.push_back(s);
    }
  }
  for (const auto& a : from.attrs) {
    const ngsild::Attribute* held = into.find(a.name, a.dataset_id);
    if (held == nullptr || instance_time(a) > instance_time(*held)) into.put(a);
  }
}

}  // namespace tsunagu::http::api
