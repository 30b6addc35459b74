// What every notification shares, whatever it tells of (entities, ETSI GS CIM 009 §5.3.1;
// Context Source Registrations, §5.3.2): its id, the @context it is compacted with, and the
// message Delivery sends (the endpoint's URL and media type, the Link, NGSILD-Tenant and
// receiverInfo headers, notifierInfo, the timeout). docs/subscriptions.md.
#pragma once

#include <string>

#include "engine/delivery.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::engine {

// A fresh notification id: "urn:ngsi-ld:Notification:" and 32 random hex digits.
std::string notification_id();

// The @context notifications of `s` are compacted with: its jsonldContext (§5.2.12) when that
// loads, else the creating request's, else the core context. May fetch (jsonldContext).
ngsild::jsonld::ContextPtr notification_context(ngsild::jsonld::ContextCache& contexts,
                                                const ngsild::subscription::Subscription& s);

// The message that sends `body`, a notification of `s` in `tenant` compacted with `ctx`: as
// Content-Type the endpoint's accept; a Link to `ctx` for application/json when it has a URL;
// NGSILD-Tenant outside the default tenant; then each receiverInfo pair (§5.2.15).
Delivery::Message notification_message(const ngsild::subscription::Subscription& s,
                                       const ngsild::jsonld::Context& ctx,
                                       const std::string& tenant, std::string body);

}  // namespace tsunagu::engine
