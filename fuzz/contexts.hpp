// @contexts for the fuzz targets of NGSI-LD parsers: a DocumentLoader that never goes to the
// network, so remote references are resolved (and fail) without I/O.
#pragma once

#include <memory>
#include <string>

#include "ngsild/jsonld/context.hpp"

namespace tsunagu::fuzz {

// Fails every URL as the real loader fails an unreachable one (LdContextNotAvailable).
class NoNetworkLoader : public ngsild::jsonld::DocumentLoader {
 public:
  Result<std::string> load(const std::string& url, int) override {
    return Status(ErrorKind::kLdContextNotAvailable, "fuzz: no network for '" + url + "'");
  }
};

// A ContextCache with the server's default options and no network, made for the caller.
inline std::unique_ptr<ngsild::jsonld::ContextCache> offline_contexts() {
  return std::make_unique<ngsild::jsonld::ContextCache>(std::make_shared<NoNetworkLoader>(),
                                                        ngsild::jsonld::ContextCache::Options{});
}

}  // namespace tsunagu::fuzz
