// Register Context Source (ETSI GS CIM 009 §5.9.2) and Update Context Source Registration
// (§5.9.3) payloads into the model. Each member is read on its own (Reader::member), which fills
// the model's fields and gives the member's stored form; then the whole is checked and the
// stored document put together (finish). A PATCH merges stored forms and reads the result again.
#include "ngsild/registration/registration_parser.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "common/json_writer.hpp"
#include "common/uri.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "ngsild/query/query_request.hpp"

namespace tsunagu::ngsild::registration {
namespace {

using Members = std::vector<std::pair<std::string, std::string>>;  // (stored name, JSON text)

constexpr std::string_view kType = "ContextSourceRegistration";

// Members the system keeps: a payload may carry them (a registration read back and sent
// again), and they are ignored (§5.2.9 marks them read-only).
constexpr std::array<std::string_view, 8> kReadOnly = {"createdAt",   "modifiedAt", "deletedAt",
                                                       "status",      "timesSent",  "timesFailed",
                                                       "lastSuccess", "lastFailure"};

// The registration's own members (§5.2.9), stored under these names; any other name is a
// context source property's, stored expanded.
constexpr std::array<std::string_view, 19> kMembers = {"information",
                                                       "endpoint",
                                                       "registrationName",
                                                       "description",
                                                       "contextSourceAlias",
                                                       "refreshRate",
                                                       "tenant",
                                                       "mode",
                                                       "operations",
                                                       "expiresAt",
                                                       "observationInterval",
                                                       "managementInterval",
                                                       "location",
                                                       "observationSpace",
                                                       "operationSpace",
                                                       "scope",
                                                       "datasetId",
                                                       "contextSourceInfo",
                                                       "management"};

template <size_t N>
bool one_of(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string str(const JsonValue& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

Status bad(const std::string& detail) {
  return Status::BadRequestData(detail);
}

Result<std::string> string_member(std::string_view name, const JsonValue& v) {
  if (!v.IsString() || v.GetStringLength() == 0) {
    return bad(std::string(name) + ": must be a non-empty string");
  }
  return str(v);
}

Result<std::vector<Atom>> names(const std::string& where, const JsonValue& v,
                                const jsonld::Context& ctx, JsonWriter& w) {
  if (!v.IsArray() || v.Empty()) return bad(where + ": must be a non-empty array of names");
  std::vector<Atom> out;
  w.begin_array();
  for (const auto& n : v.GetArray()) {
    if (!n.IsString()) return bad(where + ": each item must be a string");
    std::string name = str(n);
    if (!valid_name(name)) return bad(where + ": '" + name + "' is not an attribute name");
    out.push_back(ctx.expand(name));
    w.string(out.back().str());
  }
  w.end_array();
  return out;
}

// EntityInfo (§5.2.8): type required (a name or an array of names), id or idPattern.
Result<EntityInfo> entity_info(const JsonValue& v, const jsonld::Context& ctx, JsonWriter& w) {
  constexpr std::string_view kWhere = "information[].entities[]";
  if (!v.IsObject()) return bad(std::string(kWhere) + ": each item must be an object");
  EntityInfo e;
  w.begin_object();
  for (const auto& m : v.GetObject()) {
    std::string key = str(m.name);
    std::string where = std::string(kWhere) + "." + key;
    if (key == "type") {
      w.key("type");
      if (m.value.IsString()) {
        std::string t = str(m.value);
        if (!valid_name(t)) return bad(where + ": '" + t + "' is not a type name");
        e.types.push_back(ctx.expand(t));
        w.string(e.types.back().str());
      } else {
        auto types = names(where, m.value, ctx, w);
        if (!types.ok()) return types.status();
        e.types = std::move(*types);
      }
    } else if (key == "id") {
      if (!m.value.IsString() || !is_absolute_uri(str(m.value))) {
        return bad(where + ": " + json_text(m.value).substr(0, 200) + " is not a URI");
      }
      e.id = str(m.value);
      w.key("id");
      w.string(*e.id);
    } else if (key == "idPattern") {
      if (!m.value.IsString()) return bad(where + ": must be a string");
      e.id_pattern_text = str(m.value);
      auto re = query::compile_id_pattern(e.id_pattern_text, where);
      if (!re.ok()) return re.status();
      e.id_pattern = std::move(*re);
      w.key("idPattern");
      w.string(e.id_pattern_text);
    } else {
      return bad(std::string(kWhere) + ": unknown member '" + key + "'");
    }
  }
  w.end_object();
  if (e.types.empty()) return bad(std::string(kWhere) + ": each EntityInfo needs a type");
  return e;
}

// RegistrationInfo (§5.2.10): at least one of its three members.
Result<RegistrationInfo> registration_info(const JsonValue& v, const jsonld::Context& ctx,
                                           JsonWriter& w) {
  if (!v.IsObject()) return bad("information: each item must be an object");
  RegistrationInfo info;
  w.begin_object();
  for (const auto& m : v.GetObject()) {
    std::string key = str(m.name);
    std::string where = "information[]." + key;
    w.key(key);
    if (key == "entities") {
      if (!m.value.IsArray() || m.value.Empty()) return bad(where + ": must be a non-empty array");
      info.entities.emplace();
      w.begin_array();
      for (const auto& e : m.value.GetArray()) {
        auto ei = entity_info(e, ctx, w);
        if (!ei.ok()) return ei.status();
        info.entities->push_back(std::move(*ei));
      }
      w.end_array();
    } else if (key == "propertyNames" || key == "relationshipNames") {
      auto n = names(where, m.value, ctx, w);
      if (!n.ok()) return n.status();
      (key == "propertyNames" ? info.property_names : info.relationship_names) = std::move(*n);
    } else {
      return bad("information[]: unknown member '" + key + "'");
    }
  }
  w.end_object();
  if (!info.entities && !info.names_attributes()) {
    return bad("information[]: needs entities, propertyNames or relationshipNames");
  }
  return info;
}

Result<TimeInterval> time_interval(const std::string& where, const JsonValue& v) {
  if (!v.IsObject()) return bad(where + ": must be an object {startAt, endAt}");
  TimeInterval t;
  for (const auto& m : v.GetObject()) {
    std::string key = str(m.name);
    if (key != "startAt" && key != "endAt") return bad(where + ": unknown member '" + key + "'");
    std::optional<int64_t> at = m.value.IsString() ? parse_datetime(str(m.value)) : std::nullopt;
    if (!at) return bad(where + "." + key + ": must be a DateTime");
    (key == "startAt" ? t.start : t.end) = *at;
  }
  if (t.start == kNoTime) return bad(where + ": startAt is required");
  if (t.end != kNoTime && t.end < t.start) return bad(where + ": endAt is before startAt");
  return t;
}

// RegistrationManagementInfo (§5.2.34).
Status management(const JsonValue& v) {
  if (!v.IsObject()) return bad("management: must be an object");
  for (const auto& m : v.GetObject()) {
    std::string key = str(m.name);
    std::string where = "management." + key;
    if (key == "localOnly") {
      if (!m.value.IsBool()) return bad(where + ": must be true or false");
    } else if (key == "timeout" || key == "cooldown" || key == "cacheDuration") {
      if (!m.value.IsNumber() || !std::isfinite(m.value.GetDouble()) || m.value.GetDouble() < 1) {
        return bad(where + ": must be a number of at least 1");
      }
    } else {
      return bad("management: unknown member '" + key + "'");
    }
  }
  return Status::Ok();
}

Status key_values(const JsonValue& v) {
  if (!v.IsArray()) return bad("contextSourceInfo: must be an array of {key, value}");
  for (const auto& kv : v.GetArray()) {
    auto k = kv.IsObject() ? kv.FindMember("key") : kv.MemberEnd();
    auto val = kv.IsObject() ? kv.FindMember("value") : kv.MemberEnd();
    if (!kv.IsObject() || k == kv.MemberEnd() || val == kv.MemberEnd() || !k->value.IsString() ||
        !val->value.IsString() || kv.MemberCount() != 2) {
      return bad("contextSourceInfo: each item must be {\"key\": string, \"value\": string}");
    }
  }
  return Status::Ok();
}

// Reads members into a registration and their stored forms into `members`.
struct Reader {
  const jsonld::Context& ctx;
  int64_t now;  // judges expiresAt; kNoTime: not judged (a stored registration)
  Registration& r;
  Members& members;

  void keep(std::string name, const JsonValue& v) {
    members.emplace_back(std::move(name), json_text(v));
  }

  Status member(std::string_view key, const JsonValue& v) {
    const std::string name(key);
    if (key == "information") {
      if (!v.IsArray() || v.Empty()) return bad("information: must be a non-empty array");
      std::string text;
      JsonWriter w(text);
      w.begin_array();
      r.information.clear();
      for (const auto& item : v.GetArray()) {
        auto info = registration_info(item, ctx, w);
        if (!info.ok()) return info.status();
        r.information.push_back(std::move(*info));
      }
      w.end_array();
      members.emplace_back(name, std::move(text));
      return Status::Ok();
    }
    if (key == "endpoint") {
      if (!v.IsString() || !is_absolute_uri(str(v))) {
        return bad("endpoint: " + json_text(v).substr(0, 200) + " is not an absolute URI");
      }
      r.endpoint = str(v);
    } else if (key == "registrationName" || key == "description" || key == "contextSourceAlias" ||
               key == "refreshRate" || key == "tenant") {
      auto s = string_member(key, v);
      if (!s.ok()) return s.status();
      if (key == "tenant") r.tenant = *s;
      if (key == "contextSourceAlias") r.alias = *s;
    } else if (key == "mode") {
      auto m = v.IsString() ? mode_from_name(str(v)) : std::nullopt;
      if (!m) {
        return bad("mode: " + json_text(v).substr(0, 100) +
                   " is not inclusive, exclusive, redirect or auxiliary");
      }
      r.mode = *m;
    } else if (key == "operations") {
      if (!v.IsArray() || v.Empty()) return bad("operations: must be a non-empty array");
      r.operations.clear();
      for (const auto& op : v.GetArray()) {
        if (!op.IsString() || !known_operation(str(op))) {
          return bad("operations: " + json_text(op).substr(0, 100) +
                     " is not an operation or operation group (§4.20)");
        }
        r.operations.push_back(str(op));
      }
    } else if (key == "expiresAt") {
      std::optional<int64_t> at = v.IsString() ? parse_datetime(str(v)) : std::nullopt;
      if (!at) return bad("expiresAt: must be a DateTime");
      if (now != kNoTime && *at <= now)
        return bad("expiresAt: " + str(v) + " is not in the future");
      r.expires_at = *at;
    } else if (key == "observationInterval" || key == "managementInterval") {
      auto t = time_interval(name, v);
      if (!t.ok()) return t.status();
      (key == "observationInterval" ? r.observation_interval : r.management_interval) = *t;
    } else if (key == "location" || key == "observationSpace" || key == "operationSpace") {
      auto g = geo::parse_geojson(v);
      if (!g.ok()) return bad(name + ": " + g.status().detail());
      (key == "location"           ? r.location
       : key == "observationSpace" ? r.observation_space
                                   : r.operation_space) = std::move(*g);
    } else if (key == "scope") {
      r.scopes.clear();
      auto add = [&](const JsonValue& s) {
        if (!s.IsString() || !valid_scope(str(s))) {
          return bad("scope: " + json_text(s).substr(0, 100) + " is not a scope (§4.18)");
        }
        r.scopes.push_back(str(s));
        return Status::Ok();
      };
      if (v.IsArray()) {
        for (const auto& s : v.GetArray())
          TSUNAGU_RETURN_IF_ERROR(add(s));
      } else {
        TSUNAGU_RETURN_IF_ERROR(add(v));
      }
    } else if (key == "datasetId") {
      auto ok = [](const JsonValue& d) {
        return d.IsString() && (str(d) == "@none" || is_absolute_uri(str(d)));
      };
      bool valid = v.IsArray() ? std::all_of(v.Begin(), v.End(), ok) : ok(v);
      if (!valid) return bad("datasetId: must be URIs or \"@none\"");
    } else if (key == "contextSourceInfo") {
      TSUNAGU_RETURN_IF_ERROR(key_values(v));
      r.context_source_info.clear();
      for (const auto& kv : v.GetArray())
        r.context_source_info.emplace_back(str(kv["key"]), str(kv["value"]));
    } else if (key == "management") {
      TSUNAGU_RETURN_IF_ERROR(management(v));
      if (auto t = v.FindMember("timeout"); t != v.MemberEnd()) r.timeout_ms = t->value.GetDouble();
      if (auto c = v.FindMember("cooldown"); c != v.MemberEnd())
        r.cooldown_ms = c->value.GetDouble();
    } else {
      // A context source property (§5.2.9: "Context Source Property" members, any name).
      if (!valid_name(name) && !is_absolute_uri(name)) {
        return bad("'" + name.substr(0, 100) + "' is not a member of a registration or a name");
      }
      if (v.IsNull()) return bad(name + ": a context source property cannot be null");
      keep(std::string(ctx.expand(name).str()), v);
      return Status::Ok();
    }
    keep(name, v);
    return Status::Ok();
  }

  // Reads every member of `body` (an object), with what every payload may carry.
  Status all(const JsonValue& body, bool fragment) {
    for (const auto& m : body.GetObject()) {
      std::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (key == "@context" || one_of(kReadOnly, key)) continue;
      if (key == "id") {
        if (!m.value.IsString() || !is_absolute_uri(str(m.value))) {
          return bad("id: " + json_text(m.value).substr(0, 200) + " is not a URI");
        }
        if (fragment && str(m.value) != r.id) {
          return bad("id: '" + str(m.value) + "' is not the registration's own");
        }
        r.id = str(m.value);
        continue;
      }
      if (key == "type") {
        if (!m.value.IsString() || str(m.value) != kType) {
          return bad("type: must be \"ContextSourceRegistration\", not " +
                     json_text(m.value).substr(0, 100));
        }
        continue;
      }
      TSUNAGU_RETURN_IF_ERROR(member(key, m.value));
    }
    return Status::Ok();
  }
};

// The properties entity (Registration::properties) of a registration read from `members`.
Result<std::shared_ptr<const Entity>> properties_entity(const Registration& r,
                                                        const Members& members,
                                                        const jsonld::Context& ctx) {
  std::string text;
  JsonWriter w(text);
  w.begin_object();
  w.key("id");
  w.string("urn:ngsi-ld:ContextSourceRegistration:properties");
  w.key("type");
  w.string(kType);
  if (!r.scopes.empty()) {
    w.key("scope");
    w.begin_array();
    for (const auto& s : r.scopes)
      w.string(s);
    w.end_array();
  }
  for (const auto& [name, value] : members) {
    const bool geo = name == "location" || name == "observationSpace" || name == "operationSpace";
    if (!geo && !is_absolute_uri(name)) continue;  // a reserved member
    w.key(name);
    w.begin_object();
    w.key("type");
    w.string(geo ? "GeoProperty" : "Property");
    w.key("value");
    w.raw(value);
    w.end_object();
  }
  w.end_object();
  JsonDoc doc;
  TSUNAGU_RETURN_IF_ERROR(parse_json(text, doc));
  auto in = parse_entity(doc, ctx, {});
  if (!in.ok()) return in.status();
  auto e = std::make_shared<Entity>();
  e->id = std::move(*in->id);
  e->types = std::move(in->types);
  if (in->scopes) e->scopes = std::move(*in->scopes);
  for (auto& a : in->attrs)
    e->put(std::move(a));
  return std::shared_ptr<const Entity>(std::move(e));
}

// Checks the whole and puts the stored document together.
Status finish(Registration& r, const Members& members, const jsonld::Context& ctx) {
  auto has = [&](std::string_view name) {
    return std::any_of(members.begin(), members.end(),
                       [name](const auto& m) { return m.first == name; });
  };
  if (!has("information")) return bad("information: is required");
  if (!has("endpoint")) return bad("endpoint: is required");
  r.doc.clear();
  JsonWriter w(r.doc);
  w.begin_object();
  for (const auto& [name, value] : members) {
    w.key(name);
    w.raw(value);
  }
  w.end_object();
  auto props = properties_entity(r, members, ctx);
  if (!props.ok()) return bad("context source properties: " + props.status().detail());
  r.properties = std::move(*props);
  return Status::Ok();
}

Members members_of(const JsonValue& doc) {
  Members out;
  for (const auto& m : doc.GetObject())
    out.emplace_back(str(m.name), json_text(m.value));
  return out;
}

// A registration read again from a stored document (names expanded, checked when written).
Result<Registration> reread(const Registration& from, const JsonValue& doc,
                            const jsonld::Context& ctx) {
  Registration r;
  r.id = from.id;
  r.request_context = from.request_context;
  r.created_at = from.created_at;
  r.modified_at = from.modified_at;
  Members members;
  Reader reader{ctx, kNoTime, r, members};
  TSUNAGU_RETURN_IF_ERROR(reader.all(doc, false));
  TSUNAGU_RETURN_IF_ERROR(finish(r, members, ctx));
  return r;
}

// The same from stored members (the ones a PATCH merged).
Result<Registration> reread(const Registration& from, const Members& stored,
                            const jsonld::Context& ctx) {
  std::string text;
  JsonWriter w(text);
  w.begin_object();
  for (const auto& [name, value] : stored) {
    w.key(name);
    w.raw(value);
  }
  w.end_object();
  JsonDoc doc;
  TSUNAGU_RETURN_IF_ERROR(parse_json(text, doc));
  return reread(from, doc, ctx);
}

}  // namespace

Result<Registration> parse_registration(const JsonValue& body, const jsonld::Context& ctx,
                                        int64_t now) {
  if (!body.IsObject()) return bad("a registration must be a JSON object");
  Registration r;
  Members members;
  Reader reader{ctx, now, r, members};
  TSUNAGU_RETURN_IF_ERROR(reader.all(body, false));
  auto type = body.FindMember("type");
  if (type == body.MemberEnd()) return bad("type: is required (\"ContextSourceRegistration\")");
  TSUNAGU_RETURN_IF_ERROR(finish(r, members, ctx));
  if (auto c = body.FindMember("@context"); c != body.MemberEnd()) {
    r.request_context = json_text(c->value);
  }
  return r;
}

Status apply_registration_patch(Registration& r, const JsonValue& fragment,
                                const jsonld::Context& ctx, int64_t now) {
  if (!fragment.IsObject()) return bad("a registration fragment must be a JSON object");
  JsonDoc current;
  TSUNAGU_RETURN_IF_ERROR(parse_json(r.doc, current));
  Members merged = members_of(current);
  for (const auto& m : fragment.GetObject()) {
    std::string key = str(m.name);
    if (key == "@context" || one_of(kReadOnly, key)) continue;
    // The member's stored form, read on its own.
    Registration scratch;
    scratch.id = r.id;
    Members one;
    Reader reader{ctx, now, scratch, one};
    if (key == "id" || key == "type") {
      JsonDoc single(rapidjson::kObjectType);
      single.AddMember(JsonValue(key.c_str(), single.GetAllocator()),
                       JsonValue(m.value, single.GetAllocator()), single.GetAllocator());
      TSUNAGU_RETURN_IF_ERROR(reader.all(single, true));
      continue;
    }
    std::string stored_name = key;
    if (m.value.IsNull()) {
      if (key == "information" || key == "endpoint") {
        return bad(key + ": is mandatory and cannot be removed");
      }
      // A context source property is stored under its expanded name.
      if (!one_of(kMembers, key)) stored_name = std::string(ctx.expand(key).str());
      std::erase_if(merged, [&](const auto& e) { return e.first == stored_name; });
      continue;
    }
    TSUNAGU_RETURN_IF_ERROR(reader.member(key, m.value));
    for (auto& member : one) {
      auto it = std::find_if(merged.begin(), merged.end(),
                             [&member](const auto& e) { return e.first == member.first; });
      if (it != merged.end()) {
        it->second = std::move(member.second);
      } else {
        merged.push_back(std::move(member));
      }
    }
  }
  auto next = reread(r, merged, ctx);
  if (!next.ok()) return next.status();
  r = std::move(*next);
  return Status::Ok();
}

std::string encode_registration(const Registration& r, const RegistrationState& st) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id");
  w.string(r.id);
  w.key("doc");
  w.raw(r.doc);
  w.key("context");
  w.string(r.request_context);
  w.key("createdAt");
  w.number(r.created_at);
  w.key("modifiedAt");
  w.number(r.modified_at);
  w.key("timesSent");
  w.number(static_cast<int64_t>(st.times_sent));
  w.key("timesFailed");
  w.number(static_cast<int64_t>(st.times_failed));
  w.key("lastSuccess");
  w.number(st.last_success);
  w.key("lastFailure");
  w.number(st.last_failure);
  w.end_object();
  return out;
}

Result<StoredRegistration> decode_registration(std::string_view text, const jsonld::Context& ctx) {
  JsonDoc doc;
  if (!parse_json(text, doc).ok() || !doc.IsObject()) {
    return Status::Internal("stored registration: not a JSON object");
  }
  auto get = [&doc](const char* name) -> const JsonValue* {
    auto it = doc.FindMember(name);
    return it == doc.MemberEnd() ? nullptr : &it->value;
  };
  const JsonValue* id = get("id");
  const JsonValue* body = get("doc");
  const JsonValue* context = get("context");
  if (id == nullptr || !id->IsString() || body == nullptr || !body->IsObject() ||
      context == nullptr || !context->IsString()) {
    return Status::Internal("stored registration: id, doc or context missing");
  }
  auto number = [&get](const char* name) -> int64_t {
    const JsonValue* v = get(name);
    return v != nullptr && v->IsInt64() ? v->GetInt64() : kNoTime;
  };
  Registration from;
  from.id = str(*id);
  from.request_context = str(*context);
  from.created_at = number("createdAt");
  from.modified_at = number("modifiedAt");
  auto r = reread(from, *body, ctx);
  if (!r.ok()) return Status::Internal("stored registration: " + r.status().detail());
  StoredRegistration out{std::move(*r), {}};
  out.state.times_sent = static_cast<uint64_t>(std::max<int64_t>(0, number("timesSent")));
  out.state.times_failed = static_cast<uint64_t>(std::max<int64_t>(0, number("timesFailed")));
  out.state.last_success = number("lastSuccess");
  out.state.last_failure = number("lastFailure");
  return out;
}

}  // namespace tsunagu::ngsild::registration
