#include "http/router.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/uri.hpp"
#include "common/utf8.hpp"
#include "http/problem.hpp"

namespace tsunagu::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 1;
  if (path.empty() || path[0] != '/') return out;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Per (route, method): the metric children for each status, created on first use and then
// reached without a lock or an allocation on every later response.
class Router::RouteStats {
 public:
  RouteStats(std::string route, Method method) : route_(std::move(route)), method_(method) {}
  ~RouteStats() {
    for (auto& s : slots_)
      delete s.load(std::memory_order_relaxed);
  }
  RouteStats(const RouteStats&) = delete;
  RouteStats& operator=(const RouteStats&) = delete;

  void record(int status, double seconds) {
    if (status < 100 || status > 599) status = 500;
    Slot* slot = slots_[status - 100].load(std::memory_order_acquire);
    if (slot == nullptr) slot = create(status);
    slot->requests->inc();
    slot->latency->observe(seconds);
  }

 private:
  struct Slot {
    metrics::Counter* requests;
    metrics::Histogram* latency;
  };

  Slot* create(int status) {
    static auto& requests = metrics::registry().counter(
        "tsunagu_http_requests_total", "HTTP requests answered, by route, method and status",
        {"route", "method", "status"});
    static auto& latency = metrics::registry().histogram(
        "tsunagu_http_request_duration_seconds",
        "Time from reading the request header to handing over the response, by route, method "
        "and status",
        {"route", "method", "status"});
    std::vector<std::string> labels{route_, std::string(method_name(method_)),
                                    std::to_string(status)};
    auto* slot = new Slot{&requests.with(labels), &latency.with(labels)};
    Slot* expected = nullptr;
    if (!slots_[status - 100].compare_exchange_strong(expected, slot)) {
      delete slot;
      return expected;
    }
    return slot;
  }

  std::string route_;
  Method method_;
  std::array<std::atomic<Slot*>, 500> slots_{};
};

namespace {

// Wraps a Reply so the response is counted and timed under its route and, when `observer` is
// given, told to it before it leaves.
Reply measured(Reply reply, Router::RouteStats* stats, int64_t start_ns,
               const AnswerObserver* observer = nullptr, Answered answer = {}) {
  return [reply = std::move(reply), stats, start_ns, observer,
          answer = std::move(answer)](Response&& r) mutable {
    stats->record(r.status, static_cast<double>(steady_ns() - start_ns) / 1e9);
    if (observer != nullptr) {
      answer.status = r.status;
      (*observer)(std::move(answer));
    }
    reply(std::move(r));
  };
}

// What the observer will hear of a request, but its status.
Answered answer_of(const RouteInfo& route, const Request& req, const RequestContext& context) {
  return {&route,         req.method,      req.target, req.remote,
          context.tenant, context.subject, 0,          context.role};
}

}  // namespace

void Call::fail(const Status& st) {
  reply(problem_response(st));
}

Router::Router() = default;
Router::~Router() = default;

Router::RouteStats* Router::stats_for(const std::string& route, Method method) const {
  std::lock_guard lock(stats_mu_);
  for (auto& [key, stats] : extra_stats_) {
    if (key.first == route && key.second == method) return stats.get();
  }
  extra_stats_.emplace_back(std::make_pair(route, method),
                            std::make_unique<RouteStats>(route, method));
  return extra_stats_.back().second.get();
}

void Router::add(RouteSet set) {
  std::shared_ptr<const ContextStep> context;
  if (set.context) context = std::make_shared<const ContextStep>(std::move(set.context));
  auto challenge = std::make_shared<const std::string>(std::move(set.challenge));
  std::shared_ptr<const Preflight> preflight;
  if (set.preflight) preflight = std::make_shared<const Preflight>(std::move(set.preflight));
  for (auto& [info, handler] : set.routes) {
    Route r;
    r.stats = std::make_unique<RouteStats>(info.pattern, info.method);
    for (auto s : split_path(info.pattern))
      r.segments.emplace_back(s);
    r.info = std::make_unique<RouteInfo>(std::move(info));
    r.handler = std::move(handler);
    r.context = context;
    r.challenge = challenge;
    r.preflight = preflight;
    r.observed = set.observed;
    routes_.push_back(std::move(r));
  }
}

std::vector<const RouteInfo*> Router::routes() const {
  std::vector<const RouteInfo*> out;
  for (const auto& r : routes_)
    out.push_back(r.info.get());
  return out;
}

bool Router::match(const Route& r, const std::vector<std::string_view>& segs,
                   std::vector<std::string>& params, Status& error) const {
  if (r.segments.size() != segs.size()) return false;
  params.clear();
  const std::string* empty_param = nullptr;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& p = r.segments[i];
    if (!p.empty() && p.front() == '{') {
      std::string decoded;
      if (segs[i].empty()) {
        if (empty_param == nullptr) empty_param = &p;
        continue;
      }
      if (!percent_decode(segs[i], decoded)) {
        error = Status::BadRequestData("path segment '" + std::string(segs[i]) +
                                       "' has a malformed percent-escape");
        return false;
      }
      if (!valid_utf8(decoded)) {
        error = Status::BadRequestData("path segment '" + std::string(segs[i]) +
                                       "' is not UTF-8 once decoded");
        return false;
      }
      params.push_back(std::move(decoded));
    } else if (p != segs[i]) {
      return false;
    }
  }
  if (empty_param != nullptr) {
    // "/entities//attrs": the resource is recognisable, its identifier is missing.
    error = Status::BadRequestData("the " + empty_param->substr(1, empty_param->size() - 2) +
                                   " in the path is empty");
    return false;
  }
  return true;
}

void Router::dispatch(Request&& req, Reply reply) const {
  // A collection may be named with or without its trailing slash: the specification's resource
  // tables write "/entities/", clients send either (ETSI GS CIM 009 §6.1.3).
  std::string_view path = req.path;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto segs = split_path(path);
  std::vector<std::string> params;
  std::string allow;
  Status error;
  // HEAD is answered like GET; the listener sends the headers only (RFC 9110 §9.3.2).
  const Method wanted = req.method == Method::kHead ? Method::kGet : req.method;
  const Route* path_found = nullptr;  // a route of the path, for a preflight
  for (const auto& r : routes_) {
    if (!match(r, segs, params, error)) continue;
    path_found = &r;
    const RouteInfo& info = *r.info;
    if (info.method != wanted) {
      if (!allow.empty()) allow += ", ";
      allow += method_name(info.method);
      if (info.method == Method::kGet) allow += ", HEAD";
      continue;
    }
    RouteStats* stats =
        req.method == Method::kHead ? stats_for(info.pattern, Method::kHead) : r.stats.get();
    const int64_t start_ns = req.received_ns ? req.received_ns : steady_ns();
    const AnswerObserver* observer = r.observed && observer_ ? &observer_ : nullptr;
    auto query = parse_query(req.query);
    if (!query.ok()) {
      Answered answer = observer ? answer_of(info, req, {}) : Answered{};
      measured(std::move(reply), stats, start_ns, observer,
               std::move(answer))(problem_response(query.status()));
      return;
    }
    Call call{std::move(req), std::move(params), std::move(*query), std::move(reply), &info, {}};
    try {
      Status st = r.context ? (*r.context)(call) : Status::Ok();
      // Wrapped once the context step has said who calls, so that the observer hears it.
      Answered answer = observer ? answer_of(info, call.req, call.context) : Answered{};
      call.reply = measured(std::move(call.reply), stats, start_ns, observer, std::move(answer));
      if (!call.context.response_headers.empty()) {
        call.reply = [reply = std::move(call.reply),
                      headers = call.context.response_headers](Response&& response) {
          for (const Header& h : headers)
            response.headers.push_back(h);
          reply(std::move(response));
        };
      }
      if (!st.ok()) return call.respond(problem_response(st, *r.challenge));
      r.handler(std::move(call));
    } catch (const std::exception& e) {
      log::error("handler_exception", {{"route", info.pattern}, {"what", e.what()}});
      // The call was moved into the handler; its reply may already be gone. The session's
      // own catch-all answers if nobody did.
      throw;
    }
    return;
  }
  // A CORS preflight of a path whose route set answers them (it has no route of its own).
  const bool preflight = req.method == Method::kOptions && path_found != nullptr &&
                         path_found->preflight && !req.header("origin").empty() &&
                         !req.header("access-control-request-method").empty();
  Reply wrapped = measured(std::move(reply),
                           stats_for(preflight       ? "preflight"
                                     : allow.empty() ? "unmatched"
                                                     : "method_not_allowed",
                                     req.method),
                           req.received_ns ? req.received_ns : steady_ns());
  if (!error.ok()) {
    wrapped(problem_response(error));
  } else if (preflight) {
    wrapped((*path_found->preflight)(req, allow));
  } else if (!allow.empty()) {
    Response r = problem_response(Status(
        ErrorKind::kMethodNotAllowed, std::string(method_name(req.method)) + " is not allowed on " +
                                          req.path + "; allowed: " + allow));
    r.add_header("Allow", allow);
    wrapped(std::move(r));
  } else {
    wrapped(problem_response(Status(ErrorKind::kResourceNotFound, "no resource at " + req.path)));
  }
}

Result<QueryParams> parse_query(std::string_view q) {
  QueryParams out;
  size_t pos = 0;
  while (pos < q.size()) {
    size_t amp = q.find('&', pos);
    if (amp == std::string_view::npos) amp = q.size();
    std::string_view item = q.substr(pos, amp - pos);
    pos = amp + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string name, value;
    // Form encoding (the WHATWG URL standard's application/x-www-form-urlencoded, which every
    // HTTP client library uses for query strings): '+' is a space, a literal plus is %2B.
    if (!percent_decode(item.substr(0, eq), name, true) ||
        (eq != std::string_view::npos && !percent_decode(item.substr(eq + 1), value, true))) {
      return Status::InvalidRequest("query parameter '" + std::string(item.substr(0, 80)) +
                                    "' has a malformed percent-escape");
    }
    if (!valid_utf8(name) || !valid_utf8(value)) {
      return Status::InvalidRequest("query parameter '" + std::string(item.substr(0, 80)) +
                                    "' is not UTF-8 once decoded");
    }
    if (name.empty()) return Status::InvalidRequest("a query parameter has no name");
    if (out.find(name) != nullptr) {
      return Status::InvalidRequest("query parameter '" + name + "' is given more than once");
    }
    out.items.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace tsunagu::http
