#include "http/context_loader.hpp"

#include <curl/curl.h>

#include <mutex>

namespace tsunagu::http {
namespace {

struct Sink {
  std::string body;
  size_t max;
  bool too_large = false;
};

size_t on_data(char* ptr, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (s->body.size() + bytes > s->max) {
    s->too_large = true;
    return 0;  // aborts the transfer
  }
  s->body.append(ptr, bytes);
  return bytes;
}

Status unavailable(const std::string& url, const std::string& why) {
  return Status(ErrorKind::kLdContextNotAvailable, "cannot load @context '" + url + "': " + why);
}

}  // namespace

CurlContextLoader::CurlContextLoader(size_t max_bytes) : max_bytes_(max_bytes) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlContextLoader::~CurlContextLoader() = default;

Result<std::string> CurlContextLoader::load(const std::string& url, int timeout_ms) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return unavailable(url, "cannot start an HTTP client");
  Sink sink{{}, max_bytes_};
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/ld+json, application/json;q=0.9");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "tsunagu");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (sink.too_large) {
    return unavailable(url, "larger than " + std::to_string(max_bytes_) + " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return unavailable(url, "no answer within " + std::to_string(timeout_ms) + " ms");
  }
  if (rc != CURLE_OK) return unavailable(url, curl_easy_strerror(rc));
  if (status < 200 || status > 299) {
    return unavailable(url, "the server answered HTTP " + std::to_string(status));
  }
  return std::move(sink.body);
}

}  // namespace tsunagu::http
