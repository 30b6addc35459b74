// The stored form of a Subscription (subscription_codec.hpp). Short member names: a city keeps
// thousands of subscriptions, each read at every start. Version 1; a new version gets a new "v".
#include "ngsild/subscription/subscription_codec.hpp"

#include <re2/re2.h>

#include "common/json.hpp"
#include "common/json_writer.hpp"
#include "ngsild/subscription/subscription_parser.hpp"

namespace tsunagu::ngsild::subscription {
namespace {

void opt_string(JsonWriter& w, std::string_view k, const std::optional<std::string>& v) {
  if (!v) return;
  w.key(k);
  w.string(*v);
}
void opt_number(JsonWriter& w, std::string_view k, const std::optional<double>& v) {
  if (!v) return;
  w.key(k);
  w.number(*v);
}
void opt_bool(JsonWriter& w, std::string_view k, const std::optional<bool>& v) {
  if (!v) return;
  w.key(k);
  w.boolean(*v);
}
void time(JsonWriter& w, std::string_view k, int64_t us) {
  if (us == kNoTime) return;
  w.key(k);
  w.number(us);
}
void atoms(JsonWriter& w, std::string_view k, const std::vector<Atom>& as) {
  w.key(k);
  w.begin_array();
  for (Atom a : as)
    w.string(a.str());
  w.end_array();
}
void strings(JsonWriter& w, std::string_view k, const std::vector<std::string>& ss) {
  w.key(k);
  w.begin_array();
  for (const auto& s : ss)
    w.string(s);
  w.end_array();
}

void expr(JsonWriter& w, const query::Expr& e) {
  w.begin_object();
  if (e.kind != query::Expr::Kind::kTerm) {
    w.key(e.kind == query::Expr::Kind::kAnd ? "and" : "or");
    w.begin_array();
    for (const auto& c : e.children)
      expr(w, c);
    w.end_array();
  } else {
    const query::Term& t = *e.term;
    atoms(w, "names", t.path.names);
    w.key("meta");
    w.number(static_cast<int64_t>(t.path.meta));
    strings(w, "member", t.path.member);
    w.key("text");
    w.string(t.path.text);
    w.key("op");
    w.number(static_cast<int64_t>(t.op));
    w.key("shape");
    w.number(static_cast<int64_t>(t.shape));
    w.key("values");
    w.begin_array();
    for (const auto& l : t.values) {
      w.begin_object();
      w.key("kind");
      w.number(static_cast<int64_t>(l.kind));
      w.key("quoted");
      w.boolean(l.quoted);
      w.key("number");
      w.number(l.number);
      w.key("bool");
      w.boolean(l.boolean);
      w.key("time");
      w.number(l.time);
      w.key("text");
      w.string(l.text);
      w.key("expanded");
      w.string(l.expanded);
      w.end_object();
    }
    w.end_array();
    if (t.regex) {
      w.key("regex");
      w.string(t.regex->pattern());
    }
  }
  w.end_object();
}

void members(JsonWriter& w, std::string_view k, const std::vector<Member>& ms) {
  w.key(k);
  w.begin_array();
  for (const auto& m : ms) {
    w.begin_object();
    w.key("kind");
    w.number(static_cast<int64_t>(m.kind));
    w.key("text");
    w.string(m.kind == Member::Kind::kAttribute ? m.attribute.str() : std::string_view(m.text));
    w.end_object();
  }
  w.end_array();
}

void key_values(JsonWriter& w, std::string_view k, const std::vector<KeyValue>& kvs) {
  w.key(k);
  w.begin_array();
  for (const auto& kv : kvs) {
    w.begin_array();
    w.string(kv.key);
    w.string(kv.value);
    w.end_array();
  }
  w.end_array();
}

// Reading back. A stored record is the broker's own writing: a fault is damage (InternalError).
class Reader {
 public:
  Status fail(std::string_view what) const {
    return Status::Internal("stored subscription: " + std::string(what));
  }
  Result<std::string> string(const JsonValue& o, const char* k) const {
    auto m = o.FindMember(k);
    if (m == o.MemberEnd() || !m->value.IsString()) return fail(std::string(k) + " missing");
    return std::string(m->value.GetString(), m->value.GetStringLength());
  }
  std::optional<std::string> opt_string(const JsonValue& o, const char* k) const {
    auto m = o.FindMember(k);
    if (m == o.MemberEnd() || !m->value.IsString()) return std::nullopt;
    return std::string(m->value.GetString(), m->value.GetStringLength());
  }
  std::optional<double> opt_number(const JsonValue& o, const char* k) const {
    auto m = o.FindMember(k);
    if (m == o.MemberEnd() || !m->value.IsNumber()) return std::nullopt;
    return m->value.GetDouble();
  }
  std::optional<bool> opt_bool(const JsonValue& o, const char* k) const {
    auto m = o.FindMember(k);
    if (m == o.MemberEnd() || !m->value.IsBool()) return std::nullopt;
    return m->value.GetBool();
  }
  int64_t integer(const JsonValue& o, const char* k, int64_t absent) const {
    auto m = o.FindMember(k);
    if (m == o.MemberEnd() || !m->value.IsInt64()) return absent;
    return m->value.GetInt64();
  }
  const JsonValue* array(const JsonValue& o, const char* k) const {
    auto m = o.FindMember(k);
    return m != o.MemberEnd() && m->value.IsArray() ? &m->value : nullptr;
  }
  std::vector<std::string> strings(const JsonValue& o, const char* k) const {
    std::vector<std::string> out;
    if (const JsonValue* a = array(o, k)) {
      for (const auto& e : a->GetArray()) {
        if (e.IsString()) out.emplace_back(e.GetString(), e.GetStringLength());
      }
    }
    return out;
  }
  std::vector<Atom> atoms(const JsonValue& o, const char* k) const {
    std::vector<Atom> out;
    for (const auto& s : strings(o, k))
      out.push_back(Atom::intern(s));
    return out;
  }
  Result<std::shared_ptr<re2::RE2>> regex(const std::string& pattern) const {
    // The options of the q and idPattern parsers, so the pattern means what it meant then.
    RE2::Options o;
    o.set_log_errors(false);
    o.set_max_mem(8 << 20);
    auto re = std::make_shared<re2::RE2>(pattern, o);
    if (!re->ok()) return fail("regular expression '" + pattern + "' does not compile");
    return re;
  }

  Result<query::Expr> expr(const JsonValue& o) const {
    if (!o.IsObject()) return fail("q: not an object");
    query::Expr e;
    const JsonValue* children = array(o, "and");
    e.kind = query::Expr::Kind::kAnd;
    if (children == nullptr) {
      children = array(o, "or");
      e.kind = query::Expr::Kind::kOr;
    }
    if (children != nullptr) {
      for (const auto& c : children->GetArray()) {
        auto ce = expr(c);
        if (!ce.ok()) return ce;
        e.children.push_back(std::move(*ce));
      }
      return e;
    }
    e.kind = query::Expr::Kind::kTerm;
    auto t = std::make_shared<query::Term>();
    t->path.names = atoms(o, "names");
    if (t->path.names.empty()) return fail("q: a term without names");
    t->path.meta = static_cast<query::Meta>(integer(o, "meta", 0));
    t->path.member = strings(o, "member");
    t->path.text = opt_string(o, "text").value_or("");
    t->op = static_cast<query::Op>(integer(o, "op", 0));
    t->shape = static_cast<query::Term::Shape>(integer(o, "shape", 0));
    if (const JsonValue* vs = array(o, "values")) {
      for (const auto& v : vs->GetArray()) {
        if (!v.IsObject()) return fail("q: a value that is not an object");
        query::Literal l;
        l.kind = static_cast<query::Literal::Kind>(integer(v, "kind", 0));
        l.quoted = opt_bool(v, "quoted").value_or(false);
        l.number = opt_number(v, "number").value_or(0);
        l.boolean = opt_bool(v, "bool").value_or(false);
        l.time = integer(v, "time", 0);
        l.text = opt_string(v, "text").value_or("");
        l.expanded = opt_string(v, "expanded").value_or("");
        t->values.push_back(std::move(l));
      }
    }
    if (auto pattern = opt_string(o, "regex")) {
      auto re = regex(*pattern);
      if (!re.ok()) return re.status();
      t->regex = std::move(*re);
    }
    e.term = std::move(t);
    return e;
  }
};

}  // namespace

std::string encode_subscription(const Subscription& s, const SubscriptionState& st) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("v");
  w.number(int64_t{1});
  if (s.kind == SubscriptionKind::kCsource) {  // absent: an entity subscription
    w.key("csource");
    w.boolean(true);
  }
  w.key("id");
  w.string(s.id);
  opt_string(w, "name", s.name);
  opt_string(w, "description", s.description);
  w.key("entities");
  w.begin_array();
  for (const auto& e : s.entities) {
    w.begin_object();
    if (e.id) {
      w.key("id");
      w.string(*e.id);
    }
    if (e.id_pattern) {
      w.key("idPattern");
      w.string(e.id_pattern->pattern());
    }
    if (e.types) {
      w.key("any");
      w.boolean(e.types->any);
      w.key("groups");
      w.begin_array();
      for (const auto& g : e.types->groups) {
        w.begin_array();
        for (Atom a : g)
          w.string(a.str());
        w.end_array();
      }
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
  atoms(w, "watched", s.watched_attributes);
  if (s.notification_trigger) {
    w.key("triggers");
    w.number(static_cast<int64_t>(*s.notification_trigger));
  }
  opt_number(w, "timeInterval", s.time_interval_s);
  if (s.q) {
    w.key("qText");
    w.string(s.q_text);
    w.key("q");
    expr(w, *s.q);
  }
  if (s.geo_q) {
    w.key("geoQ");
    w.string(s.geo_q_json);
    w.key("geoProperty");
    w.string(s.geo_property.str());
  }
  if (s.scope_q) {
    w.key("scopeQ");
    w.string(s.scope_q_text);
  }
  opt_string(w, "csf", s.csf);
  if (s.csf_q) {
    w.key("csfQ");
    expr(w, *s.csf_q);
  }
  if (s.temporal_q) {
    w.key("temporalQ");
    w.string(s.temporal_q_json);
  }
  opt_bool(w, "localOnly", s.local_only);
  opt_string(w, "lang", s.lang);
  opt_bool(w, "isActive", s.is_active);
  time(w, "expiresAt", s.expires_at);
  opt_number(w, "throttling", s.throttling_s);
  strings(w, "datasetId", s.dataset_ids);
  opt_string(w, "jsonldContext", s.jsonld_context);
  w.key("requestContext");
  w.string(s.request_context);
  if (!s.role.empty()) {
    w.key("role");
    w.string(s.role);
  }

  const NotificationParams& n = s.notification;
  w.key("notification");
  w.begin_object();
  atoms(w, "attributes", n.attributes);
  members(w, "pick", n.pick);
  members(w, "omit", n.omit);
  if (n.format) {
    w.key("format");
    w.number(static_cast<int64_t>(*n.format));
  }
  opt_bool(w, "sysAttrs", n.sys_attrs);
  opt_bool(w, "showChanges", n.show_changes);
  opt_string(w, "join", n.join);
  if (n.join_level) {
    w.key("joinLevel");
    w.number(static_cast<int64_t>(*n.join_level));
  }
  w.key("uri");
  w.string(n.endpoint.uri);
  opt_string(w, "accept", n.endpoint.accept);
  opt_number(w, "timeout", n.endpoint.timeout_ms);
  opt_number(w, "cooldown", n.endpoint.cooldown_ms);
  key_values(w, "receiverInfo", n.endpoint.receiver_info);
  key_values(w, "notifierInfo", n.endpoint.notifier_info);
  w.end_object();

  time(w, "createdAt", s.created_at);
  time(w, "modifiedAt", s.modified_at);
  w.key("state");
  w.begin_object();
  w.key("sent");
  w.number(static_cast<int64_t>(st.times_sent));
  w.key("failed");
  w.number(static_cast<int64_t>(st.times_failed));
  time(w, "lastNotification", st.last_notification);
  time(w, "lastSuccess", st.last_success);
  time(w, "lastFailure", st.last_failure);
  w.end_object();
  w.end_object();
  return out;
}

Result<StoredSubscription> decode_subscription(std::string_view text) {
  Reader r;
  JsonDoc d;
  if (!parse_json(text, d).ok() || !d.IsObject()) return r.fail("not a JSON object");
  if (r.integer(d, "v", 0) != 1) return r.fail("unknown version");
  StoredSubscription out;
  Subscription& s = out.subscription;
  if (r.opt_bool(d, "csource").value_or(false)) s.kind = SubscriptionKind::kCsource;
  auto id = r.string(d, "id");
  if (!id.ok()) return id.status();
  s.id = std::move(*id);
  s.name = r.opt_string(d, "name");
  s.description = r.opt_string(d, "description");
  if (const JsonValue* es = r.array(d, "entities")) {
    for (const auto& e : es->GetArray()) {
      if (!e.IsObject()) return r.fail("entities: an item is not an object");
      query::EntitySelector sel;
      sel.id = r.opt_string(e, "id");
      if (auto p = r.opt_string(e, "idPattern")) {
        auto re = r.regex(*p);
        if (!re.ok()) return re.status();
        sel.id_pattern = std::move(*re);
      }
      if (const JsonValue* groups = r.array(e, "groups")) {
        query::TypeSelection t;
        t.any = r.opt_bool(e, "any").value_or(false);
        for (const auto& g : groups->GetArray()) {
          if (!g.IsArray()) return r.fail("entities: a type group is not an array");
          std::vector<Atom> group;
          for (const auto& a : g.GetArray()) {
            if (!a.IsString()) return r.fail("entities: a type is not a string");
            group.push_back(Atom::intern(std::string_view(a.GetString(), a.GetStringLength())));
          }
          t.groups.push_back(std::move(group));
        }
        sel.types = std::move(t);
      }
      s.entities.push_back(std::move(sel));
    }
  }
  s.watched_attributes = r.atoms(d, "watched");
  int64_t triggers = r.integer(d, "triggers", -1);
  if (triggers >= 0) s.notification_trigger = static_cast<TriggerSet>(triggers);
  s.time_interval_s = r.opt_number(d, "timeInterval");
  if (auto m = d.FindMember("q"); m != d.MemberEnd()) {
    auto e = r.expr(m->value);
    if (!e.ok()) return e.status();
    s.q = std::move(*e);
    s.q_text = r.opt_string(d, "qText").value_or("");
  }
  if (auto g = r.opt_string(d, "geoQ")) {
    JsonDoc gd;
    if (!parse_json(*g, gd).ok()) return r.fail("geoQ: not JSON");
    auto q = geo::parse_geoquery_json(gd);
    if (!q.ok()) return r.fail("geoQ: " + q.status().detail());
    s.geo_q = std::move(*q);
    s.geo_q_json = std::move(*g);
    s.geo_property = Atom::intern(r.opt_string(d, "geoProperty").value_or(""));
  }
  if (auto t = r.opt_string(d, "scopeQ")) {
    auto sq = query::parse_scope_query(*t);
    if (!sq.ok()) return r.fail("scopeQ: " + sq.status().detail());
    s.scope_q = std::move(*sq);
    s.scope_q_text = std::move(*t);
  }
  s.csf = r.opt_string(d, "csf");
  if (auto m = d.FindMember("csfQ"); m != d.MemberEnd()) {
    auto e = r.expr(m->value);
    if (!e.ok()) return e.status();
    s.csf_q = std::move(*e);
  }
  if (auto t = r.opt_string(d, "temporalQ")) {
    JsonDoc td;
    if (!parse_json(*t, td).ok()) return r.fail("temporalQ: not JSON");
    auto f = parse_temporal_q(td);
    if (!f.ok()) return r.fail(f.status().detail());
    s.temporal_q = *f;
    s.temporal_q_json = std::move(*t);
  }
  s.local_only = r.opt_bool(d, "localOnly");
  s.lang = r.opt_string(d, "lang");
  s.is_active = r.opt_bool(d, "isActive");
  s.expires_at = r.integer(d, "expiresAt", kNoTime);
  s.throttling_s = r.opt_number(d, "throttling");
  s.dataset_ids = r.strings(d, "datasetId");
  s.jsonld_context = r.opt_string(d, "jsonldContext");
  s.request_context = r.opt_string(d, "requestContext").value_or("");
  s.role = r.opt_string(d, "role").value_or("");

  auto nm = d.FindMember("notification");
  if (nm == d.MemberEnd() || !nm->value.IsObject()) return r.fail("notification missing");
  const JsonValue& nv = nm->value;
  NotificationParams& n = s.notification;
  n.attributes = r.atoms(nv, "attributes");
  for (const char* k : {"pick", "omit"}) {
    if (const JsonValue* ms = r.array(nv, k)) {
      for (const auto& m : ms->GetArray()) {
        if (!m.IsObject()) return r.fail("notification: a pick/omit item is not an object");
        Member mb{static_cast<Member::Kind>(r.integer(m, "kind", 0)), {}, {}};
        std::string t = r.opt_string(m, "text").value_or("");
        if (mb.kind == Member::Kind::kAttribute) {
          mb.attribute = Atom::intern(t);
        } else if (mb.kind == Member::Kind::kLinked) {
          mb.text = std::move(t);
        }
        (k[0] == 'p' ? n.pick : n.omit).push_back(std::move(mb));
      }
    }
  }
  int64_t format = r.integer(nv, "format", -1);
  if (format >= 0) n.format = static_cast<Format>(format);
  n.sys_attrs = r.opt_bool(nv, "sysAttrs");
  n.show_changes = r.opt_bool(nv, "showChanges");
  n.join = r.opt_string(nv, "join");
  int64_t level = r.integer(nv, "joinLevel", -1);
  if (level >= 0) n.join_level = static_cast<int>(level);
  auto uri = r.string(nv, "uri");
  if (!uri.ok()) return uri.status();
  n.endpoint.uri = std::move(*uri);
  n.endpoint.accept = r.opt_string(nv, "accept");
  n.endpoint.timeout_ms = r.opt_number(nv, "timeout");
  n.endpoint.cooldown_ms = r.opt_number(nv, "cooldown");
  for (const char* k : {"receiverInfo", "notifierInfo"}) {
    if (const JsonValue* kvs = r.array(nv, k)) {
      for (const auto& kv : kvs->GetArray()) {
        if (!kv.IsArray() || kv.Size() != 2 || !kv[0].IsString() || !kv[1].IsString()) {
          return r.fail(std::string("notification: a ") + k + " item is not [key, value]");
        }
        (k[0] == 'r' ? n.endpoint.receiver_info : n.endpoint.notifier_info)
            .push_back({kv[0].GetString(), kv[1].GetString()});
      }
    }
  }
  s.created_at = r.integer(d, "createdAt", kNoTime);
  s.modified_at = r.integer(d, "modifiedAt", kNoTime);
  if (auto sm = d.FindMember("state"); sm != d.MemberEnd() && sm->value.IsObject()) {
    const JsonValue& sv = sm->value;
    out.state.times_sent = static_cast<uint64_t>(r.integer(sv, "sent", 0));
    out.state.times_failed = static_cast<uint64_t>(r.integer(sv, "failed", 0));
    out.state.last_notification = r.integer(sv, "lastNotification", kNoTime);
    out.state.last_success = r.integer(sv, "lastSuccess", kNoTime);
    out.state.last_failure = r.integer(sv, "lastFailure", kNoTime);
  }
  return out;
}

}  // namespace tsunagu::ngsild::subscription
