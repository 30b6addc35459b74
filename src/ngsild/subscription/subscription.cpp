// Small helpers of the Subscription model: trigger names, status, fresh ids.
#include "ngsild/subscription/subscription.hpp"

#include "common/uri.hpp"

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

std::string make_subscription_id() {
  return random_urn("urn:ngsi-ld:Subscription:");
}

}  // namespace tsunagu::ngsild::subscription
