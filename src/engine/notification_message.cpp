// The parts of a notification that do not depend on what it tells of (notification_message.hpp).
#include "engine/notification_message.hpp"

#include <algorithm>

#include "common/json.hpp"
#include "common/uri.hpp"

namespace tsunagu::engine {

namespace sub = ngsild::subscription;

std::string notification_id() {
  return random_urn("urn:ngsi-ld:Notification:");
}

ngsild::jsonld::ContextPtr notification_context(ngsild::jsonld::ContextCache& contexts,
                                                const sub::Subscription& s) {
  if (s.jsonld_context) {
    auto c = contexts.from_url(*s.jsonld_context);
    if (c.ok()) return *c;
  }
  JsonDoc doc;
  if (!s.request_context.empty() && parse_json(s.request_context, doc).ok()) {
    auto c = contexts.from_json(doc);
    if (c.ok()) return *c;
  }
  return contexts.core();
}

Delivery::Message notification_message(const sub::Subscription& s,
                                       const ngsild::jsonld::Context& ctx,
                                       const std::string& tenant, std::string body) {
  const sub::Endpoint& endpoint = s.notification.endpoint;
  const std::string& accept = endpoint.effective_accept();
  Delivery::Message m;
  m.url = endpoint.uri;
  m.pace_group = tenant;
  m.body = std::move(body);
  m.headers.push_back({"Content-Type", accept});
  // application/ld+json and GeoJSON bodies carry their @context themselves.
  if (accept == "application/json" && !ctx.link_url().empty()) {
    m.headers.push_back({"Link", "<" + ctx.link_url() +
                                     ">; rel=\"http://www.w3.org/ns/json-ld#context\"; "
                                     "type=\"application/ld+json\""});
  }
  if (!tenant.empty()) m.headers.push_back({"NGSILD-Tenant", tenant});
  for (const auto& kv : endpoint.receiver_info)
    m.headers.push_back({kv.key, kv.value});
  for (const auto& kv : endpoint.notifier_info)
    m.notifier_info.push_back({kv.key, kv.value});
  if (endpoint.timeout_ms) m.timeout_ms = static_cast<int>(std::max(1.0, *endpoint.timeout_ms));
  return m;
}

}  // namespace tsunagu::engine
