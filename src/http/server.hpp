// The HTTP/1.1 listener: one Boost.Asio event loop per core, each with its own SO_REUSEPORT
// acceptor, keep-alive sessions, header/body limits, and graceful shutdown. It hands every
// complete request to one Handler and writes back whatever Response the Reply receives, from
// whichever thread sends it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "http/message.hpp"
#include "http/proxies.hpp"

namespace tsunagu::http {

struct ServerOptions {
  std::string bind = "0.0.0.0";
  uint16_t port = 1026;  // 0 picks a free port (see Server::port)
  int threads = 0;       // event loops; 0 = the CPUs this process may run on
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 8 * 1024 * 1024;
  int idle_timeout_s = 60;    // close keep-alive connections idle this long
  int header_timeout_s = 10;  // a new connection must send its first request header this soon
  // Open connections in all, and from one client address. Beyond either a new connection gets
  // 503 and is closed at once, so that idle sockets cannot use up the descriptors. The total is
  // also kept below the process's descriptor limit (RLIMIT_NOFILE, raised to its hard limit at
  // start) less a reserve for files.
  size_t max_connections = 20000;
  size_t max_connections_per_client = 1000;
  int shutdown_grace_s = 20;  // how long stop() waits for requests in flight
  // HTTPS: PEM files of the certificate chain and its private key. Empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Proxies whose X-Forwarded-For names the client (Request::remote); none: the peer is.
  TrustedProxies trusted_proxies;
  // Called on an event-loop thread whenever it has run every ready handler, before it waits
  // for more; returns true when it did some work (the loop then runs what became ready and
  // calls again before waiting). Replies sent from it go out at once, as from a handler. A loop
  // that always has another handler ready would not call it: see Server::call_idle_within.
  std::function<bool()> idle;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the event-loop threads. InternalError when the address cannot be
  // bound or the TLS files cannot be used (the detail says why).
  Status start();
  // Reads the TLS files again: connections accepted from now on use them, open ones keep what
  // they have. When they cannot be used the old ones stay and the error says why. Any thread.
  Status reload_tls();
  bool tls() const;
  // The bound port (useful with port 0).
  uint16_t port() const;
  int threads() const;
  // Stops accepting, lets requests in flight finish and their responses be written (up to
  // shutdown_grace_s), closes idle connections, then stops the loops. Idempotent; any thread.
  void stop();
  // Blocks until the event-loop threads have ended.
  void wait();
  // On an event-loop thread of a server with an idle hook: makes sure the hook runs within
  // `delay`, even if the loop never runs out of ready handlers meanwhile (a timer that is
  // already set stays as it is). Elsewhere, nothing.
  static void call_idle_within(std::chrono::microseconds delay);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsunagu::http
