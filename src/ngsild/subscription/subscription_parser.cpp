// Create Subscription (ETSI GS CIM 009 §5.8.1) and Update Subscription (§5.8.2) payloads into the
// model. Each member is read on its own (read_member), then the whole is checked (check_whole):
// a PATCH changes members one by one and must leave a subscription a create would accept.
#include "ngsild/subscription/subscription_parser.hpp"

#include <algorithm>
#include <cmath>

#include "common/uri.hpp"
#include "ngsild/format/representation.hpp"
#include "ngsild/query/query_request.hpp"

namespace tsunagu::ngsild::subscription {
namespace {

std::string str(const JsonValue& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

Status bad(const std::string& detail) {
  return Status::BadRequestData(detail);
}

Result<std::string> string_member(std::string_view name, const JsonValue& v) {
  if (!v.IsString()) return bad(std::string(name) + ": must be a string");
  return str(v);
}

Result<bool> bool_member(std::string_view name, const JsonValue& v) {
  if (!v.IsBool()) return bad(std::string(name) + ": must be true or false");
  return v.GetBool();
}

// A number of seconds or milliseconds; the OpenAPI gives each a minimum of 1.
Result<double> positive_number(std::string_view name, const JsonValue& v) {
  if (!v.IsNumber()) return bad(std::string(name) + ": must be a number");
  double d = v.GetDouble();
  if (!std::isfinite(d) || d < 1) {
    return bad(std::string(name) + ": " + json_text(v) + " is not a number of at least 1");
  }
  return d;
}

Result<std::vector<std::string>> string_array(std::string_view name, const JsonValue& v) {
  if (!v.IsArray() || v.Empty()) return bad(std::string(name) + ": must be a non-empty array");
  std::vector<std::string> out;
  for (const auto& e : v.GetArray()) {
    if (!e.IsString()) return bad(std::string(name) + ": each item must be a string");
    out.push_back(str(e));
  }
  return out;
}

Result<std::vector<Atom>> names_member(std::string_view name, const JsonValue& v,
                                       const jsonld::Context& ctx) {
  auto items = string_array(name, v);
  if (!items.ok()) return items.status();
  std::vector<Atom> out;
  for (const auto& n : *items) {
    if (!valid_name(n)) return bad(std::string(name) + ": '" + n + "' is not an attribute name");
    out.push_back(ctx.expand(n));  // kept and matched against later writes: interned
  }
  return out;
}

// EntitySelector (§5.2.33): type required; id and idPattern optional.
Result<std::vector<query::EntitySelector>> read_entities(const JsonValue& v,
                                                         const jsonld::Context& ctx) {
  if (!v.IsArray() || v.Empty()) {
    return bad("entities: must be a non-empty array of EntitySelectors");
  }
  std::vector<query::EntitySelector> out;
  for (const auto& s : v.GetArray()) {
    if (!s.IsObject()) return bad("entities: each item must be an object");
    query::EntitySelector sel;
    for (const auto& f : s.GetObject()) {
      std::string key = str(f.name);
      if (!f.value.IsString()) return bad("entities[]." + key + ": must be a string");
      std::string text = str(f.value);
      if (key == "id") {
        if (!is_absolute_uri(text)) return bad("entities[].id: '" + text + "' is not a URI");
        sel.id = text;
      } else if (key == "idPattern") {
        auto re = query::compile_id_pattern(text, "entities[].idPattern");
        if (!re.ok()) return re.status();
        sel.id_pattern = std::move(*re);
      } else if (key == "type") {
        auto t = query::parse_type_selection(text, ctx, true);
        if (!t.ok()) return bad("entities[]." + t.status().detail());
        sel.types = std::move(*t);
      } else {
        return bad("entities[]: unknown member '" + key + "'");
      }
    }
    if (!sel.types) return bad("entities[]: each EntitySelector needs a type (§5.2.33)");
    out.push_back(std::move(sel));
  }
  return out;
}

Result<std::vector<KeyValue>> read_key_values(std::string_view name, const JsonValue& v) {
  if (!v.IsArray()) return bad(std::string(name) + ": must be an array of {key, value}");
  std::vector<KeyValue> out;
  for (const auto& kv : v.GetArray()) {
    if (!kv.IsObject()) return bad(std::string(name) + ": each item must be an object");
    auto k = kv.FindMember("key");
    auto val = kv.FindMember("value");
    if (k == kv.MemberEnd() || val == kv.MemberEnd() || !k->value.IsString() ||
        !val->value.IsString() || kv.MemberCount() != 2) {
      return bad(std::string(name) + ": each item must be {\"key\": string, \"value\": string}");
    }
    out.push_back({str(k->value), str(val->value)});
  }
  return out;
}

Status check_notifier_info(const std::vector<KeyValue>& info) {
  // The MQTT binding's keys (§7.2): the protocol version and the quality of service.
  for (const auto& kv : info) {
    if (kv.key == "MQTT-Version" && kv.value != "mqtt3.1.1" && kv.value != "mqtt5.0") {
      return bad("notification.endpoint.notifierInfo: MQTT-Version '" + kv.value +
                 "' is not mqtt3.1.1 or mqtt5.0");
    }
    if (kv.key == "MQTT-QoS" && kv.value != "0" && kv.value != "1" && kv.value != "2") {
      return bad("notification.endpoint.notifierInfo: MQTT-QoS '" + kv.value +
                 "' is not 0, 1 or 2");
    }
  }
  return Status::Ok();
}

Result<Endpoint> read_endpoint(const JsonValue& v) {
  if (!v.IsObject()) return bad("notification.endpoint: must be an object");
  Endpoint e;
  bool has_uri = false;
  for (const auto& m : v.GetObject()) {
    std::string key = str(m.name);
    const JsonValue& f = m.value;
    std::string where = "notification.endpoint." + key;
    if (key == "uri") {
      auto s = string_member(where, f);
      if (!s.ok()) return s.status();
      std::string scheme = s->substr(0, s->find(':'));
      std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!is_absolute_uri(*s)) return bad(where + ": '" + *s + "' is not an absolute URI");
      if (scheme != "http" && scheme != "https" && scheme != "mqtt" && scheme != "mqtts") {
        return bad(where + ": scheme '" + scheme + "' is not http, https, mqtt or mqtts");
      }
      if (scheme == "mqtt" || scheme == "mqtts") {
        // §7.2: mqtt[s]://[user[:password]@]host[:port]/topic, and a publish names one topic.
        std::string_view rest = std::string_view(*s).substr(scheme.size() + 1);
        size_t slash = rest.rfind("//", 0) == 0 ? rest.find('/', 2) : std::string_view::npos;
        if (slash == std::string_view::npos || slash + 1 == rest.size()) {
          return bad(where + ": '" + *s + "' names no MQTT topic (mqtt[s]://host[:port]/topic)");
        }
        if (rest.find_first_of("+#", slash) != std::string_view::npos) {
          return bad(where + ": the MQTT topic of '" + *s + "' holds a wildcard ('+' or '#')");
        }
      }
      e.uri = std::move(*s);
      has_uri = true;
    } else if (key == "accept") {
      auto s = string_member(where, f);
      if (!s.ok()) return s.status();
      if (*s != "application/json" && *s != "application/ld+json" && *s != "application/geo+json") {
        return bad(where + ": '" + *s +
                   "' is not application/json, application/ld+json or application/geo+json");
      }
      e.accept = std::move(*s);
    } else if (key == "timeout" || key == "cooldown") {
      auto d = positive_number(where, f);
      if (!d.ok()) return d.status();
      (key == "timeout" ? e.timeout_ms : e.cooldown_ms) = *d;
    } else if (key == "receiverInfo" || key == "notifierInfo") {
      auto kvs = read_key_values(where, f);
      if (!kvs.ok()) return kvs.status();
      (key == "receiverInfo" ? e.receiver_info : e.notifier_info) = std::move(*kvs);
    } else {
      return bad("notification.endpoint: unknown member '" + key + "'");
    }
  }
  if (!has_uri) return bad("notification.endpoint.uri: missing");
  TSUNAGU_RETURN_IF_ERROR(check_notifier_info(e.notifier_info));
  return e;
}

// pick / omit (§4.21): the Projection Language, checked by the same parser as the URI
// parameters; attribute names are interned first so that the check sees them.
Result<std::vector<Member>> read_members(std::string_view name, const JsonValue& v,
                                         const jsonld::Context& ctx, RenderOptions& check) {
  std::string where = "notification." + std::string(name);
  auto items = string_array(where, v);
  if (!items.ok()) return items.status();
  std::vector<Member> out;
  std::string list;
  for (const auto& m : *items) {
    if (m == "id") {
      out.push_back({Member::Kind::kId, {}, {}});
    } else if (m == "type") {
      out.push_back({Member::Kind::kType, {}, {}});
    } else if (m == "scope") {
      out.push_back({Member::Kind::kScope, {}, {}});
    } else if (m.find('{') != std::string::npos) {
      out.push_back({Member::Kind::kLinked, {}, m});
    } else if (valid_name(m)) {
      out.push_back({Member::Kind::kAttribute, ctx.expand(m), {}});
    } else {
      return bad(where + ": '" + m + "' is not id, type, scope or an attribute name");
    }
    if (!list.empty()) list += ',';
    list += m;
  }
  Status st = apply_representation_member(name, list, ctx, check);
  if (!st.ok()) return bad("notification." + st.detail());
  return out;
}

// The members of a Subscription that describe entity content, which a Context Source
// Registration subscription does not take (§5.2.12, §5.2.14).
bool entity_only(std::string_view key) {
  return key == "notificationTrigger" || key == "datasetId" || key == "showChanges" ||
         key == "join" || key == "joinLevel";
}

Status not_for_csource(std::string_view where) {
  return bad(std::string(where) +
             ": does not apply to Context Source Registration subscriptions (§5.2.12)");
}

Result<NotificationParams> read_notification(const JsonValue& v, const jsonld::Context& ctx,
                                             SubscriptionKind kind) {
  if (!v.IsObject()) return bad("notification: must be an object");
  NotificationParams n;
  RenderOptions check;
  bool has_endpoint = false, has_attributes = false;
  for (const auto& m : v.GetObject()) {
    std::string key = str(m.name);
    const JsonValue& f = m.value;
    std::string where = "notification." + key;
    if (kind == SubscriptionKind::kCsource && entity_only(key)) return not_for_csource(where);
    if (key == "endpoint") {
      auto e = read_endpoint(f);
      if (!e.ok()) return e.status();
      // A ContextSourceNotification carries registrations, which are not GeoJSON Features.
      if (kind == SubscriptionKind::kCsource && e->accept == "application/geo+json") {
        return bad(where +
                   ".accept: application/geo+json does not apply to Context Source "
                   "Registration subscriptions (their notifications hold registrations)");
      }
      n.endpoint = std::move(*e);
      has_endpoint = true;
    } else if (key == "attributes") {
      auto a = names_member(where, f, ctx);
      if (!a.ok()) return a.status();
      n.attributes = std::move(*a);
      has_attributes = true;
    } else if (key == "pick" || key == "omit") {
      auto ms = read_members(key, f, ctx, check);
      if (!ms.ok()) return ms.status();
      (key == "pick" ? n.pick : n.omit) = std::move(*ms);
    } else if (key == "format") {
      auto s = string_member(where, f);
      if (!s.ok()) return s.status();
      if (*s == "normalized") {
        n.format = Format::kNormalized;
      } else if (*s == "concise") {
        n.format = Format::kConcise;
      } else if (*s == "keyValues" || *s == "simplified") {
        n.format = Format::kKeyValues;
      } else {
        return bad(where + ": '" + *s + "' is not normalized, concise or keyValues");
      }
    } else if (key == "sysAttrs" || key == "showChanges") {
      auto b = bool_member(where, f);
      if (!b.ok()) return b.status();
      (key == "sysAttrs" ? n.sys_attrs : n.show_changes) = *b;
    } else if (key == "join") {
      auto s = string_member(where, f);
      if (!s.ok()) return s.status();
      if (*s != "flat" && *s != "inline" && *s != "@none") {
        return bad(where + ": '" + *s + "' is not flat, inline or @none");
      }
      n.join = std::move(*s);
    } else if (key == "joinLevel") {
      if (!f.IsInt() || f.GetInt() < 1 || f.GetInt() > kMaxJoinLevel) {
        return bad(where + ": must be a whole number from 1 to " + std::to_string(kMaxJoinLevel));
      }
      n.join_level = f.GetInt();
    } else if (key == "status" || key == "timesSent" || key == "timesFailed" ||
               key == "lastNotification" || key == "lastFailure" || key == "lastSuccess") {
      continue;  // read-only (§5.2.14): what a client echoes back from a GET is not its to set
    } else {
      return bad("notification: unknown member '" + key + "'");
    }
  }
  if (!has_endpoint) return bad("notification.endpoint: missing (§5.2.14)");
  if (has_attributes && (!n.pick.empty() || !n.omit.empty())) {
    return bad("notification: attributes cannot be combined with pick or omit (§4.21)");
  }
  for (const auto& p : n.pick) {
    if (std::find(n.omit.begin(), n.omit.end(), p) != n.omit.end()) {
      return bad("notification: a member cannot be both in pick and in omit (§4.21)");
    }
  }
  if (n.show_changes.value_or(false) && n.format == Format::kKeyValues) {
    return bad("notification.showChanges: cannot be true with format keyValues (§5.2.14)");
  }
  return n;
}

// Reads one member into `s`. `patch`: null removes an optional member.
Status read_member(const std::string& key, const JsonValue& v, const jsonld::Context& ctx,
                   int64_t now, bool patch, Subscription& s) {
  if (v.IsNull()) {
    if (!patch) return bad(key + ": must not be null");
    // §5.8.2: a null member removes it where the subscription may go without it.
    if (key == "subscriptionName")
      s.name.reset();
    else if (key == "description")
      s.description.reset();
    else if (key == "entities")
      s.entities.clear();
    else if (key == "watchedAttributes")
      s.watched_attributes.clear();
    else if (key == "notificationTrigger")
      s.notification_trigger.reset();
    else if (key == "timeInterval")
      s.time_interval_s.reset();
    else if (key == "q")
      s.q.reset(), s.q_text.clear();
    else if (key == "geoQ")
      s.geo_q.reset(), s.geo_q_json.clear(), s.geo_property = Atom();
    else if (key == "scopeQ")
      s.scope_q.reset(), s.scope_q_text.clear();
    else if (key == "csf")
      s.csf.reset(), s.csf_q.reset();
    else if (key == "temporalQ")
      s.temporal_q.reset(), s.temporal_q_json.clear();
    else if (key == "localOnly")
      s.local_only.reset();
    else if (key == "lang")
      s.lang.reset();
    else if (key == "isActive")
      s.is_active.reset();
    else if (key == "expiresAt")
      s.expires_at = kNoTime;
    else if (key == "throttling")
      s.throttling_s.reset();
    else if (key == "datasetId")
      s.dataset_ids.clear();
    else if (key == "jsonldContext")
      s.jsonld_context.reset();
    else
      return bad(key + ": cannot be removed (null)");
    return Status::Ok();
  }
  const bool csource = s.kind == SubscriptionKind::kCsource;
  if (csource && entity_only(key)) return not_for_csource(key);
  if (key == "csf" && csource) {
    // Evaluated against each registration's context source properties (§5.11.2, §4.9).
    auto t = string_member(key, v);
    if (!t.ok()) return t.status();
    auto e = query::parse_q(*t, ctx, {}, query::NameUse::kIntern);
    if (!e.ok()) return bad("csf: " + e.status().detail());
    s.csf_q = std::move(*e);
    s.csf = std::move(*t);
  } else if (key == "subscriptionName" || key == "description" || key == "csf" || key == "lang") {
    auto t = string_member(key, v);
    if (!t.ok()) return t.status();
    (key == "subscriptionName" ? s.name
     : key == "description"    ? s.description
     : key == "csf"            ? s.csf
                               : s.lang) = std::move(*t);
  } else if (key == "entities") {
    auto e = read_entities(v, ctx);
    if (!e.ok()) return e.status();
    s.entities = std::move(*e);
  } else if (key == "watchedAttributes") {
    auto a = names_member(key, v, ctx);
    if (!a.ok()) return a.status();
    s.watched_attributes = std::move(*a);
  } else if (key == "notificationTrigger") {
    auto items = string_array(key, v);
    if (!items.ok()) return items.status();
    TriggerSet set = 0;
    for (const auto& t : *items) {
      auto tr = trigger_from_name(t);
      if (!tr) return bad(key + ": '" + t + "' is not a notification trigger (§5.2.12)");
      set |= bit(*tr);
    }
    s.notification_trigger = set;
  } else if (key == "timeInterval" || key == "throttling") {
    auto d = positive_number(key, v);
    if (!d.ok()) return d.status();
    (key == "timeInterval" ? s.time_interval_s : s.throttling_s) = *d;
  } else if (key == "q") {
    auto t = string_member(key, v);
    if (!t.ok()) return t.status();
    // A q written as it would be in a URI (percent-encoded) means what it means there
    // (docs/decisions.md, "Subscriptions"); one with a '%' that escapes nothing is taken as is.
    std::string decoded;
    bool encoded = t->find('%') != std::string::npos && percent_decode(*t, decoded);
    auto e = query::parse_q(encoded ? decoded : *t, ctx, {}, query::NameUse::kIntern);
    if (!e.ok()) return e.status();
    s.q = std::move(*e);
    s.q_text = std::move(*t);
  } else if (key == "geoQ") {
    auto g = geo::parse_geoquery_json(v);
    if (!g.ok()) return bad("geoQ: " + g.status().detail());
    if (!valid_name(g->geoproperty)) {
      return bad("geoQ.geoproperty: '" + g->geoproperty + "' is not an attribute name");
    }
    s.geo_property = ctx.expand(g->geoproperty);
    s.geo_q = std::move(*g);
    s.geo_q_json = json_text(v);
  } else if (key == "scopeQ") {
    auto t = string_member(key, v);
    if (!t.ok()) return t.status();
    auto sq = query::parse_scope_query(*t);
    if (!sq.ok()) return sq.status();
    s.scope_q = std::move(*sq);
    s.scope_q_text = std::move(*t);
  } else if (key == "isActive" || key == "localOnly") {
    auto b = bool_member(key, v);
    if (!b.ok()) return b.status();
    (key == "isActive" ? s.is_active : s.local_only) = *b;
  } else if (key == "expiresAt") {
    auto t = string_member(key, v);
    if (!t.ok()) return t.status();
    auto us = parse_datetime(*t);
    if (!us) return bad("expiresAt: '" + *t + "' is not a DateTime");
    // A subscription that would be born expired is refused (suite 029_11: BadRequestData).
    if (*us <= now) return bad("expiresAt: '" + *t + "' is not in the future");
    s.expires_at = *us;
  } else if (key == "datasetId") {
    std::vector<std::string> ids;
    if (v.IsString()) {
      ids.push_back(str(v));
    } else {
      auto a = string_array(key, v);
      if (!a.ok()) return a.status();
      ids = std::move(*a);
    }
    for (const auto& d : ids) {
      if (d != "@none" && !is_absolute_uri(d)) {
        return bad("datasetId: '" + d + "' is not a URI (or @none)");
      }
    }
    s.dataset_ids = std::move(ids);
  } else if (key == "jsonldContext") {
    auto t = string_member(key, v);
    if (!t.ok()) return t.status();
    if (!is_absolute_uri(*t)) return bad("jsonldContext: '" + *t + "' is not a URI");
    s.jsonld_context = std::move(*t);
  } else if (key == "notification") {
    auto n = read_notification(v, ctx, s.kind);
    if (!n.ok()) return n.status();
    s.notification = std::move(*n);
  } else if (key == "temporalQ") {
    if (!csource) {
      return bad("temporalQ: only Context Source Registration subscriptions take it (§5.2.12)");
    }
    auto f = parse_temporal_q(v);
    if (!f.ok()) return f.status();
    s.temporal_q = *f;
    s.temporal_q_json = json_text(v);
  } else if (key == "status" || key == "createdAt" || key == "modifiedAt" || key == "deletedAt") {
    // Read-only (§5.2.12): ignored, as a client may send back what a GET gave.
  } else {
    return bad("unknown Subscription member '" + key + "'");
  }
  return Status::Ok();
}

// The rules between members (§5.8.1, §5.2.12), for a create and for the result of a PATCH.
Status check_whole(const Subscription& s) {
  if (s.entities.empty() && s.watched_attributes.empty()) {
    return bad("entities or watchedAttributes: at least one of them is required (§5.8.1)");
  }
  if (s.periodic()) {
    if (!s.watched_attributes.empty()) {
      return bad("timeInterval: cannot be combined with watchedAttributes (§5.8.1)");
    }
    if (s.notification_trigger) {
      return bad("timeInterval: cannot be combined with notificationTrigger (§5.2.12)");
    }
    if (s.throttling_s) return bad("timeInterval: cannot be combined with throttling (§5.8.1)");
  }
  return Status::Ok();
}

Status check_type(const JsonValue& v) {
  if (!v.IsString() || str(v) != "Subscription") return bad("type: must be \"Subscription\"");
  return Status::Ok();
}

}  // namespace

Result<temporal::TimeFilter> parse_temporal_q(const JsonValue& v) {
  if (!v.IsObject()) return bad("temporalQ: must be an object");
  std::optional<std::string> members[4];
  static constexpr std::string_view kNames[4] = {"timerel", "timeAt", "endTimeAt", "timeproperty"};
  for (const auto& m : v.GetObject()) {
    std::string key = str(m.name);
    auto it = std::find(std::begin(kNames), std::end(kNames), key);
    if (it == std::end(kNames)) return bad("temporalQ: unknown member '" + key + "'");
    auto t = string_member("temporalQ." + key, m.value);
    if (!t.ok()) return t.status();
    members[it - std::begin(kNames)] = std::move(*t);
  }
  auto ptr = [&](int i) { return members[i] ? &*members[i] : nullptr; };
  if (!members[0]) return bad("temporalQ.timerel: missing (§5.2.21)");
  auto f = temporal::time_filter(ptr(0), ptr(1), ptr(2), ptr(3), true);
  if (!f.ok()) return bad("temporalQ." + f.status().detail());
  return f;
}

Result<Subscription> parse_subscription(const JsonValue& body, const jsonld::Context& ctx,
                                        int64_t now, SubscriptionKind kind) {
  if (!body.IsObject()) return bad("the payload must be a Subscription object");
  Subscription s;
  s.kind = kind;
  bool has_type = false, has_notification = false;
  for (const auto& m : body.GetObject()) {
    std::string key = str(m.name);
    const JsonValue& v = m.value;
    if (key == "@context") continue;
    if (key == "type") {
      TSUNAGU_RETURN_IF_ERROR(check_type(v));
      has_type = true;
    } else if (key == "id") {
      if (!v.IsString() || !is_absolute_uri(str(v))) {
        return bad("id: " + json_text(v).substr(0, 100) + " is not a URI");
      }
      s.id = str(v);
    } else {
      TSUNAGU_RETURN_IF_ERROR(read_member(key, v, ctx, now, false, s));
      has_notification = has_notification || key == "notification";
    }
  }
  if (!has_type) return bad("type: missing (must be \"Subscription\")");
  if (!has_notification) return bad("notification: missing (§5.8.1)");
  TSUNAGU_RETURN_IF_ERROR(check_whole(s));
  s.request_context = ctx.body_json();
  return s;
}

Status apply_subscription_patch(Subscription& target, const JsonValue& fragment,
                                const jsonld::Context& ctx, int64_t now) {
  if (!fragment.IsObject()) return bad("the payload must be a Subscription fragment object");
  Subscription s = target;
  for (const auto& m : fragment.GetObject()) {
    std::string key = str(m.name);
    const JsonValue& v = m.value;
    if (key == "@context") continue;
    if (key == "type") {
      TSUNAGU_RETURN_IF_ERROR(check_type(v));
    } else if (key == "id") {
      if (!v.IsString() || str(v) != s.id) return bad("id: a subscription's id cannot change");
    } else {
      TSUNAGU_RETURN_IF_ERROR(read_member(key, v, ctx, now, true, s));
    }
  }
  TSUNAGU_RETURN_IF_ERROR(check_whole(s));
  target = std::move(s);
  return Status::Ok();
}

}  // namespace tsunagu::ngsild::subscription
