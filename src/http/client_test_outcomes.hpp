// For the outbound clients' tests (client_test.cpp, http1_client_test.cpp): collects the
// outcomes their threads hand back, and waits for them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "http/client.hpp"

namespace tsunagu::http {

class Outcomes {
 public:
  HttpClient::Done add() {
    return [this](HttpClient::Outcome&& o) {
      std::lock_guard lock(mu_);
      all_.push_back(std::move(o));
      cv_.notify_all();
    };
  }
  // Waits until `n` outcomes arrived (or 20 s passed) and returns them.
  std::vector<HttpClient::Outcome> wait(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(20), [&] { return all_.size() >= n; });
    return all_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpClient::Outcome> all_;
};

}  // namespace tsunagu::http
