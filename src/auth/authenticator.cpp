#include "auth/authenticator.hpp"

#include <strings.h>

namespace tsunagu::auth {

Status Authenticator::set_keys(std::string_view jwks_json) {
  auto keys = KeySet::parse(jwks_json);
  if (!keys.ok()) return keys.status();
  auto verifier = std::make_shared<const Verifier>(std::move(*keys), options_);
  std::lock_guard lock(mu_);
  verifier_ = std::move(verifier);
  passed_.clear();  // a key that is gone must not keep its tokens passing
  return Status::Ok();
}

bool Authenticator::has_keys() const {
  std::lock_guard lock(mu_);
  return verifier_ != nullptr;
}

Result<Claims> Authenticator::authenticate(std::string_view authorization, int64_t now_s) const {
  if (authorization.empty()) return Status(ErrorKind::kUnauthorized, "no bearer token was given");
  // "Bearer" in any case, then one or more spaces, then the token (RFC 9110 §11.4, RFC 6750).
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) != 0 ||
      authorization[kScheme.size()] != ' ') {
    return Status(ErrorKind::kUnauthorized, "the Authorization header is not a Bearer token");
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  std::shared_ptr<const Verifier> verifier;
  {
    std::lock_guard lock(mu_);
    verifier = verifier_;
    auto it = passed_.find(token);
    if (it != passed_.end()) {
      if (now_s < it->second.valid_until_s) return it->second.claims;
      passed_.erase(it);  // expired: checked again below, and refused
    }
  }
  if (!verifier) {
    return Status(ErrorKind::kUnauthorized,
                  "the bearer token cannot be checked: the issuer's keys are not available");
  }
  auto claims = verifier->verify(token, now_s);
  if (!claims.ok()) return claims;
  constexpr int64_t kWithoutExpiryS = 300;
  int64_t until =
      claims->expires != 0 ? claims->expires + options_.leeway_s : now_s + kWithoutExpiryS;
  std::lock_guard lock(mu_);
  if (verifier_ == verifier) {  // the keys were not read again meanwhile
    if (passed_.size() >= max_remembered_) passed_.clear();
    passed_.emplace(std::string(token), Remembered{*claims, until});
  }
  return claims;
}

}  // namespace tsunagu::auth
