// The NGSI-LD Subscription (ETSI GS CIM 009 §5.2.12) with its NotificationParams (§5.2.14) and
// Endpoint (§5.2.15), as the parser builds it and the engine keeps it: names expanded, filters
// parsed, and the text of q and geoQ kept for rendering. One type serves both kinds of
// subscription: to entities (§5.8) and to Context Source Registrations (§5.11.2), whose rules
// differ in a few members (SubscriptionKind). The definition (Subscription) changes
// only by create and PATCH; what delivery learns (SubscriptionState) is kept apart so that the
// engine can update it without rewriting the definition.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/atom.hpp"
#include "common/time.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/geo/geoquery.hpp"
#include "ngsild/query/entity_query.hpp"
#include "ngsild/query/q.hpp"
#include "ngsild/query/selection.hpp"
#include "ngsild/temporal/temporal_request.hpp"

namespace tsunagu::ngsild::subscription {

// The notificationTrigger values (§5.2.12), as bits of a set.
enum class Trigger : uint8_t {
  kEntityCreated = 1,
  kEntityUpdated = 2,
  kEntityDeleted = 4,
  kAttributeCreated = 8,
  kAttributeUpdated = 16,
  kAttributeDeleted = 32,
};
using TriggerSet = uint8_t;
inline constexpr TriggerSet bit(Trigger t) {
  return static_cast<TriggerSet>(t);
}
// "If not present, the default is the combination attributeCreated and attributeUpdated".
inline constexpr TriggerSet kDefaultTriggers =
    bit(Trigger::kAttributeCreated) | bit(Trigger::kAttributeUpdated);
inline constexpr Trigger kAllTriggers[] = {Trigger::kEntityCreated,    Trigger::kEntityUpdated,
                                           Trigger::kEntityDeleted,    Trigger::kAttributeCreated,
                                           Trigger::kAttributeUpdated, Trigger::kAttributeDeleted};

// What a subscription is to: entities (/subscriptions, §5.8) or Context Source Registrations
// (/csourceSubscriptions, §5.11.2). The latter take temporalQ and a csf that is evaluated, and
// none of the members that describe entity content (notificationTrigger, datasetId,
// showChanges, join).
enum class SubscriptionKind : uint8_t { kEntity, kCsource };

// "entityCreated", ...; and back (nullopt for any other text).
std::string_view trigger_name(Trigger t);
std::optional<Trigger> trigger_from_name(std::string_view name);

// KeyValuePair (§5.2.22), for receiverInfo and notifierInfo.
struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// Endpoint (§5.2.15). Members left optional are those whose absence the renderer must keep.
struct Endpoint {
  std::string uri;                    // http, https, mqtt or mqtts
  std::optional<std::string> accept;  // default application/json
  std::optional<double> timeout_ms;
  std::optional<double> cooldown_ms;
  std::vector<KeyValue> receiver_info;
  std::vector<KeyValue> notifier_info;  // MQTT-Version, MQTT-QoS
  const std::string& effective_accept() const;
};

// One pick/omit item (§4.21): "id", "type", "scope", an attribute (expanded), or a linked
// entity projection kept as written ("locatedAt{name}").
struct Member {
  enum class Kind : unsigned char { kId, kType, kScope, kAttribute, kLinked } kind;
  Atom attribute;    // kAttribute
  std::string text;  // kLinked
  friend bool operator==(const Member&, const Member&) = default;
};

// NotificationParams (§5.2.14), the definition part.
struct NotificationParams {
  std::vector<Atom> attributes;  // deprecated "attributes"; exclusive with pick/omit
  std::vector<Member> pick;
  std::vector<Member> omit;
  std::optional<Format> format;  // default normalized
  std::optional<bool> sys_attrs;
  std::optional<bool> show_changes;
  std::optional<std::string> join;  // flat, inline, @none
  std::optional<int> join_level;
  Endpoint endpoint;
};

// A Subscription definition. Owned by its caller (the engine's registry); immutable once
// published, so any thread may read it.
struct Subscription {
  SubscriptionKind kind = SubscriptionKind::kEntity;
  std::string id;
  std::optional<std::string> name;  // subscriptionName
  std::optional<std::string> description;
  std::vector<query::EntitySelector> entities;
  std::vector<Atom> watched_attributes;
  std::optional<TriggerSet> notification_trigger;  // absent: kDefaultTriggers
  std::optional<double> time_interval_s;
  std::optional<query::Expr> q;
  std::string q_text;
  std::optional<geo::GeoQuery> geo_q;
  std::string geo_q_json;  // the geoQ object as given
  Atom geo_property;       // geo_q->geoproperty, expanded
  std::optional<query::ScopeQuery> scope_q;
  std::string scope_q_text;
  std::optional<std::string> csf;  // as given; evaluated (csf_q) for registration subscriptions
  std::optional<query::Expr> csf_q;
  // TemporalQuery (§5.2.21), registration subscriptions only: matched against registrations'
  // observationInterval or managementInterval. The object as given, for rendering.
  std::optional<temporal::TimeFilter> temporal_q;
  std::string temporal_q_json;
  std::optional<bool> local_only;
  std::optional<std::string> lang;
  std::optional<bool> is_active;  // default true
  int64_t expires_at = kNoTime;
  std::optional<double> throttling_s;
  std::vector<std::string> dataset_ids;  // URIs or "@none"
  std::optional<std::string> jsonld_context;
  // The @context of the creating request (JSON text of an "@context" member), for
  // notifications when jsonldContext is absent (§5.8.1, §5.11).
  std::string request_context;
  // The role of the caller who made it (docs/security.md, "Roles"): it is notified only of
  // entities that role may read, and only callers with that role see it. Empty: no role.
  std::string role;
  NotificationParams notification;

  int64_t created_at = kNoTime;
  int64_t modified_at = kNoTime;

  TriggerSet triggers() const { return notification_trigger.value_or(kDefaultTriggers); }
  bool active_flag() const { return is_active.value_or(true); }
  bool periodic() const { return time_interval_s.has_value(); }
};

// What delivery learned about a subscription (§5.2.14 timesSent ... lastSuccess). Owned and
// updated by the engine.
struct SubscriptionState {
  uint64_t times_sent = 0;
  uint64_t times_failed = 0;
  int64_t last_notification = kNoTime;
  int64_t last_success = kNoTime;
  int64_t last_failure = kNoTime;

  // An attempt leaves: every attempt counts as sent, a retry too.
  void attempted(int64_t now) {
    ++times_sent;
    last_notification = now;
  }
  // An attempt ended, delivered or not.
  void ended(bool ok, int64_t now) {
    if (ok) {
      last_success = now;
    } else {
      ++times_failed;
      last_failure = now;
    }
  }
};

// The subscription's status (§5.2.12): paused when isActive is false, expired once expiresAt
// has passed, active otherwise.
enum class SubscriptionStatus : unsigned char { kActive, kPaused, kExpired };
SubscriptionStatus status_of(const Subscription& s, int64_t now);
std::string_view status_name(SubscriptionStatus s);
// NotificationParams.status: "ok" or "failed" after the last attempt; nullopt before any.
std::optional<std::string_view> notification_status(const SubscriptionState& st);

// A fresh id for a subscription created without one: "urn:ngsi-ld:Subscription:" and 32 random
// hex digits.
std::string make_subscription_id();

}  // namespace tsunagu::ngsild::subscription
