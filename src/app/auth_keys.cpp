#include "app/auth_keys.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/json.hpp"
#include "common/log.hpp"
#include "http/context_loader.hpp"

namespace tsunagu::app {
namespace {

constexpr int kFetchTimeoutMs = 5000;
constexpr size_t kMaxDocumentBytes = 1 << 20;

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidRequest("cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

IssuerKeys::IssuerKeys(auth::Authenticator& auth, std::string issuer, std::string jwks_file,
                       int refresh_s)
    : auth_(auth),
      issuer_(std::move(issuer)),
      jwks_file_(std::move(jwks_file)),
      refresh_s_(refresh_s) {}

IssuerKeys::~IssuerKeys() {
  stop();
}

Result<std::string> IssuerKeys::fetch_from_issuer() const {
  // The operator names the issuer, which is usually inside the city's network: no fetch policy
  // beyond http(s), a timeout and a size cap.
  http::CurlContextLoader loader(http::FetchPolicy{{}, true}, kMaxDocumentBytes);
  std::string base = issuer_;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  auto discovery = loader.load(base + "/.well-known/openid-configuration", kFetchTimeoutMs);
  if (!discovery.ok()) return Status::InvalidRequest("the discovery document could not be fetched");
  JsonDoc doc;
  if (!parse_json(*discovery, doc).ok() || !doc.IsObject())
    return Status::InvalidRequest("the discovery document is not a JSON object");
  // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
  auto iss = doc.FindMember("issuer");
  if (iss == doc.MemberEnd() || !iss->value.IsString() || iss->value.GetString() != issuer_)
    return Status::InvalidRequest("the discovery document names another issuer");
  auto uri = doc.FindMember("jwks_uri");
  if (uri == doc.MemberEnd() || !uri->value.IsString())
    return Status::InvalidRequest("the discovery document has no jwks_uri");
  auto keys = loader.load(uri->value.GetString(), kFetchTimeoutMs);
  if (!keys.ok()) return Status::InvalidRequest("the JWK Set could not be fetched");
  return std::move(*keys);
}

Status IssuerKeys::load() {
  std::string why;
  if (!issuer_.empty()) {
    auto keys = fetch_from_issuer();
    Status st = keys.ok() ? auth_.set_keys(*keys) : keys.status();
    if (st.ok()) {
      log::info("auth_keys_loaded", {{"source", issuer_}});
      return st;
    }
    log::warn("auth_keys_not_loaded", {{"source", issuer_}, {"detail", st.detail()}});
    why = issuer_ + ": " + st.detail();
  }
  if (!jwks_file_.empty()) {
    auto text = read_file(jwks_file_);
    Status st = text.ok() ? auth_.set_keys(*text) : text.status();
    if (st.ok()) {
      log::info("auth_keys_loaded", {{"source", jwks_file_}});
      return st;
    }
    log::warn("auth_keys_not_loaded", {{"source", jwks_file_}, {"detail", st.detail()}});
    why += (why.empty() ? "" : "; ") + jwks_file_ + ": " + st.detail();
  }
  return Status::InvalidRequest("no signing keys could be read (" + why + ")");
}

void IssuerKeys::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    // Without keys yet (the issuer was down at start), try again soon.
    auto period = [this] {
      return std::chrono::seconds(auth_.has_keys() ? refresh_s_ : std::min(refresh_s_, 10));
    };
    while (!cv_.wait_for(lock, period(), [this] { return stopping_; })) {
      lock.unlock();
      (void)load();  // a failure keeps the keys in use and is logged
      lock.lock();
    }
  });
}

void IssuerKeys::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tsunagu::app
