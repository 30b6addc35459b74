#include "http/client.hpp"

#include <curl/curl.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "common/metrics.hpp"
#include "common/time.hpp"

namespace tsunagu::http {
namespace {

metrics::Counter& outcomes(const char* result) {
  static auto& family = metrics::registry().counter(
      "tsunagu_http_client_requests_total",
      "Outbound HTTP requests (notifications), by result: ok (2xx), status (another status), "
      "failed (no response: refused, timeout...), refused_full (queue full, never sent)",
      {"result"});
  return family.with({result});
}

}  // namespace

struct HttpClient::State {
  struct Transfer {
    Request req;
    Done done;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    Outcome out;
    int64_t start_us = 0;
    size_t max_body = 0;
    char error[CURL_ERROR_SIZE] = {};
  };

  explicit State(Options o) : options(o) {}

  static size_t write_body(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t bytes = size * n;
    size_t room = t->max_body - std::min(t->max_body, t->out.body.size());
    t->out.body.append(data, std::min(room, bytes));
    return bytes;  // the rest is read and dropped, so the connection stays usable
  }

  void start(std::unique_ptr<Transfer> t) {
    CURL* e = nullptr;
    if (spare.empty()) {
      e = curl_easy_init();
    } else {
      e = spare.back();
      spare.pop_back();
    }
    t->easy = e;
    t->start_us = steady_us();
    t->max_body = options.max_response_bytes;
    curl_easy_setopt(e, CURLOPT_URL, t->req.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t->req.timeout_ms));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(t->req.timeout_ms, options.connect_timeout_ms)));
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    if (!options.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &State::write_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    if (t->req.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
    } else if (t->req.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->req.method.c_str());
    }
    if (t->req.method != "GET") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->req.body.size()));
    }
    // No "Expect: 100-continue": a receiver that ignores it would cost a second per request.
    t->headers = curl_slist_append(t->headers, "Expect:");
    for (const auto& h : t->req.headers) {
      std::string line = h.name + ": " + h.value;
      t->headers = curl_slist_append(t->headers, line.c_str());
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_multi_add_handle(multi, e);
    active.insert(e);
    in_flight.fetch_add(1, std::memory_order_relaxed);
    t.release();  // owned through CURLOPT_PRIVATE until finish()
  }

  // Ends `e`'s transfer with `code` and calls its callback.
  void finish(CURL* e, CURLcode code) {
    Transfer* raw = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &raw);
    std::unique_ptr<Transfer> t(raw);
    curl_multi_remove_handle(multi, e);
    active.erase(e);
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      t->out.status = static_cast<int>(status);
    } else {
      t->out.error = t->error[0] != '\0' ? t->error : curl_easy_strerror(code);
    }
    t->out.micros = steady_us() - t->start_us;
    curl_slist_free_all(t->headers);
    // Kept for the next transfer: a fresh handle costs dozens of allocations (its buffers,
    // its URL, its state), a reset one none.
    if (spare.size() < options.max_in_flight) {
      curl_easy_reset(e);
      spare.push_back(e);
    } else {
      curl_easy_cleanup(e);
    }
    outcomes(!t->out.error.empty() ? "failed" : t->out.ok() ? "ok" : "status").inc();
    t->done(std::move(t->out));
  }

  void loop() {
    while (true) {
      std::deque<std::unique_ptr<Transfer>> ready;
      {
        std::lock_guard lock(mu);
        if (stopping) break;
        while (!queue.empty() &&
               in_flight.load(std::memory_order_relaxed) + ready.size() < options.max_in_flight) {
          ready.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        queued.store(queue.size(), std::memory_order_relaxed);
      }
      for (auto& t : ready)
        start(std::move(t));
      int running = 0;
      curl_multi_perform(multi, &running);
      while (true) {
        int left = 0;
        CURLMsg* m = curl_multi_info_read(multi, &left);
        if (m == nullptr) break;
        if (m->msg == CURLMSG_DONE) finish(m->easy_handle, m->data.result);
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    // Stopped: nothing more is sent; whoever waits learns so.
    std::deque<std::unique_ptr<Transfer>> left;
    {
      std::lock_guard lock(mu);
      left.swap(queue);
      queued.store(0, std::memory_order_relaxed);
    }
    for (auto& t : left) {
      t->out.error = "client stopped";
      t->done(std::move(t->out));
    }
    while (!active.empty()) {
      CURL* e = *active.begin();
      Transfer* raw = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &raw);
      std::snprintf(raw->error, sizeof raw->error, "client stopped");
      finish(e, CURLE_ABORTED_BY_CALLBACK);
    }
  }

  Options options;
  CURLM* multi = nullptr;
  std::mutex mu;
  std::deque<std::unique_ptr<Transfer>> queue;
  std::atomic<size_t> queued{0};
  std::atomic<size_t> in_flight{0};
  std::unordered_set<CURL*> active;  // the loop thread's only
  std::vector<CURL*> spare;          // finished handles, reset, for the next transfers
  bool stopping = false;
  bool stopped = false;
  std::thread thread;
};

HttpClient::HttpClient(Options options) : s_(std::make_unique<State>(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  s_->multi = curl_multi_init();
  curl_multi_setopt(s_->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    static_cast<long>(options.max_in_flight));
  // Keep as many idle connections as may be busy at once. Left alone, libcurl sizes its cache
  // to four times the transfers running at the moment, and since each transfer has its own
  // short-lived handle, every lull closed connections that the next burst opened again: one
  // new connection per five notifications under load (bench/: S9).
  curl_multi_setopt(s_->multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.max_in_flight));
  s_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "tsunagu-client");  // as top -H and perf show it
    s_->loop();
  });
}

HttpClient::~HttpClient() {
  stop();
  for (CURL* e : s_->spare)
    curl_easy_cleanup(e);
  curl_multi_cleanup(s_->multi);
}

bool HttpClient::submit(Request r, Done done) {
  {
    std::lock_guard lock(s_->mu);
    if (s_->stopping || s_->queue.size() >= s_->options.max_queued) {
      outcomes("refused_full").inc();
      return false;
    }
    auto t = std::make_unique<State::Transfer>();
    t->req = std::move(r);
    t->done = std::move(done);
    s_->queue.push_back(std::move(t));
    s_->queued.store(s_->queue.size(), std::memory_order_relaxed);
  }
  curl_multi_wakeup(s_->multi);
  return true;
}

void HttpClient::stop() {
  {
    std::lock_guard lock(s_->mu);
    if (s_->stopped) return;
    s_->stopping = s_->stopped = true;
  }
  curl_multi_wakeup(s_->multi);
  if (s_->thread.joinable()) s_->thread.join();
}

size_t HttpClient::queued() const {
  return s_->queued.load(std::memory_order_relaxed);
}

size_t HttpClient::in_flight() const {
  return s_->in_flight.load(std::memory_order_relaxed);
}

}  // namespace tsunagu::http
