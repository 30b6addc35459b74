// Wiring: the only place that knows every module. Reads the configuration, opens the store,
// rebuilds memory, starts the writer and the HTTP server, and shuts down in order on
// SIGTERM/SIGINT: stop accepting, finish requests in flight, drain the commit queue, close.
#include <signal.h>

#include <boost/asio/thread_pool.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "app/admin_key.hpp"
#include "app/auth_keys.hpp"
#include "app/config.hpp"
#include "app/context_files.hpp"
#include "app/history_retention.hpp"
#include "app/notification_transport.hpp"
#include "audit/audit_log.hpp"
#include "common/log.hpp"
#include "common/memory.hpp"
#include "common/metrics.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
#include "engine/csource_subscriptions.hpp"
#include "engine/delivery.hpp"
#include "engine/entity_service.hpp"
#include "engine/loader.hpp"
#include "engine/registrations.hpp"
#include "engine/subscriptions.hpp"
#include "engine/writer.hpp"
#include "http/api/api.hpp"
#include "http/client.hpp"
#include "http/context_loader.hpp"
#include "http/http1_client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "mqtt/client.hpp"
#include "ngsild/format/render_cache.hpp"
#include "ngsild/geo/geometry.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/registration/registration_renderer.hpp"
#include "store/store.hpp"

namespace tsunagu {
namespace {

// The store's note holding this broker's URI (/info/sourceIdentity).
constexpr std::string_view kSourceIdNote = "federation.source_id";

// A snapshot that a write replaced or deleted is never rendered again: its kept renderings go at
// once, so that deleted data does not stay in memory until the cache evicts it.
// Remote @context documents come over HTTP, through the operator's fetch policy.
class HttpDocumentLoader final : public ngsild::jsonld::DocumentLoader {
 public:
  explicit HttpDocumentLoader(http::FetchPolicy policy) : curl_(std::move(policy)) {}
  Result<std::string> load(const std::string& url, int timeout_ms) override {
    return curl_.load(url, timeout_ms);
  }

 private:
  http::CurlContextLoader curl_;
};

class ForgetReplacedRenderings final : public engine::ChangeListener {
 public:
  explicit ForgetReplacedRenderings(ngsild::RenderCache& renders) : renders_(renders) {}
  void published(const std::vector<engine::CommittedChange>& changes, int64_t) override {
    for (const engine::CommittedChange& c : changes) {
      if (c.change->before) renders_.forget(*c.change->before);
    }
  }

 private:
  ngsild::RenderCache& renders_;
};

int run(const app::Config& cfg) {
  log::Level level = log::Level::kInfo;
  log::parse_level(cfg.log_level, level);
  log::configure(level, cfg.log_format == "json");

  // Block the shutdown signals in every thread; one thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // reload the TLS certificate
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    log::error("data_dir_unusable", {{"path", cfg.data_dir}, {"detail", ec.message()}});
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  store::EmbeddedOptions so;
  so.dir = cfg.data_dir;
  so.sync = cfg.sync == "normal" ? store::SyncMode::kNormal : store::SyncMode::kFull;
  so.checkpoint_bytes = static_cast<uint64_t>(cfg.checkpoint_mb) << 20;
  so.accept_missing = cfg.missing_store_files == "accept";
  auto store = store::open_embedded(so);
  if (!store.ok()) {
    log::error("store_open_failed", {{"detail", store.status().detail()}});
    return 1;
  }
  ngsild::jsonld::ContextCache::Options co;
  co.timeout_ms = cfg.context_timeout_ms;
  co.document_cache_bytes = co.context_cache_bytes = static_cast<size_t>(cfg.context_cache_mb)
                                                     << 19;  // half of the MiB each
  http::FetchPolicy fetch;
  fetch.private_networks = cfg.context_private_networks == "allow";
  for (size_t pos = 0; pos <= cfg.context_hosts.size();) {
    size_t comma = std::min(cfg.context_hosts.find(',', pos), cfg.context_hosts.size());
    std::string host = cfg.context_hosts.substr(pos, comma - pos);
    host.erase(0, host.find_first_not_of(" \t"));
    host.erase(host.find_last_not_of(" \t") + 1);
    if (!host.empty()) fetch.hosts.push_back(std::move(host));
    pos = comma + 1;
  }
  log::info("context_fetch_policy",
            {{"hosts", cfg.context_hosts.empty() ? std::string("any") : cfg.context_hosts},
             {"private_networks", cfg.context_private_networks}});
  ngsild::jsonld::ContextCache contexts(std::make_shared<HttpDocumentLoader>(fetch), co,
                                        std::make_shared<app::HostedContextFiles>(cfg.data_dir));

  // Notifications: outbound HTTP and MQTT clients, per-subscription delivery queues, and the
  // subscriptions themselves, which the store's records fill before the writer starts.
  http::HttpClient::Options hco;
  hco.ca_file = cfg.notify_ca_file;
  http::HttpClient notify_tls_client(hco);
  http::Http1Client notify_client;
  // Requests forwarded to context sources (docs/federation.md).
  http::Http1Client::Options fco;
  fco.max_response_bytes = cfg.max_body_bytes * 4;
  http::Http1Client forward_client(fco);
  http::HttpClient::Options ftls = hco;
  ftls.max_response_bytes = fco.max_response_bytes;
  http::HttpClient forward_tls_client(ftls);
  mqtt::MqttClient::Options mco;
  mco.ca_file = cfg.notify_ca_file;
  mqtt::MqttClient mqtt_client(mco);
  app::NotificationTransport transport(notify_client, notify_tls_client, mqtt_client);
  engine::SubscriptionService* subscriptions_ptr = nullptr;
  engine::CsourceSubscriptionService* csource_subscriptions_ptr = nullptr;
  // The tenants' settings: names, quotas, rates, CORS origins (docs/security.md, "Tenants").
  // Before the delivery of notifications, which asks them for each tenant's notification rate
  // until it stops.
  auth::TenantService tenant_settings;
  engine::Delivery::Options delivery_options;
  delivery_options.window = cfg.notify_window;
  delivery_options.pace = [&tenant_settings](const std::string& tenant) -> int64_t {
    const int64_t wait_us = tenant_settings.pace_notification(tenant, now_us());
    if (wait_us > 0) {
      static auto& paced = metrics::registry().counter(
          "tsunagu_notifications_paced_total",
          "Times a subscription's next notification waited for its tenant's notification rate",
          {"tenant"});
      paced.with({tenant}).inc();
    }
    return wait_us;
  };
  delivery_options.keeps_order = &app::NotificationTransport::keeps_order;
  engine::Delivery delivery(
      delivery_options,
      [&transport](const std::string& key, const engine::Delivery::Message& m,
                   std::function<void(engine::Delivery::Result)> done) {
        transport.send(key, m, std::move(done));
      },
      // Each report goes to the service whose subscription the key names.
      [&subscriptions_ptr, &csource_subscriptions_ptr](
          const std::string& key, const engine::Delivery::Result& r, bool final) {
        if (engine::CsourceSubscriptionService::owns(key)) {
          if (csource_subscriptions_ptr != nullptr)
            csource_subscriptions_ptr->report(key, r, final);
        } else if (subscriptions_ptr != nullptr) {
          subscriptions_ptr->report(key, r, final);
        }
      },
      [&subscriptions_ptr, &csource_subscriptions_ptr](const std::string& key) {
        if (engine::CsourceSubscriptionService::owns(key)) {
          if (csource_subscriptions_ptr != nullptr) csource_subscriptions_ptr->attempt(key);
        } else if (subscriptions_ptr != nullptr) {
          subscriptions_ptr->attempt(key);
        }
      });
  engine::TenantRegistry tenants;
  engine::SubscriptionService::Options sub_options;
  sub_options.durable = cfg.durable_notifications == "on";
  engine::SubscriptionService subscriptions(tenants, contexts, delivery, sub_options);
  // Settled outbox records need not reach the checkpoint (docs/storage.md, "Transient records").
  if (auto st = (*store)->declare_transient(std::string(engine::SubscriptionService::kOutboxKind),
                                            subscriptions.outbox_settled());
      !st.ok()) {
    log::error("store_open_failed", {{"detail", st.detail()}});
    return 1;
  }
  subscriptions_ptr = &subscriptions;
  // Context source registrations (docs/federation.md), and the subscriptions to them, which
  // hear of each change once durable and list them for their initial and periodic
  // notifications.
  engine::RegistrationService registrations(contexts.core());
  engine::CsourceSubscriptionService csource_subscriptions(
      {[&registrations](const std::string& tenant) {
         std::vector<engine::CsourceSubscriptionService::RegistrationPtr> out;
         for (auto& v : registrations.list(tenant))
           out.push_back(std::move(v.def));
         return out;
       },
       [](const ngsild::registration::Registration& r, const ngsild::jsonld::Context& ctx,
          bool with_context, JsonWriter& w) {
         ngsild::registration::render_registration(r, {}, ctx, w, {false, with_context});
       }},
      contexts, delivery);
  registrations.add_listener(
      [&csource_subscriptions](const engine::RegistrationService::Change& c) {
        csource_subscriptions.registration_changed(c);
      });
  csource_subscriptions_ptr = &csource_subscriptions;
  // However run() ends, notifications stop before the subscriptions go: what is in flight ends,
  // then nothing reports to them (the delivery queues and the client are destroyed after them).
  // What has not left its queue by then stays in the outbox for the next start.
  struct StopNotifications {
    engine::SubscriptionService& subscriptions;
    http::Http1Client& client;
    http::HttpClient& tls_client;
    mqtt::MqttClient& mqtt;
    engine::Delivery& delivery;
    ~StopNotifications() {
      subscriptions.close();
      client.stop();
      tls_client.stop();
      mqtt.stop();
      delivery.stop();
    }
  } stop_notifications{subscriptions, notify_client, notify_tls_client, mqtt_client, delivery};
  // History: which series each entity has (the instances stay in the store).
  engine::TemporalService temporal(**store);
  // API keys for machines (docs/security.md), stored as records like registrations.
  auth::ApiKeyService api_keys;
  auto loaded = engine::load_state(
      **store, tenants,
      {{std::string(engine::TemporalService::kRecordKind),
        [&temporal](std::string_view tenant, std::string_view key, std::string_view doc) {
          return temporal.load(tenant, key, doc);
        }},
       {std::string(engine::RegistrationService::kRecordKind),
        [&registrations](std::string_view tenant, std::string_view key, std::string_view doc) {
          return registrations.load(tenant, key, doc);
        }},
       {std::string(engine::SubscriptionService::kRecordKind),
        [&subscriptions](std::string_view tenant, std::string_view key, std::string_view doc) {
          return subscriptions.load(tenant, key, doc);
        }},
       {std::string(engine::CsourceSubscriptionService::kRecordKind),
        [&csource_subscriptions](std::string_view tenant, std::string_view key,
                                 std::string_view doc) {
          return csource_subscriptions.load(tenant, key, doc);
        }},
       {std::string(auth::ApiKeyService::kRecordKind),
        [&api_keys](std::string_view tenant, std::string_view key, std::string_view doc) {
          return api_keys.load(tenant, key, doc);
        }},
       {std::string(auth::TenantService::kRecordKind),
        [&tenant_settings](std::string_view tenant, std::string_view key, std::string_view doc) {
          return tenant_settings.load(tenant, key, doc);
        }},
       {std::string(engine::SubscriptionService::kOutboxKind),
        [&subscriptions](std::string_view tenant, std::string_view key, std::string_view doc) {
          return subscriptions.load_outbox(tenant, key, doc);
        }}});
  if (!loaded.ok()) {
    log::error("store_load_failed", {{"detail", loaded.status().detail()}});
    return 1;
  }
  {
    auto seq = (*store)->note(engine::TemporalService::kSeqNote);
    Status st = seq.ok() ? temporal.load_seq(*seq) : seq.status();
    if (!st.ok()) {
      log::error("store_load_failed", {{"detail", st.detail()}});
      return 1;
    }
  }
  // This broker's URI (/info/sourceIdentity): made at the first start, kept in the store.
  std::string source_id;
  {
    auto kept = (*store)->note(kSourceIdNote);
    Status st = kept.ok() ? Status::Ok() : kept.status();
    if (kept.ok() && kept->has_value()) {
      source_id = **kept;
    } else if (kept.ok()) {
      source_id = random_urn("urn:ngsi-ld:ContextSource:");
      store::WriteBatch batch;
      batch.ops.push_back(
          {store::WriteBatch::OpKind::kNote, 0, {}, std::string(kSourceIdNote), source_id});
      st = (*store)->apply(std::move(batch));
    }
    if (!st.ok()) {
      log::error("store_load_failed", {{"detail", st.detail()}});
      return 1;
    }
  }
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Reading the store back needed buffers (log segments, documents) that are free now: give
  // their pages back to the OS rather than keep them in the allocator's free lists for good.
  release_free_memory();
  log::info("state_loaded", {{"store", (*store)->describe()},
                             {"tenants", loaded->tenants},
                             {"entities", loaded->entities},
                             {"subscriptions", subscriptions.count()},
                             {"csource_subscriptions", csource_subscriptions.count()},
                             {"registrations", registrations.count()},
                             {"temporal_entities", temporal.count()},
                             {"seconds", load_s}});

  // With --sync full a commit waits for fdatasync, which must not hold up an event loop; without
  // it the loops commit themselves (engine/writer.hpp).
  ngsild::geo::set_max_positions(cfg.max_geometry_positions);
  ngsild::RenderCache renders(static_cast<size_t>(cfg.render_cache_mb) << 20);
  ForgetReplacedRenderings forget_replaced(renders);
  engine::Writer::Options wo;
  const bool history = cfg.history == "on";
  wo.listeners = {&forget_replaced, &subscriptions};
  if (history) wo.listeners.push_back(&temporal);
  log::info("history", {{"kept", history}, {"temporal_max_instances", cfg.temporal_max_instances}});
  wo.committer = so.sync == store::SyncMode::kFull ? engine::Writer::Committer::kOwnThread
                                                   : engine::Writer::Committer::kEventLoops;
  // A loop that stays busy still commits within a millisecond of a write's arrival.
  wo.wake_loop = [] { http::Server::call_idle_within(std::chrono::milliseconds(1)); };
  wo.max_entity_attributes = cfg.max_entity_attributes;
  wo.max_entities = [&tenant_settings](std::string_view tenant) {
    return tenant_settings.max_entities(tenant);
  };
  engine::Writer writer(**store, tenants, wo);
  writer.set_next_row(loaded->max_row + 1);
  writer.start();
  // A subscription made with a role hears only of what the role may read (docs/security.md).
  subscriptions.set_roles([&tenant_settings](std::string_view tenant, std::string_view role) {
    return tenant_settings.role(tenant, role);
  });
  subscriptions.attach(writer);
  csource_subscriptions.attach(writer);
  temporal.attach(writer);
  registrations.attach(writer);
  api_keys.attach(writer);
  tenant_settings.attach(writer);
  // However run() ends, the subscriptions stop using the writer before it goes.
  struct DetachSubscriptions {
    engine::SubscriptionService& subscriptions;
    ~DetachSubscriptions() { subscriptions.close(); }
  } detach_subscriptions{subscriptions};
  engine::EntityService entities(tenants, writer);
  // Retention passes use the writer: ended before it (declared after it).
  app::RetentionPolicy retention_policy;
  retention_policy.default_days = cfg.history_retention_days;
  retention_policy.tenants = *app::parse_retention_tenants(cfg.history_retention_tenants);
  retention_policy.check_s = cfg.history_retention_check_s;
  retention_policy.settings = [&tenant_settings](std::string_view tenant) {
    return tenant_settings.history_retention_days(tenant);
  };
  app::HistoryRetention retention(temporal, retention_policy);
  if (history) retention.start();

  auto preloaded = app::load_contexts(contexts, cfg.context_dir);
  if (!preloaded.ok()) {
    log::error("contexts_load_failed", {{"detail", preloaded.status().detail()}});
    writer.stop();
    return 1;
  }
  if (!cfg.context_dir.empty()) {
    log::info("contexts_preloaded", {{"dir", cfg.context_dir}, {"documents", *preloaded}});
  }
  // Remote @context loads block their thread for up to the fetch timeout; loads of one URL are
  // shared and failures remembered (ngsild/jsonld/context.hpp), so a few threads suffice.
  boost::asio::thread_pool blocking(16);

  // Tenant names are municipalities' names: --metrics-tenants total keeps them off /metrics.
  const bool per_tenant = cfg.metrics_tenants == "names";
  metrics::registry().gauge("tsunagu_entities",
                            "Entities held, by tenant (\"*\": all, with --metrics-tenants total)",
                            {"tenant"}, [&tenants, per_tenant](auto& rows) {
                              double all = 0;
                              for (auto* t : tenants.all()) {
                                if (per_tenant)
                                  rows.push_back({{t->name()}, static_cast<double>(t->size())});
                                else
                                  all += static_cast<double>(t->size());
                              }
                              if (!per_tenant) rows.push_back({{"*"}, all});
                            });
  metrics::registry().gauge(
      "tsunagu_context_cache_bytes",
      "Bytes held by remote @context documents (cache=\"documents\") and by the contexts built "
      "from them (cache=\"contexts\", estimated)",
      {"cache"}, [&contexts](auto& rows) {
        auto u = contexts.usage();
        rows.push_back({{"documents"}, static_cast<double>(u.document_bytes)});
        rows.push_back({{"contexts"}, static_cast<double>(u.context_bytes)});
      });
  metrics::registry().gauge(
      "tsunagu_notifications_pending",
      "Notifications queued, sending or waiting for a retry, over all subscriptions", {},
      [&delivery](auto& rows) {
        rows.push_back({{}, static_cast<double>(delivery.pending())});
      });
  metrics::registry().gauge("tsunagu_subscriptions", "Subscriptions held, over all tenants", {},
                            [&subscriptions](auto& rows) {
                              rows.push_back({{}, static_cast<double>(subscriptions.count())});
                            });
  metrics::registry().gauge("tsunagu_render_cache_bytes",
                            "Bytes held by entities kept as last rendered", {},
                            [&renders](auto& rows) {
                              rows.push_back({{}, static_cast<double>(renders.stats().bytes)});
                            });
  const int64_t started = now_us();
  http::api::Env env{entities, contexts, blocking, renders, {cfg.default_limit, cfg.max_limit}, {}};
  env.subscriptions = &subscriptions;
  env.csource_subscriptions = &csource_subscriptions;
  env.registrations = &registrations;
  // Distributed operations: requests to context sources go through clients of their own, so
  // that they never wait behind notifications; answers may be whole query results.
  env.forward = [&forward_client, &forward_tls_client](http::HttpClient::Request r,
                                                       http::HttpClient::Done done) {
    if (r.url.rfind("http://", 0) == 0) {
      http::Http1Client::Request plain;
      static_cast<http::HttpClient::Request&>(plain) = std::move(r);
      return forward_client.submit(std::move(plain), std::move(done));
    }
    return forward_tls_client.submit(std::move(r), std::move(done));
  };
  env.source_identity = cfg.source_identity;
  if (env.source_identity.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    env.source_identity =
        "tsunagu@" + std::string(host[0] ? host : "localhost") + ":" + std::to_string(cfg.port);
  }
  env.forward_timeout_ms = cfg.forward_timeout_ms;
  env.started_at = now_us();
  env.source_id = source_id;
  env.temporal = history ? &temporal : nullptr;
  env.temporal_max_instances = cfg.temporal_max_instances;
  // API keys: taken once the server has an administrator who can make them, or holds keys
  // made before (a restart without --admin-key-file must not open what keys closed).
  if (!cfg.admin_key_file.empty()) {
    auto admin = app::read_or_create_admin_key(cfg.admin_key_file);
    if (!admin.ok()) {
      log::error("admin_key_unusable", {{"detail", admin.status().detail()}});
      writer.stop();
      return 1;
    }
    if (admin->created) {
      log::info("admin_key_created", {{"path", cfg.admin_key_file},
                                      {"detail", "the administrator's API key secret, mode 0600"}});
    }
    env.admin_secret_hash = std::move(admin->secret_hash);
  }
  if (!cfg.admin_key_file.empty() || api_keys.count() > 0) env.api_keys = &api_keys;
  env.tenants = &tenant_settings;
  env.registered_tenants_only = cfg.tenants == "registered";
  env.cors_origins = app::split_origins(cfg.cors_origins);
  // Bearer tokens: with an issuer or a key file, the NGSI-LD API answers only callers that
  // present a valid token; the keys are read now and again every refresh period.
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<app::IssuerKeys> issuer_keys;
  if (!cfg.auth_issuer.empty() || !cfg.auth_jwks_file.empty()) {
    authenticator = std::make_unique<auth::Authenticator>(auth::Verifier::Options{
        cfg.auth_issuer, cfg.auth_audience, 60, true, cfg.auth_tenant_claim});
    issuer_keys = std::make_unique<app::IssuerKeys>(*authenticator, cfg.auth_issuer,
                                                    cfg.auth_jwks_file, cfg.auth_jwks_refresh_s);
    // An issuer that is down at start (restarting with the city's systems) is tried again
    // soon; until then every request is refused, not let through.
    if (Status st = issuer_keys->load(); !st.ok())
      log::error("auth_keys_unavailable", {{"detail", st.detail()}});
    issuer_keys->start();
    env.auth = authenticator.get();
    env.token_grants = !cfg.auth_tenant_claim.empty();
  }
  // What is open and what needs which credential, said once at start (docs/security.md).
  const std::string admin_api = env.admin_secret_hash.empty()
                                    ? "off: no --admin-key-file"
                                    : "administrator's API key (" + cfg.admin_key_file + ")";
  if (env.auth || env.api_keys) {
    log::info("access",
              {{"ngsi_ld_api", env.auth && env.api_keys ? "bearer token or API key required"
                               : env.auth               ? "bearer token required"
                                                        : "API key required"},
               {"issuer", !env.auth                 ? std::string("none")
                          : cfg.auth_issuer.empty() ? cfg.auth_jwks_file
                                                    : cfg.auth_issuer},
               {"api_keys", static_cast<int64_t>(api_keys.count())},
               {"admin_api", admin_api},
               {"open_without_credentials", "/health, /metrics"}});
  } else {
    log::warn("access", {{"ngsi_ld_api",
                          "open: no --auth-issuer, --auth-jwks-file or --admin-key-file, so "
                          "whoever reaches the port reads and writes every tenant"},
                         {"admin_api", admin_api},
                         {"open_without_credentials", "everything"}});
  }
  std::string store_name = (*store)->describe();
  env.health = [&, started, store_name](JsonWriter& w) {
    w.key("store");
    w.string(store_name);
    w.key("startedAt");
    w.string(format_datetime(started));
    w.key("tenants");
    w.number(static_cast<int64_t>(tenants.all().size()));
  };
  // The audit log (docs/security.md, "Audit log"): writes and refusals, in DATA_DIR/audit.
  audit::AuditLog audit_log(
      {(std::filesystem::path(cfg.data_dir) / "audit").string(), cfg.audit_retention_days});
  if (cfg.audit == "on") {
    if (Status st = audit_log.start(); !st.ok()) {
      log::error("audit_unusable", {{"detail", st.detail()}});
      writer.stop();
      return 1;
    }
    env.audit = &audit_log;
  }
  log::info("audit", {{"recorded", cfg.audit == "on"},
                      {"retention_days", cfg.audit_retention_days},
                      {"dir", (std::filesystem::path(cfg.data_dir) / "audit").string()}});
  http::Router router;
  http::api::add_routes(router, env);

  http::ServerOptions ho;
  ho.bind = cfg.bind;
  ho.port = cfg.port;
  ho.threads = cfg.threads;
  ho.max_body_bytes = cfg.max_body_bytes;
  ho.max_header_bytes = cfg.max_header_bytes;
  ho.idle_timeout_s = cfg.idle_timeout_s;
  ho.header_timeout_s = cfg.header_timeout_s;
  ho.max_connections = cfg.max_connections;
  ho.max_connections_per_client = cfg.max_connections_per_client;
  ho.shutdown_grace_s = cfg.shutdown_grace_s;
  ho.tls_cert_file = cfg.tls_cert_file;
  ho.tls_key_file = cfg.tls_key_file;
  ho.trusted_proxies = http::TrustedProxies::parse(cfg.trusted_proxies).value();  // checked
  if (wo.committer == engine::Writer::Committer::kEventLoops)
    ho.idle = [&writer] { return writer.commit_pending(); };
  http::Server server(ho, [&router](http::Request&& req, http::Reply reply) {
    router.dispatch(std::move(req), std::move(reply));
  });
  Status st = server.start();
  if (!st.ok()) {
    log::error("listen_failed", {{"detail", st.detail()}});
    writer.stop();
    return 1;
  }
  log::info("listening", {{"bind", cfg.bind},
                          {"port", static_cast<int64_t>(server.port())},
                          {"threads", server.threads()},
                          {"data_dir", cfg.data_dir},
                          {"sync", cfg.sync},
                          {"scheme", server.tls() ? "https" : "http"}});

  int sig = 0;
  // SIGHUP reads the TLS files again (a renewed certificate), without a restart.
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (!server.tls()) {
      log::info("sighup_ignored", {{"detail", "no --tls-cert: nothing to reload"}});
    } else if (Status reloaded = server.reload_tls(); reloaded.ok()) {
      log::info("tls_reloaded", {{"certificate", cfg.tls_cert_file}});
    } else {
      log::error("tls_reload_failed",
                 {{"detail", reloaded.detail()}, {"kept", "the certificate in use"}});
    }
  }
  log::info("shutting_down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.stop();
  server.wait();
  // Requests still forwarded to context sources end now ("client stopped"), while what their
  // answers go to (the registrations' statistics, the blocking pool) is still there.
  forward_client.stop();
  forward_tls_client.stop();
  blocking.join();
  // Every request is answered: what the audit log holds is written and synced.
  audit_log.stop();
  subscriptions.close();
  retention.stop();
  writer.stop();
  log::info("stopped");
  return 0;
}

}  // namespace
}  // namespace tsunagu

int main(int argc, char** argv) {
  tsunagu::app::Config cfg;
  bool exit_now = false;
  std::string message;
  tsunagu::Status st = tsunagu::app::load_config(argc, argv, cfg, exit_now, message);
  if (!st.ok()) {
    std::cerr << "tsunagu: " << st.detail() << "\n";
    return 2;
  }
  if (exit_now) {
    std::cout << message;
    return 0;
  }
  return tsunagu::run(cfg);
}
