#include "auth/tenant_settings.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <optional>

#include "common/json.hpp"
#include "common/json_writer.hpp"

namespace tsunagu::auth {
namespace {

Status damaged(std::string_view what) {
  return Status::Internal("stored tenant settings: " + std::string(what));
}

void write_roles(JsonWriter& w, const std::vector<Role>& roles) {
  w.begin_array();
  for (const Role& role : roles) {
    w.begin_object();
    w.key("name");
    w.string(role.name);
    w.key("description");
    w.string(role.description);
    w.key("rules");
    w.begin_array();
    for (const RoleRule& r : role.rules) {
      w.begin_object();
      w.key("access");
      w.string(r.write ? "write" : "read");
      w.key("types");
      w.begin_array();
      for (const std::string& t : r.types)
        w.string(t);
      w.end_array();
      w.key("idPattern");
      w.string(r.id_pattern);
      w.key("scopeQ");
      w.string(r.scope_q);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
}

std::optional<std::string> string_of(const JsonValue& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

Status read_roles(const JsonValue& roles, const std::string& tenant, std::vector<Role>& out) {
  if (!roles.IsArray()) return damaged("'" + tenant + "' has roles that are not an array");
  for (const auto& r : roles.GetArray()) {
    Role role;
    auto name = r.IsObject() ? string_of(r, "name") : std::nullopt;
    auto description = name ? string_of(r, "description") : std::nullopt;
    auto rules = r.IsObject() ? r.FindMember("rules") : r.MemberEnd();
    if (!description || rules == r.MemberEnd() || !rules->value.IsArray())
      return damaged("'" + tenant + "' has a role without its name, description or rules");
    role.name = std::move(*name);
    role.description = std::move(*description);
    for (const auto& rule : rules->value.GetArray()) {
      RoleRule rr;
      auto access = rule.IsObject() ? string_of(rule, "access") : std::nullopt;
      auto pattern = access ? string_of(rule, "idPattern") : std::nullopt;
      auto scope = pattern ? string_of(rule, "scopeQ") : std::nullopt;
      auto types = rule.IsObject() ? rule.FindMember("types") : rule.MemberEnd();
      if (!scope || types == rule.MemberEnd() || !types->value.IsArray())
        return damaged("role '" + role.name + "' of '" + tenant + "' has a rule that is not one");
      rr.write = *access == "write";
      rr.id_pattern = std::move(*pattern);
      rr.scope_q = std::move(*scope);
      for (const auto& t : types->value.GetArray()) {
        if (!t.IsString()) return damaged("role '" + role.name + "' has a type that is not text");
        rr.types.emplace_back(t.GetString(), t.GetStringLength());
      }
      role.rules.push_back(std::move(rr));
    }
    if (Status st = compile_role(role); !st.ok()) return damaged(st.detail());
    out.push_back(std::move(role));
  }
  return Status::Ok();
}

}  // namespace

double TenantSettings::bucket_size() const {
  return burst > 0 ? static_cast<double>(burst) : std::max(1.0, requests_per_second);
}

const Role* TenantSettings::role(std::string_view name) const {
  for (const Role& r : roles) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

bool valid_role_name(std::string_view name) {
  constexpr std::string_view kBuiltIn[] = {"read",   "write",  "admin",
                                           "reader", "editor", "administrator"};
  if (name.empty() || name.size() > 64 ||
      std::find(std::begin(kBuiltIn), std::end(kBuiltIn), name) != std::end(kBuiltIn)) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

Status compile_role(Role& role) {
  auto r = std::make_shared<ngsild::query::Restriction>();
  r->role = role.name;
  for (size_t i = 0; i < role.rules.size(); ++i) {
    const RoleRule& given = role.rules[i];
    const std::string where = "rules[" + std::to_string(i) + "]";
    ngsild::query::AccessRule rule;
    rule.write = given.write;
    for (const std::string& t : given.types)
      rule.types.push_back(Atom::intern(t));
    if (!given.id_pattern.empty()) {
      RE2::Options options;
      options.set_log_errors(false);
      rule.id_pattern = std::make_shared<re2::RE2>(given.id_pattern, options);
      if (!rule.id_pattern->ok()) {
        return Status::BadRequestData(where + ".idPattern: not a regular expression (" +
                                      rule.id_pattern->error() + ")");
      }
    }
    if (!given.scope_q.empty()) {
      auto scope = ngsild::query::parse_scope_query(given.scope_q);
      if (!scope.ok()) return Status::BadRequestData(where + ".scopeQ: " + scope.status().detail());
      rule.scope = std::move(*scope);
    }
    r->rules.push_back(std::move(rule));
  }
  role.restriction = std::move(r);
  return Status::Ok();
}

std::string encode_tenant_settings(const TenantSettings& s) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id");
  w.string(s.id);
  w.key("displayName");
  w.string(s.display_name);
  w.key("municipalityCode");
  w.string(s.municipality_code);
  w.key("licence");
  w.string(s.licence);
  w.key("maxEntities");
  w.number(static_cast<int64_t>(s.max_entities));
  w.key("requestsPerSecond");
  w.number(s.requests_per_second);
  w.key("burst");
  w.number(static_cast<int64_t>(s.burst));
  w.key("notificationsPerSecond");
  w.number(s.notifications_per_second);
  w.key("corsOrigins");
  w.begin_array();
  for (const std::string& o : s.cors_origins)
    w.string(o);
  w.end_array();
  w.key("publicRead");
  w.boolean(s.public_read);
  w.key("roles");
  write_roles(w, s.roles);
  w.key("historyRetentionDays");
  w.number(s.history_retention_days);
  w.key("createdAt");
  w.number(s.created_at);
  w.key("modifiedAt");
  w.number(s.modified_at);
  w.end_object();
  return out;
}

Result<TenantSettings> decode_tenant_settings(std::string_view doc) {
  JsonDoc json;
  if (Status st = parse_json(doc, json); !st.ok()) return damaged(st.detail());
  if (!json.IsObject()) return damaged("not a JSON object");
  TenantSettings s;
  auto text = [&json](const char* name, std::string& out) {
    auto it = json.FindMember(name);
    if (it == json.MemberEnd() || !it->value.IsString()) return false;
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  auto integer = [&json](const char* name, int64_t& out) {
    auto it = json.FindMember(name);
    if (it == json.MemberEnd() || !it->value.IsInt64()) return false;
    out = it->value.GetInt64();
    return true;
  };
  if (!text("id", s.id) || s.id.empty()) return damaged("no id");
  if (!text("displayName", s.display_name) || !text("municipalityCode", s.municipality_code) ||
      !text("licence", s.licence)) {
    return damaged("'" + s.id + "' lacks its displayName, municipalityCode or licence");
  }
  int64_t max_entities = 0, burst = 0;
  auto rps = json.FindMember("requestsPerSecond");
  if (!integer("maxEntities", max_entities) || max_entities < 0 || !integer("burst", burst) ||
      burst < 0 || burst > UINT32_MAX || rps == json.MemberEnd() || !rps->value.IsNumber() ||
      !std::isfinite(rps->value.GetDouble()) || rps->value.GetDouble() < 0) {
    return damaged("'" + s.id + "' has a quota that is not a number");
  }
  s.max_entities = static_cast<uint64_t>(max_entities);
  s.burst = static_cast<uint32_t>(burst);
  s.requests_per_second = rps->value.GetDouble();
  auto origins = json.FindMember("corsOrigins");
  if (origins == json.MemberEnd() || !origins->value.IsArray())
    return damaged("'" + s.id + "' has no corsOrigins");
  for (const auto& o : origins->value.GetArray()) {
    if (!o.IsString()) return damaged("'" + s.id + "' has an origin that is not a string");
    s.cors_origins.emplace_back(o.GetString(), o.GetStringLength());
  }
  // Absent in what was stored before open data could be declared: not public.
  if (auto p = json.FindMember("publicRead"); p != json.MemberEnd()) {
    if (!p->value.IsBool()) return damaged("'" + s.id + "' has a publicRead that is not a boolean");
    s.public_read = p->value.GetBool();
  }
  // Absent in what was stored before notifications could be limited: no limit.
  if (auto n = json.FindMember("notificationsPerSecond"); n != json.MemberEnd()) {
    if (!n->value.IsNumber() || !std::isfinite(n->value.GetDouble()) || n->value.GetDouble() < 0)
      return damaged("'" + s.id + "' has a notificationsPerSecond that is not a rate");
    s.notifications_per_second = n->value.GetDouble();
  }
  // Absent in what was stored before a tenant could have its own retention: the server's.
  if (json.HasMember("historyRetentionDays") &&
      (!integer("historyRetentionDays", s.history_retention_days) ||
       s.history_retention_days < -1)) {
    return damaged("'" + s.id + "' has a historyRetentionDays that is not a number of days");
  }
  // Absent in what was stored before roles could be defined: none.
  if (auto r = json.FindMember("roles"); r != json.MemberEnd())
    TSUNAGU_RETURN_IF_ERROR(read_roles(r->value, s.id, s.roles));
  if (!integer("createdAt", s.created_at) || !integer("modifiedAt", s.modified_at))
    return damaged("'" + s.id + "' has a time that is not a number");
  return s;
}

bool valid_origin(std::string_view origin) {
  std::string_view rest;
  if (origin.starts_with("https://")) {
    rest = origin.substr(8);
  } else if (origin.starts_with("http://")) {
    rest = origin.substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.size() > 253 + 6) return false;
  // A host (a name, an IPv4 address, or an IPv6 one in brackets) and an optional :port.
  size_t host_end = rest.size();
  if (rest.front() == '[') {
    host_end = rest.find(']');
    if (host_end == std::string_view::npos || host_end == 1) return false;
    for (char c : rest.substr(1, host_end - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    ++host_end;
  } else {
    host_end = std::min(rest.find(':'), rest.size());
    if (host_end == 0) return false;
    for (char c : rest.substr(0, host_end)) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
    }
  }
  std::string_view port = rest.substr(host_end);
  if (port.empty()) return true;
  if (port.front() != ':' || port.size() < 2 || port.size() > 6) return false;
  return std::all_of(port.begin() + 1, port.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace tsunagu::auth
