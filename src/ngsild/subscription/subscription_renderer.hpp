// A Subscription as Retrieve Subscription and Query Subscriptions return it (ETSI GS CIM 009
// §5.8.3, §5.8.4): the members the client gave, names compacted with the request's @context, q
// and geoQ as written, plus what the system holds (status, notification statistics, and
// createdAt/modifiedAt when sysAttrs is asked, §5.2.12 / §6.3.11).
#pragma once

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::ngsild::subscription {

struct SubscriptionRenderOptions {
  bool sys_attrs = false;     // options=sysAttrs: createdAt and modifiedAt
  bool with_context = false;  // application/ld+json: an "@context" member from `ctx`
  int64_t now = kNoTime;      // judges expiresAt for status; kNoTime: now_us()
};

// Writes one Subscription object. Defaults the client did not give (isActive, format, accept,
// sysAttrs, showChanges) stay out, except notificationTrigger, which an entity subscription
// always shows (its default applies). No errors.
void render_subscription(const Subscription& s, const SubscriptionState& st,
                         const jsonld::Context& ctx, JsonWriter& w,
                         const SubscriptionRenderOptions& o = {});

// The text of a type selection with its names compacted with `ctx` ("Building",
// "(Home;Vehicle),Motorhome").
std::string type_selection_text(const query::TypeSelection& t, const jsonld::Context& ctx);

}  // namespace tsunagu::ngsild::subscription
