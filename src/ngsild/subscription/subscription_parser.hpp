// Reading a Subscription payload (ETSI GS CIM 009 §5.8.1 Create Subscription) and a
// SubscriptionFragment (§5.8.2 Update Subscription) into the model: every member checked, names
// expanded with the request's @context. The ETSI conformance suite
// (TP/NGSI-LD/ContextInformation/Subscription/) decides which faults are BadRequestData.
#pragma once

#include "common/json.hpp"
#include "common/status.hpp"
#include "common/time.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::ngsild::subscription {

// A Subscription from a create payload, its names expanded (and interned) with `ctx`, whose
// "@context" JSON text is kept as request_context. `now` judges expiresAt. The id is left empty
// when the payload gives none (the caller makes one, make_subscription_id()); createdAt and
// modifiedAt are left for the caller. BadRequestData naming the member and the fault: type not
// "Subscription", an unknown member, neither entities nor watchedAttributes, timeInterval with
// watchedAttributes, notificationTrigger or throttling, no notification or endpoint, an endpoint
// uri that is not absolute or not http/https/mqtt/mqtts, an expiresAt not in the future, a
// malformed q/geoQ/scopeQ/idPattern, attributes with pick or omit, one member in both pick and
// omit, showChanges with keyValues, a jsonldContext that is not a URI. Read-only members
// (status, createdAt, timesSent, ...) are ignored. Never fetches jsonldContext: that it can be
// loaded (LdContextNotAvailable otherwise) is the caller's check.
//
// `kind` kCsource reads a Context Source Registration subscription (§5.11.2): temporalQ is
// taken and csf parsed, and the members about entity content (notificationTrigger, datasetId,
// notification.showChanges, join, joinLevel) are BadRequestData.
Result<Subscription> parse_subscription(const JsonValue& body, const jsonld::Context& ctx,
                                        int64_t now = now_us(),
                                        SubscriptionKind kind = SubscriptionKind::kEntity);

// Applies a SubscriptionFragment to `s` (§5.8.2): each member given replaces the one held
// (notification as a whole), null removes an optional member, and the result is checked as a
// whole as a create would be, by the rules of the subscription's kind. id may only repeat the
// subscription's own, type only be "Subscription". On an error `s` is unchanged (BadRequestData, as
// parse_subscription). modifiedAt is left for the caller.
Status apply_subscription_patch(Subscription& s, const JsonValue& fragment,
                                const jsonld::Context& ctx, int64_t now = now_us());

// A TemporalQuery object (§5.2.21): timerel (required), timeAt, endTimeAt and timeproperty,
// checked as the URI parameters of a temporal query are. BadRequestData naming the member.
Result<temporal::TimeFilter> parse_temporal_q(const JsonValue& v);

}  // namespace tsunagu::ngsild::subscription
