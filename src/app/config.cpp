#include "app/config.hpp"
#include "app/history_retention.hpp"
#include "auth/tenant_settings.hpp"
#include "http/proxies.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

namespace tsunagu::app {

std::vector<std::string> split_origins(std::string_view v) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = std::min(v.find(',', pos), v.size());
    std::string_view item = v.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    pos = comma + 1;
  }
  return out;
}

namespace {

struct Option {
  const char* name;  // long option and config-file key
  const char* env;
  const char* help;
  std::function<Status(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

template <class T>
Status parse_int(const std::string& name, const std::string& v, T min, T max, T& out) {
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < static_cast<long long>(min) ||
      x > static_cast<long long>(max)) {
    return Status::InvalidRequest("--" + name + ": '" + v + "' is not a number in [" +
                                  std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  out = static_cast<T>(x);
  return Status::Ok();
}

#define INT_OPTION(NAME, ENV, FIELD, MIN, MAX, HELP)                                           \
  Option {                                                                                     \
    NAME, ENV, HELP,                                                                           \
        [](Config& c, const std::string& v) { return parse_int(NAME, v, MIN, MAX, c.FIELD); }, \
        [](const Config& c) { return std::to_string(c.FIELD); }                                \
  }
#define STRING_OPTION(NAME, ENV, FIELD, HELP, CHECK)    \
  Option {                                              \
    NAME, ENV, HELP,                                    \
        [](Config& c, const std::string& v) -> Status { \
          CHECK;                                        \
          c.FIELD = v;                                  \
          return Status::Ok();                          \
        },                                              \
        [](const Config& c) { return c.FIELD; }         \
  }

// A file option's value: empty (none) or a file the server can read.
Status readable_file(const char* option, const std::string& v) {
  if (v.empty() || ::access(v.c_str(), R_OK) == 0) return Status::Ok();
  return Status::InvalidRequest(std::string("--") + option + ": cannot read '" + v + "'");
}

// A --cors-origins value: "*" or origins separated by commas.
Status check_origins(const std::string& v) {
  if (v.empty() || v == "*") return Status::Ok();
  for (const std::string& o : split_origins(v)) {
    if (!auth::valid_origin(o)) {
      return Status::InvalidRequest("--cors-origins: '" + o +
                                    "' is not an origin (scheme://host[:port], or * alone)");
    }
  }
  return Status::Ok();
}

const std::vector<Option>& options() {
  static const std::vector<Option> kOptions = {
    INT_OPTION("port", "TSUNAGU_PORT", port, uint16_t{0}, uint16_t{65535},
               "TCP port of the NGSI-LD API"),
    STRING_OPTION("bind", "TSUNAGU_BIND", bind, "address to listen on", (void)0),
    STRING_OPTION("data-dir", "TSUNAGU_DATA_DIR", data_dir,
                  "directory of the embedded store (created if missing)", (void)0),
    INT_OPTION("threads", "TSUNAGU_THREADS", threads, 0, 1024,
               "HTTP event loops; 0 = one per CPU this process may use"),
    INT_OPTION("max-body-bytes", "TSUNAGU_MAX_BODY_BYTES", max_body_bytes, size_t{1024},
               size_t{1} << 30, "largest request body accepted (413 above)"),
    INT_OPTION("max-header-bytes", "TSUNAGU_MAX_HEADER_BYTES", max_header_bytes, size_t{1024},
               size_t{1} << 20, "largest request header accepted (431 above)"),
    STRING_OPTION("sync", "TSUNAGU_SYNC", sync,
                  "full: fsync every commit (survives power loss); normal: survives a killed "
                  "process, fsync at checkpoints",
                  if (v != "full" && v != "normal") return Status::InvalidRequest(
                      "--sync: '" + v + "' is not full or normal")),
    STRING_OPTION("missing-store-files", "TSUNAGU_MISSING_STORE_FILES", missing_store_files,
                  "refuse: a start that finds a file of the store missing or damaged stops and "
                  "says what is missing; accept: it serves what is left and logs what was lost "
                  "(for one start, after the loss is understood)",
                  if (v != "refuse" && v != "accept") return Status::InvalidRequest(
                      "--missing-store-files: '" + v + "' is not refuse or accept")),
    INT_OPTION("checkpoint-mb", "TSUNAGU_CHECKPOINT_MB", checkpoint_mb, 1, 65536,
               "fold the change log into the SQLite file once it holds this many MiB"),
    INT_OPTION("context-timeout-ms", "TSUNAGU_CONTEXT_TIMEOUT_MS", context_timeout_ms, 1, 600000,
               "time allowed to fetch a remote @context"),
    INT_OPTION("context-cache-mb", "TSUNAGU_CONTEXT_CACHE_MB", context_cache_mb, 1, 1048576,
               "MiB of remote @context documents and of contexts built from them kept in "
               "memory, half each (hosted and --context-dir documents are not counted)"),
    STRING_OPTION("context-hosts", "TSUNAGU_CONTEXT_HOSTS", context_hosts,
                  "hosts remote @contexts may be fetched from, comma-separated (exact names, "
                  "or .example.org for a domain); empty: any",
                  (void)0),
    STRING_OPTION("context-private-networks", "TSUNAGU_CONTEXT_PRIVATE_NETWORKS",
                  context_private_networks,
                  "allow: remote @contexts may be fetched from loopback, private and link-local "
                  "addresses; deny: they may not",
                  if (v != "allow" && v != "deny") return Status::InvalidRequest(
                      "--context-private-networks: '" + v + "' is not allow or deny")),
    STRING_OPTION("context-dir", "TSUNAGU_CONTEXT_DIR", context_dir,
                  "folder of @context documents answered for their URLs with no network; its "
                  "file 'index' has lines 'URL = FILE' (docs/jsonld.md)",
                  (void)0),
    STRING_OPTION("notify-ca-file", "TSUNAGU_NOTIFY_CA_FILE", notify_ca_file,
                  "PEM file of the CA certificates that https and mqtts notification "
                  "receivers' certificates are checked against; empty: the system's "
                  "(/etc/ssl/certs)",
                  TSUNAGU_RETURN_IF_ERROR(readable_file("notify-ca-file", v))),
    STRING_OPTION("auth-issuer", "TSUNAGU_AUTH_ISSUER", auth_issuer,
                  "OpenID Connect issuer URL: the NGSI-LD API then answers only requests with "
                  "a bearer token (JWT, RS256 or ES256) it signed, whose iss is this URL; its "
                  "keys come from its discovery document (docs/security.md)",
                  (void)0),
    STRING_OPTION("auth-jwks-file", "TSUNAGU_AUTH_JWKS_FILE", auth_jwks_file,
                  "JWK Set file of the token issuer's keys, read when the issuer cannot be "
                  "reached (or alone, without --auth-issuer)",
                  TSUNAGU_RETURN_IF_ERROR(readable_file("auth-jwks-file", v))),
    STRING_OPTION("auth-audience", "TSUNAGU_AUTH_AUDIENCE", auth_audience,
                  "a value a token's aud must hold; empty: any", (void)0),
    STRING_OPTION("auth-tenant-claim", "TSUNAGU_AUTH_TENANT_CLAIM", auth_tenant_claim,
                  "claim of a bearer token that lists the tenants it opens (\"town-a\", "
                  "\"town-b:read\", \"*:admin\"); empty: a valid token opens every tenant "
                  "(docs/security.md)",
                  (void)0),
    STRING_OPTION("admin-key-file", "TSUNAGU_ADMIN_KEY_FILE", admin_key_file,
                  "file holding the server administrator's API key secret, which opens the "
                  "admin API (/admin/v1: API keys for machines); made with a new secret (mode "
                  "0600) when missing. Empty: no admin API (docs/security.md)",
                  (void)0),
    STRING_OPTION("tenants", "TSUNAGU_TENANTS", tenants,
                  "open: a tenant comes into being with its first write (NGSI-LD's rule); "
                  "registered: only tenants the administrator gave settings to "
                  "(/admin/v1/tenants) and the default one exist",
                  if (v != "open" && v != "registered") return Status::InvalidRequest(
                      "--tenants: '" + v + "' is not open or registered")),
    STRING_OPTION("cors-origins", "TSUNAGU_CORS_ORIGINS", cors_origins,
                  "browser origins (scheme://host[:port]) that may call every tenant of the "
                  "NGSI-LD API, comma-separated, or * for any; a tenant's settings may allow "
                  "more. Empty: none",
                  TSUNAGU_RETURN_IF_ERROR(check_origins(v))),
    STRING_OPTION(
        "trusted-proxies", "TSUNAGU_TRUSTED_PROXIES", trusted_proxies,
        "reverse proxies (addresses or networks, comma-separated) whose "
        "X-Forwarded-For names the client in the audit log and the logs; empty: the "
        "peer is the client (docs/security.md)",
        if (auto parsed = http::TrustedProxies::parse(v); !parsed.ok()) return parsed.status()),
    STRING_OPTION("tls-cert", "TSUNAGU_TLS_CERT", tls_cert_file,
                  "PEM file of the server's certificate chain (its certificate first): the port "
                  "then speaks HTTPS only; read again on SIGHUP (docs/security.md)",
                  TSUNAGU_RETURN_IF_ERROR(readable_file("tls-cert", v))),
    STRING_OPTION("tls-key", "TSUNAGU_TLS_KEY", tls_key_file,
                  "PEM file of the private key of --tls-cert (keep it readable by the server's "
                  "user only)",
                  TSUNAGU_RETURN_IF_ERROR(readable_file("tls-key", v))),
    STRING_OPTION("audit", "TSUNAGU_AUDIT", audit,
                  "on: every write and every refused request (401, 403, 429) of the NGSI-LD and "
                  "admin APIs is recorded in DATA_DIR/audit, one file per day, queried at "
                  "/admin/v1/auditLog; off: nothing is recorded (docs/security.md)",
                  if (v != "on" && v != "off") return Status::InvalidRequest("--audit: '" + v +
                                                                             "' is not on or off")),
    INT_OPTION("audit-retention-days", "TSUNAGU_AUDIT_RETENTION_DAYS", audit_retention_days,
               int64_t{0}, int64_t{36500},
               "days of the audit log kept: older day files are deleted; 0: keep every day"),
    INT_OPTION("auth-jwks-refresh-s", "TSUNAGU_AUTH_JWKS_REFRESH_S", auth_jwks_refresh_s, 1, 86400,
               "seconds between reads of the issuer's keys (rotation)"),
    INT_OPTION("max-entity-attributes", "TSUNAGU_MAX_ENTITY_ATTRIBUTES", max_entity_attributes,
               size_t{1}, size_t{100000000},
               "attribute instances one entity may hold (a write that would leave more is 400)"),
    STRING_OPTION("history", "TSUNAGU_HISTORY", history,
                  "on: every change is kept in the attribute history, which the temporal API "
                  "reads; off: no history is kept and the temporal API answers 422 "
                  "OperationNotSupported (what was kept before stays in the store)",
                  if (v != "on" && v != "off") return Status::InvalidRequest("--history: '" + v +
                                                                             "' is not on or off")),
    INT_OPTION("history-retention-days", "TSUNAGU_HISTORY_RETENTION_DAYS", history_retention_days,
               int64_t{0}, int64_t{36500},
               "instances older than this many days are forgotten, in every tenant without a "
               "period of its own; 0: keep everything"),
    STRING_OPTION("history-retention-tenants", "TSUNAGU_HISTORY_RETENTION_TENANTS",
                  history_retention_tenants,
                  "tenants' own retention periods, TENANT=DAYS,... (0: keep everything)",
                  if (auto t = app::parse_retention_tenants(v); !t.ok()) return t.status()),
    INT_OPTION("history-retention-check-s", "TSUNAGU_HISTORY_RETENTION_CHECK_S",
               history_retention_check_s, int64_t{1}, int64_t{86400},
               "seconds between passes that apply the retention periods"),
    INT_OPTION("temporal-max-instances", "TSUNAGU_TEMPORAL_MAX_INSTANCES", temporal_max_instances,
               size_t{1}, size_t{100000000},
               "attribute instances one temporal entity shows per response (206 and "
               "Content-Range beyond)"),
    INT_OPTION("max-geometry-positions", "TSUNAGU_MAX_GEOMETRY_POSITIONS", max_geometry_positions,
               size_t{4}, size_t{100000000},
               "positions one GeoJSON geometry may hold, in an entity or a geo-query (400 above)"),
    INT_OPTION("default-limit", "TSUNAGU_DEFAULT_LIMIT", default_limit, 1, 1000000,
               "page size of queries without limit"),
    INT_OPTION("max-limit", "TSUNAGU_MAX_LIMIT", max_limit, 1, 1000000,
               "largest limit a query may ask for (TooManyResults above)"),
    INT_OPTION("render-cache-mb", "TSUNAGU_RENDER_CACHE_MB", render_cache_mb, 0, 1048576,
               "MiB of entities kept as last rendered, for reads that render them again; "
               "0 = none"),
    INT_OPTION("idle-timeout-s", "TSUNAGU_IDLE_TIMEOUT_S", idle_timeout_s, 1, 86400,
               "close keep-alive connections idle this long"),
    INT_OPTION("header-timeout-s", "TSUNAGU_HEADER_TIMEOUT_S", header_timeout_s, 1, 3600,
               "a new connection that sends no complete request header this soon is closed"),
    INT_OPTION("max-connections", "TSUNAGU_MAX_CONNECTIONS", max_connections, size_t{1},
               size_t{10000000},
               "connections open at once (503 above; also kept below the open-files limit)"),
    INT_OPTION("max-connections-per-client", "TSUNAGU_MAX_CONNECTIONS_PER_CLIENT",
               max_connections_per_client, size_t{1}, size_t{10000000},
               "connections open at once from one client address (503 above)"),
    INT_OPTION("shutdown-grace-s", "TSUNAGU_SHUTDOWN_GRACE_S", shutdown_grace_s, 0, 3600,
               "on SIGTERM/SIGINT, how long requests in flight may take to finish"),
    STRING_OPTION("durable-notifications", "TSUNAGU_DURABLE_NOTIFICATIONS", durable_notifications,
                  "on: a change that may notify is kept in the store until its notifications "
                  "have left, so one acknowledged before a crash is notified after the restart; "
                  "off: notifications waiting at a crash or a stop are lost",
                  if (v != "on" && v != "off") return Status::InvalidRequest(
                      "--durable-notifications: '" + v + "' is not on or off")),
    INT_OPTION("notify-window", "TSUNAGU_NOTIFY_WINDOW", notify_window, size_t{1}, size_t{1024},
               "notifications of one subscription to an http:// receiver sent before the "
               "earlier ones are answered (pipelined on one connection, in order); https and "
               "MQTT receivers get one at a time"),
    STRING_OPTION("source-identity", "TSUNAGU_SOURCE_IDENTITY", source_identity,
                  "this broker's name in the Via header of requests it forwards to context "
                  "sources, by which it recognises its own requests coming back (a loop); "
                  "empty: tsunagu@<host name>:<port>",
                  if (v.find_first_of(" ,") != std::string::npos) return Status::InvalidRequest(
                      "--source-identity: '" + v + "' holds a space or a comma")),
    INT_OPTION("forward-timeout-ms", "TSUNAGU_FORWARD_TIMEOUT_MS", forward_timeout_ms, 1, 600000,
               "how long a request forwarded to a context source may take, unless its "
               "registration's management.timeout says otherwise"),
    STRING_OPTION("metrics-tenants", "TSUNAGU_METRICS_TENANTS", metrics_tenants,
                  "names: /metrics gives figures per tenant, by name; total: one figure for all, "
                  "so that tenant names stay off /metrics",
                  if (v != "names" && v != "total") return Status::InvalidRequest(
                      "--metrics-tenants: '" + v + "' is not names or total")),
    STRING_OPTION("log-level", "TSUNAGU_LOG_LEVEL", log_level, "debug, info, warn or error",
                  if (v != "debug" && v != "info" && v != "warn" &&
                      v != "error") return Status::InvalidRequest("--log-level: '" + v +
                                                                  "' is not debug, info, "
                                                                  "warn or error")),
    STRING_OPTION("log-format", "TSUNAGU_LOG_FORMAT", log_format,
                  "json (one object per line) or text",
                  if (v != "json" && v != "text") return Status::InvalidRequest(
                      "--log-format: '" + v + "' is not json or text")),
  };
  return kOptions;
}

const Option* find(const std::string& name) {
  for (const auto& o : options()) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

Status load_file(const std::string& path, Config& c) {
  std::ifstream in(path);
  if (!in) return Status::InvalidRequest("cannot read config file '" + path + "'");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    size_t eq = line.find('=');
    auto trim = [](std::string s) {
      size_t a = s.find_first_not_of(" \t\r");
      size_t b = s.find_last_not_of(" \t\r");
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    if (trim(line).empty()) continue;
    if (eq == std::string::npos) {
      return Status::InvalidRequest(path + ":" + std::to_string(n) + ": expected 'key = value'");
    }
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    const Option* o = find(key);
    if (o == nullptr) {
      return Status::InvalidRequest(path + ":" + std::to_string(n) + ": unknown key '" + key + "'");
    }
    TSUNAGU_RETURN_IF_ERROR(o->set(c, value));
  }
  return Status::Ok();
}

}  // namespace

std::string usage() {
  std::ostringstream s;
  Config defaults;
  s << "Usage: tsunagu [options]\n\n"
       "Tsunagu: an NGSI-LD context broker and smart-city data platform.\n\n"
       "Options (each also settable as an environment variable or a config-file key):\n"
       "  --config FILE            config file of 'key = value' lines [TSUNAGU_CONFIG]\n";
  for (const auto& o : options()) {
    std::string flag = std::string("--") + o.name + " VALUE";
    s << "  " << flag << std::string(flag.size() < 25 ? 25 - flag.size() : 1, ' ') << o.help
      << " (default: " << (o.get(defaults).empty() ? "\"\"" : o.get(defaults)) << ") [" << o.env
      << "]\n";
  }
  s << "  --help                   show this text\n"
       "  --version                show the version\n";
  return s.str();
}

Status load_config(int argc, char** argv, Config& c, bool& exit_now, std::string& message) {
  exit_now = false;
  std::vector<std::pair<const Option*, std::string>> cli;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      exit_now = true;
      message = usage();
      return Status::Ok();
    }
    if (arg == "--version") {
      exit_now = true;
      message = "tsunagu 0.1.0\n";
      return Status::Ok();
    }
    if (arg.rfind("--", 0) != 0) return Status::InvalidRequest("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2), value;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else {
      if (i + 1 >= argc) return Status::InvalidRequest("--" + name + " needs a value");
      value = argv[++i];
    }
    if (name == "config") {
      c.config_file = value;
      continue;
    }
    const Option* o = find(name);
    if (o == nullptr) {
      return Status::InvalidRequest("unknown option '--" + name + "' (see --help)");
    }
    cli.emplace_back(o, value);
  }
  if (c.config_file.empty()) {
    if (const char* f = std::getenv("TSUNAGU_CONFIG")) c.config_file = f;
  }
  if (!c.config_file.empty()) TSUNAGU_RETURN_IF_ERROR(load_file(c.config_file, c));
  for (const auto& o : options()) {
    if (const char* v = std::getenv(o.env)) TSUNAGU_RETURN_IF_ERROR(o.set(c, v));
  }
  for (const auto& [o, v] : cli)
    TSUNAGU_RETURN_IF_ERROR(o->set(c, v));
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    return Status::InvalidRequest("--tls-cert and --tls-key go together: give both or neither");
  return Status::Ok();
}

}  // namespace tsunagu::app
