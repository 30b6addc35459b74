// The Subscription back to JSON for GET /subscriptions (§5.8.3, §5.8.4). Members appear in the
// order of the §5.2.12 table; names are compacted with the request's @context so that a client
// reading with the @context it wrote with gets back the names it wrote (suite 029_05).
#include "ngsild/subscription/subscription_renderer.hpp"

#include <re2/re2.h>

namespace tsunagu::ngsild::subscription {
namespace {

void datetime_member(JsonWriter& w, std::string_view key, int64_t us) {
  if (us == kNoTime) return;
  char buf[kDatetimeChars];
  size_t n = write_datetime(us, buf);
  w.plain_key(key);
  w.plain_string(std::string_view(buf, n));
}

void key_values(JsonWriter& w, std::string_view key, const std::vector<KeyValue>& kvs) {
  if (kvs.empty()) return;
  w.plain_key(key);
  w.begin_array();
  for (const auto& kv : kvs) {
    w.begin_object();
    w.plain_key("key");
    w.string(kv.key);
    w.plain_key("value");
    w.string(kv.value);
    w.end_object();
  }
  w.end_array();
}

void names(JsonWriter& w, std::string_view key, const std::vector<Atom>& atoms,
           const jsonld::Context& ctx) {
  if (atoms.empty()) return;
  w.plain_key(key);
  w.begin_array();
  for (Atom a : atoms)
    w.string(ctx.compact(a));
  w.end_array();
}

void members(JsonWriter& w, std::string_view key, const std::vector<Member>& ms,
             const jsonld::Context& ctx) {
  if (ms.empty()) return;
  w.plain_key(key);
  w.begin_array();
  for (const auto& m : ms) {
    switch (m.kind) {
      case Member::Kind::kId:
        w.plain_string("id");
        break;
      case Member::Kind::kType:
        w.plain_string("type");
        break;
      case Member::Kind::kScope:
        w.plain_string("scope");
        break;
      case Member::Kind::kAttribute:
        w.string(ctx.compact(m.attribute));
        break;
      case Member::Kind::kLinked:
        w.string(m.text);
        break;
    }
  }
  w.end_array();
}

std::string_view format_name(Format f) {
  switch (f) {
    case Format::kNormalized:
      return "normalized";
    case Format::kConcise:
      return "concise";
    case Format::kKeyValues:
      return "keyValues";
  }
  return "";
}

void endpoint(JsonWriter& w, const Endpoint& e) {
  w.plain_key("endpoint");
  w.begin_object();
  w.plain_key("uri");
  w.string(e.uri);
  if (e.accept) {
    w.plain_key("accept");
    w.string(*e.accept);
  }
  if (e.timeout_ms) {
    w.plain_key("timeout");
    w.number(*e.timeout_ms);
  }
  if (e.cooldown_ms) {
    w.plain_key("cooldown");
    w.number(*e.cooldown_ms);
  }
  key_values(w, "receiverInfo", e.receiver_info);
  key_values(w, "notifierInfo", e.notifier_info);
  w.end_object();
}

void notification(JsonWriter& w, const NotificationParams& n, const SubscriptionState& st,
                  const jsonld::Context& ctx) {
  w.plain_key("notification");
  w.begin_object();
  names(w, "attributes", n.attributes, ctx);
  members(w, "pick", n.pick, ctx);
  members(w, "omit", n.omit, ctx);
  if (n.format) {
    w.plain_key("format");
    w.plain_string(format_name(*n.format));
  }
  if (n.sys_attrs) {
    w.plain_key("sysAttrs");
    w.boolean(*n.sys_attrs);
  }
  if (n.show_changes) {
    w.plain_key("showChanges");
    w.boolean(*n.show_changes);
  }
  if (n.join) {
    w.plain_key("join");
    w.string(*n.join);
  }
  if (n.join_level) {
    w.plain_key("joinLevel");
    w.number(static_cast<int64_t>(*n.join_level));
  }
  endpoint(w, n.endpoint);
  // The statistics of §5.2.14 are shown once there is something to show: timesSent and
  // timesFailed have a minimum of 1 in the OpenAPI, and status names the last attempt.
  if (auto status = notification_status(st)) {
    w.plain_key("status");
    w.plain_string(*status);
  }
  if (st.times_sent > 0) {
    w.plain_key("timesSent");
    w.number(static_cast<int64_t>(st.times_sent));
  }
  if (st.times_failed > 0) {
    w.plain_key("timesFailed");
    w.number(static_cast<int64_t>(st.times_failed));
  }
  datetime_member(w, "lastNotification", st.last_notification);
  datetime_member(w, "lastFailure", st.last_failure);
  datetime_member(w, "lastSuccess", st.last_success);
  w.end_object();
}

void optional_string(JsonWriter& w, std::string_view key, const std::optional<std::string>& v) {
  if (!v) return;
  w.plain_key(key);
  w.string(*v);
}

}  // namespace

std::string type_selection_text(const query::TypeSelection& t, const jsonld::Context& ctx) {
  if (t.any) return "*";
  std::string out;
  for (const auto& g : t.groups) {
    if (!out.empty()) out += ',';
    bool paren = g.size() > 1 && t.groups.size() > 1;
    if (paren) out += '(';
    for (size_t i = 0; i < g.size(); ++i) {
      if (i > 0) out += ';';
      out += ctx.compact(g[i]);
    }
    if (paren) out += ')';
  }
  return out;
}

void render_subscription(const Subscription& s, const SubscriptionState& st,
                         const jsonld::Context& ctx, JsonWriter& w,
                         const SubscriptionRenderOptions& o) {
  int64_t now = o.now == kNoTime ? now_us() : o.now;
  w.begin_object();
  w.plain_key("id");
  w.string(s.id);
  w.plain_key("type");
  w.plain_string("Subscription");
  optional_string(w, "subscriptionName", s.name);
  optional_string(w, "description", s.description);
  if (!s.entities.empty()) {
    w.plain_key("entities");
    w.begin_array();
    for (const auto& e : s.entities) {
      w.begin_object();
      if (e.id) {
        w.plain_key("id");
        w.string(*e.id);
      }
      if (e.id_pattern) {
        w.plain_key("idPattern");
        w.string(e.id_pattern->pattern());
      }
      if (e.types) {
        w.plain_key("type");
        w.string(type_selection_text(*e.types, ctx));
      }
      w.end_object();
    }
    w.end_array();
  }
  names(w, "watchedAttributes", s.watched_attributes, ctx);
  // Shown for periodic subscriptions too: the default applies to every entity subscription
  // (§5.2.12); a registration subscription has none.
  if (s.kind == SubscriptionKind::kEntity) {
    w.plain_key("notificationTrigger");
    w.begin_array();
    for (Trigger t : kAllTriggers) {
      if (s.triggers() & bit(t)) w.plain_string(trigger_name(t));
    }
    w.end_array();
  }
  if (s.time_interval_s) {
    w.plain_key("timeInterval");
    w.number(*s.time_interval_s);
  }
  if (s.q) {
    w.plain_key("q");
    w.string(s.q_text);
  }
  if (s.geo_q) {
    w.plain_key("geoQ");
    w.raw(s.geo_q_json);
  }
  if (s.scope_q) {
    w.plain_key("scopeQ");
    w.string(s.scope_q_text);
  }
  optional_string(w, "csf", s.csf);
  if (s.temporal_q) {
    w.plain_key("temporalQ");
    w.raw(s.temporal_q_json);
  }
  if (s.local_only) {
    w.plain_key("localOnly");
    w.boolean(*s.local_only);
  }
  optional_string(w, "lang", s.lang);
  if (s.is_active) {
    w.plain_key("isActive");
    w.boolean(*s.is_active);
  }
  datetime_member(w, "expiresAt", s.expires_at);
  if (s.throttling_s) {
    w.plain_key("throttling");
    w.number(*s.throttling_s);
  }
  if (!s.dataset_ids.empty()) {
    w.plain_key("datasetId");
    w.begin_array();
    for (const auto& d : s.dataset_ids)
      w.string(d);
    w.end_array();
  }
  optional_string(w, "jsonldContext", s.jsonld_context);
  notification(w, s.notification, st, ctx);
  w.plain_key("status");
  w.plain_string(status_name(status_of(s, now)));
  if (o.sys_attrs) {
    datetime_member(w, "createdAt", s.created_at);
    datetime_member(w, "modifiedAt", s.modified_at);
  }
  if (o.with_context) {
    w.plain_key("@context");
    w.raw(ctx.body_json());
  }
  w.end_object();
}

}  // namespace tsunagu::ngsild::subscription
