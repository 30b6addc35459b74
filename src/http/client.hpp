// Outbound HTTP requests that never block their caller: a thread of its own drives libcurl's
// multi interface, which keeps connections open per host and reuses them. Every request has a
// total timeout, so a receiver that never answers, answers slowly or drips bytes holds one
// transfer slot until then and nothing else. Bounded: at most `max_in_flight` transfers run at
// once, at most `max_queued` wait, and submit() refuses beyond that at once. No NGSI-LD here:
// notifications (engine/) are handed to it by app/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace tsunagu::http {

class HttpClient {
 public:
  struct Options {
    size_t max_in_flight = 512;
    size_t max_queued = 100000;
    int connect_timeout_ms = 3000;
    size_t max_response_bytes = 64 << 10;  // a response body beyond this is cut off (not kept)
    std::string ca_file;  // https: PEM file of the CA certificates to trust; empty: libcurl's
  };
  struct Request {
    std::string url;  // http or https; nothing else is fetched, redirects are not followed
    std::string method = "POST";
    std::vector<Header> headers;
    std::string body;
    int timeout_ms = 10000;  // the whole transfer, connecting included
  };
  struct Outcome {
    int status = 0;     // the response's status; 0 when none arrived
    std::string error;  // why none arrived (timeout, refused, name unknown...); empty otherwise
    std::string body;   // the response body, up to Options::max_response_bytes
    int64_t micros = 0;
    bool ok() const { return error.empty() && status >= 200 && status < 300; }
  };
  // Runs on the client's thread: must only hand the outcome on.
  using Done = std::function<void(Outcome&&)>;

  explicit HttpClient(Options options);
  HttpClient() : HttpClient(Options{}) {}
  ~HttpClient();  // stop()s
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Queues `r`; false (and `done` is not called) when the queue is full or the client stopped.
  bool submit(Request r, Done done);
  // Ends every transfer still running or queued with the error "client stopped", then joins
  // the thread. Idempotent.
  void stop();

  size_t queued() const;
  size_t in_flight() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace tsunagu::http
