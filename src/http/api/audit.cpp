// The audit log in the request path (docs/security.md, "Audit log"): which answers the router
// hands to it (every answer of a route that writes, every refusal), and the admin API's query
// of it, GET /admin/v1/auditLog. The log itself, its files and its thread are in src/audit/.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <charconv>

#include "common/log.hpp"
#include "common/time.hpp"
#include "http/api/api.hpp"

namespace tsunagu::http::api {
namespace {

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;

// 401 and 403: refused by who the caller is (or is not); 429: refused by how often it calls.
bool denied(int status) {
  return status == 401 || status == 403 || status == 429;
}

Result<size_t> count_param(const QueryParams& q, std::string_view name, size_t fallback,
                           size_t max) {
  const std::string* v = q.find(name);
  if (v == nullptr) return fallback;
  size_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n > max) {
    return Status::BadRequestData(std::string(name) + ": '" + *v +
                                  "' is not a whole number from 0 to " + std::to_string(max));
  }
  return n;
}

Result<int64_t> time_param(const QueryParams& q, std::string_view name, int64_t fallback) {
  const std::string* v = q.find(name);
  if (v == nullptr) return fallback;
  auto at = parse_datetime(*v);
  if (!at) {
    return Status::BadRequestData(std::string(name) + ": '" + *v +
                                  "' is not a DateTime (RFC 3339, e.g. 2026-12-07T09:00:00Z)");
  }
  return *at;
}

// "404", or a class: "4xx".
Status status_param(const QueryParams& q, audit::Filter& f) {
  const std::string* v = q.find("status");
  if (v == nullptr) return Status::Ok();
  std::string_view text = *v;
  f.status_class = text.size() == 3 && text.substr(1) == "xx";
  if (f.status_class) text.remove_suffix(2);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), f.status);
  const int min = f.status_class ? 1 : 100, max = f.status_class ? 5 : 599;
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || f.status < min ||
      f.status > max) {
    return Status::BadRequestData("status: '" + *v + "' is not a status (401) or a class (4xx)");
  }
  return Status::Ok();
}

void render(const audit::Page& page, std::string& out) {
  JsonWriter w(out);
  w.begin_array();
  for (const auto& r : page.records)
    audit::write_record(r, w);
  w.end_array();
}

}  // namespace

Result<AuditQuery> parse_audit_query(const QueryParams& q) {
  AuditQuery out;
  audit::Filter& f = out.filter;
  if (const std::string* v = q.find("tenant")) {
    // Empty: the default tenant (and the admin API's requests, which name none).
    if (!v->empty() && !valid_tenant(*v)) {
      return Status::BadRequestData("tenant: '" + *v +
                                    "' is not a tenant name; leave it empty for the default "
                                    "tenant");
    }
    f.tenant = *v;
  }
  if (const std::string* v = q.find("subject")) f.subject = *v;
  if (const std::string* v = q.find("operation")) {
    if (v->empty()) return Status::BadRequestData("operation: an operationId is required");
    f.operation = *v;
  }
  auto since = time_param(q, "since", INT64_MIN);
  if (!since.ok()) return since.status();
  auto until = time_param(q, "until", INT64_MAX);
  if (!until.ok()) return until.status();
  f.since = *since;
  f.until = *until;
  if (f.until <= f.since) return Status::BadRequestData("until: not after since");
  TSUNAGU_RETURN_IF_ERROR(status_param(q, f));
  auto limit = count_param(q, "limit", kDefaultLimit, kMaxLimit);
  if (!limit.ok()) return limit.status();
  auto offset = count_param(q, "offset", 0, SIZE_MAX);
  if (!offset.ok()) return offset.status();
  out.limit = *limit;
  out.offset = *offset;
  if (const std::string* v = q.find("order")) {
    if (*v != "newest" && *v != "oldest")
      return Status::BadRequestData("order: '" + *v + "' is not newest or oldest");
    out.order = *v == "newest" ? audit::Order::kNewestFirst : audit::Order::kOldestFirst;
  }
  auto count = flag_param(q, "count");
  if (!count.ok()) return count.status();
  out.count = *count;
  return out;
}

AnswerObserver audit_observer(audit::AuditLog& log) {
  return [&log](Answered&& a) {
    if (a.route->access != Access::kWrite && !denied(a.status)) return;
    audit::Record r;
    r.time = log.now();
    r.tenant = std::move(a.tenant);
    r.subject = std::move(a.subject);
    r.operation = a.route->operation;
    r.method = method_name(a.method);
    r.path = std::move(a.target);
    r.status = a.status;
    r.remote = std::move(a.remote);
    r.role = std::move(a.role);
    log.record(std::move(r));
  };
}

void answer_audit_query(Env& env, Prepared&& p, AuditQuery query) {
  if (env.audit == nullptr) {
    return p.fail(Status::NotSupported("the audit log is off: the server runs with --audit off"));
  }
  // The scan reads files: off the event loop.
  auto shared = std::make_shared<Prepared>(std::move(p));
  boost::asio::post(env.blocking, [&env, shared, query = std::move(query)] {
    auto page = env.audit->query(query.filter, query.order, query.offset, query.limit, query.count);
    if (!page.ok()) return shared->fail(page.status());
    if (page->skipped > 0) {
      log::warn("audit_lines_damaged", {{"lines", page->skipped},
                                        {"detail",
                                         "lines of the audit files that are not "
                                         "records were passed over"}});
    }
    std::string body;
    render(*page, body);
    std::vector<Header> headers;
    if (query.count) headers.push_back({"NGSILD-Results-Count", std::to_string(page->total)});
    shared->respond_json(200, std::move(body), std::move(headers));
  });
}

// GET /admin/v1/auditLog: every tenant for the server administrator, its own for a tenant's.
void query_audit_log(Env& env, Call&& c) {
  static const std::vector<MediaType> kJsonOnly{MediaType::kJson};
  static const CallSpec spec{false,
                             {},
                             kJsonOnly,
                             {"tenant", "subject", "operation", "since", "until", "status", "limit",
                              "offset", "order", "count"},
                             false};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    auto query = parse_audit_query(p.call.query);
    if (!query.ok()) return p.fail(query.status());
    // A tenant's administrator reads its tenant's records only.
    if (p.call.context.tenant_administrator) {
      if (query->filter.tenant && outside_administered_tenant(p, *query->filter.tenant)) {
        return p.fail(Status(ErrorKind::kForbidden,
                             "a tenant's administrator reads the audit log of its tenant only"));
      }
      query->filter.tenant = p.tenant;
    }
    answer_audit_query(env, std::move(p), std::move(*query));
  });
}

}  // namespace tsunagu::http::api
