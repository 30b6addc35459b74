// Outbound HTTP/1.1 over plain TCP (http:// only), for notifications: one Boost.Asio thread keeps
// connections open per host:port and reuses them, writes each request with one write and parses
// the answers with Beast's parser, which is a small fraction of what libcurl spends on the same
// request (docs/benchmarks.md, S9). Requests of one `stream` are pipelined on one connection, so
// they reach the receiver in the order they were submitted while earlier ones are unanswered.
// It keeps HttpClient's guarantees: every request has a total timeout, connecting included, so
// a receiver that never answers, answers slowly or drips bytes holds its own requests until then
// and nothing else; at most `max_in_flight` requests are on connections at once, at most
// `max_queued` wait, and submit() refuses beyond that at once. https stays with HttpClient.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/client.hpp"
#include "http/message.hpp"

namespace tsunagu::http {

class Http1Client {
 public:
  struct Options {
    size_t max_in_flight = 512;  // also the most connections open at once, idle ones included
    size_t max_queued = 100000;
    int connect_timeout_ms = 3000;
    size_t max_response_bytes = 64 << 10;  // a response body beyond this is read and dropped
    int idle_timeout_ms = 30000;           // an unused connection is closed after this long
  };
  // HttpClient's request, with a URL of http://host[:port][/path][?query] only (anything else
  // fails at once) and a timeout that covers connecting and any resend.
  struct Request : HttpClient::Request {
    // Requests with the same non-empty stream go on one connection, in submit() order, the
    // later ones written before the earlier ones are answered (HTTP/1.1 pipelining, RFC 9112
    // §9.3.2). When that connection closes with some of them unanswered, those are sent again
    // on a new one, in order (a receiver may see one twice), or, when that cannot help (the
    // connection answered nothing twice, an answer broke off, one timed out), they fail from
    // the first unanswered one on, so that none overtakes an earlier one.
    std::string stream;
  };
  using Outcome = HttpClient::Outcome;
  // Runs on the client's thread: must only hand the outcome on.
  using Done = HttpClient::Done;

  explicit Http1Client(Options options);
  Http1Client() : Http1Client(Options{}) {}
  ~Http1Client();  // stop()s
  Http1Client(const Http1Client&) = delete;
  Http1Client& operator=(const Http1Client&) = delete;

  // Queues `r`; false (and `done` is not called) when the queue is full or the client stopped.
  // A URL or header it cannot send ends in `done` with an error.
  bool submit(Request r, Done done);
  // Ends every request still running or queued with the error "client stopped", closes every
  // connection and joins the thread. Idempotent; not from a Done.
  void stop();

  size_t queued() const;
  size_t in_flight() const;
  // Connections opened since start (a reused one is counted once).
  uint64_t connects() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace tsunagu::http
