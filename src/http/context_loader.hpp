// Outbound HTTP for remote JSON-LD @context documents (libcurl): http(s) only, a total timeout,
// a size cap, redirects followed a few times. Blocking: callers run it off the event loops.
#pragma once

#include <cstddef>

#include "ngsild/jsonld/context.hpp"

namespace tsunagu::http {

class CurlContextLoader final : public ngsild::jsonld::DocumentLoader {
 public:
  explicit CurlContextLoader(size_t max_bytes = 4 << 20);
  ~CurlContextLoader() override;
  Result<std::string> load(const std::string& url, int timeout_ms) override;

 private:
  size_t max_bytes_;
};

}  // namespace tsunagu::http
