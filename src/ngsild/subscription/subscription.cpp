// Small helpers of the Subscription model: trigger names, status, fresh ids.
#include "ngsild/subscription/subscription.hpp"

#include <random>

namespace tsunagu::ngsild::subscription {

std::string_view trigger_name(Trigger t) {
  switch (t) {
    case Trigger::kEntityCreated:
      return "entityCreated";
    case Trigger::kEntityUpdated:
      return "entityUpdated";
    case Trigger::kEntityDeleted:
      return "entityDeleted";
    case Trigger::kAttributeCreated:
      return "attributeCreated";
    case Trigger::kAttributeUpdated:
      return "attributeUpdated";
    case Trigger::kAttributeDeleted:
      return "attributeDeleted";
  }
  return "";
}

std::optional<Trigger> trigger_from_name(std::string_view name) {
  for (Trigger t : kAllTriggers) {
    if (trigger_name(t) == name) return t;
  }
  return std::nullopt;
}

const std::string& Endpoint::effective_accept() const {
  static const std::string kJson = "application/json";
  return accept ? *accept : kJson;
}

SubscriptionStatus status_of(const Subscription& s, int64_t now) {
  if (!s.active_flag()) return SubscriptionStatus::kPaused;
  if (s.expires_at != kNoTime && s.expires_at <= now) return SubscriptionStatus::kExpired;
  return SubscriptionStatus::kActive;
}

std::string_view status_name(SubscriptionStatus s) {
  switch (s) {
    case SubscriptionStatus::kActive:
      return "active";
    case SubscriptionStatus::kPaused:
      return "paused";
    case SubscriptionStatus::kExpired:
      return "expired";
  }
  return "";
}

std::optional<std::string_view> notification_status(const SubscriptionState& st) {
  if (st.last_success == kNoTime && st.last_failure == kNoTime) return std::nullopt;
  return st.last_failure != kNoTime && st.last_failure >= st.last_success ? "failed" : "ok";
}

std::string make_urn(std::string_view prefix) {
  // A thread's own generator, seeded once from the OS: ids need to be unlikely to collide, not
  // unguessable (the store refuses a duplicate with AlreadyExists anyway).
  thread_local std::mt19937_64 gen{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  for (int half = 0; half < 2; ++half) {
    uint64_t r = gen();
    for (int i = 0; i < 16; ++i, r >>= 4)
      id.push_back(kHex[r & 15]);
  }
  return id;
}

std::string make_subscription_id() {
  return make_urn("urn:ngsi-ld:Subscription:");
}

}  // namespace tsunagu::ngsild::subscription
