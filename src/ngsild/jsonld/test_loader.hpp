// A DocumentLoader for tests: serves documents from a map, counts loads per URL, and fails on
// demand. Shared by the jsonld tests.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "ngsild/jsonld/context.hpp"

namespace tsunagu::ngsild::jsonld {

// Serves documents from a map and counts loads per URL; unknown URLs fail as a real loader must
// (LdContextNotAvailable). Thread-safe.
class FakeLoader : public DocumentLoader {
 public:
  Result<std::string> load(const std::string& url, int timeout_ms) override {
    std::lock_guard lock(mu_);
    ++loads_[url];
    ++total_;
    last_timeout_ms_ = timeout_ms;
    auto f = failures_.find(url);
    if (f != failures_.end() && f->second > 0) {
      --f->second;
      return Status(ErrorKind::kLdContextNotAvailable, "fake: '" + url + "' unreachable");
    }
    auto it = docs_.find(url);
    if (it == docs_.end()) {
      return Status(ErrorKind::kLdContextNotAvailable, "fake: '" + url + "' not found (404)");
    }
    return it->second;
  }

  void serve(const std::string& url, std::string doc) {
    std::lock_guard lock(mu_);
    docs_[url] = std::move(doc);
  }
  // The next `times` loads of `url` fail.
  void fail(const std::string& url, int times) {
    std::lock_guard lock(mu_);
    failures_[url] = times;
  }
  int loads(const std::string& url) {
    std::lock_guard lock(mu_);
    return loads_[url];
  }
  int total() {
    std::lock_guard lock(mu_);
    return total_;
  }
  int last_timeout_ms() {
    std::lock_guard lock(mu_);
    return last_timeout_ms_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> docs_;
  std::map<std::string, int> failures_;
  std::map<std::string, int> loads_;
  int total_ = 0;
  int last_timeout_ms_ = 0;
};

}  // namespace tsunagu::ngsild::jsonld
