// The one configuration struct. Values come, lowest precedence first, from the built-in
// defaults, a config file (--config FILE or TSUNAGU_CONFIG; "key = value" lines), TSUNAGU_*
// environment variables, and command-line options. `tsunagu --help` lists every option.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace tsunagu::app {

struct Config {
  uint16_t port = 1026;
  std::string bind = "0.0.0.0";
  std::string data_dir = "./data";
  int threads = 0;
  size_t max_body_bytes = 8 * 1024 * 1024;
  size_t max_header_bytes = 16 * 1024;
  std::string sync = "full";
  int checkpoint_mb = 64;
  std::string missing_store_files = "refuse";  // refuse | accept
  int context_timeout_ms = 5000;
  int context_cache_mb = 64;
  std::string context_dir;                        // preloaded @contexts (none when empty)
  std::string context_hosts;                      // comma-separated; empty: any host
  std::string context_private_networks = "deny";  // allow | deny
  std::string notify_ca_file;  // CA certificates for https and mqtts notifications; empty: system's
  size_t max_entity_attributes = 10000;
  std::string history = "on";  // on | off
  int64_t history_retention_days = 0;
  std::string history_retention_tenants;
  int64_t history_retention_check_s = 3600;
  size_t temporal_max_instances = 10000;
  size_t max_geometry_positions = 100000;
  int default_limit = 20;
  int max_limit = 1000;
  int render_cache_mb = 64;
  int idle_timeout_s = 60;
  int header_timeout_s = 10;
  size_t max_connections = 20000;
  size_t max_connections_per_client = 1000;
  int shutdown_grace_s = 20;
  std::string durable_notifications = "on";  // on | off
  std::string source_identity;    // Via name of this broker; empty: tsunagu@<host>:<port>
  int forward_timeout_ms = 5000;  // per request forwarded to a context source
  size_t notify_window = 8;       // notifications of one subscription unanswered at once (http://)
  std::string auth_issuer;        // OpenID Connect issuer whose tokens are accepted; empty: none
  std::string auth_jwks_file;     // JWK Set file: the keys when the issuer cannot be reached
  std::string auth_audience;      // required among a token's aud; empty: any
  std::string auth_tenant_claim;  // claim listing the tenants a token opens; empty: every tenant
  int auth_jwks_refresh_s = 900;
  std::string admin_key_file;             // the administrator's API key secret; empty: no admin API
  std::string tenants = "open";           // open | registered (only tenants given settings)
  std::string cors_origins;               // origins browsers may call every tenant from; "*": any
  std::string tls_cert_file;              // HTTPS: PEM certificate chain; empty: plain HTTP
  std::string tls_key_file;               // its private key (PEM)
  std::string trusted_proxies;            // addresses/networks whose X-Forwarded-For is taken
  std::string audit = "on";               // on | off: the audit log (docs/security.md)
  int64_t audit_retention_days = 365;     // day files of the audit log kept; 0: all
  std::string metrics_tenants = "names";  // names | total
  std::string log_level = "info";
  std::string log_format = "json";
  std::string config_file;
};

// Parses the command line (and the environment and config file it points to). Sets
// `exit_now` for --help/--version (text in `message`). InvalidRequest names the bad option.
Status load_config(int argc, char** argv, Config& config, bool& exit_now, std::string& message);

// The --help text.
std::string usage();

// The origins of a --cors-origins value, without blanks ("*" stays "*").
std::vector<std::string> split_origins(std::string_view v);

}  // namespace tsunagu::app
