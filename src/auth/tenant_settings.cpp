#include "auth/tenant_settings.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/json.hpp"
#include "common/json_writer.hpp"

namespace tsunagu::auth {
namespace {

Status damaged(std::string_view what) {
  return Status::Internal("stored tenant settings: " + std::string(what));
}

}  // namespace

double TenantSettings::bucket_size() const {
  return burst > 0 ? static_cast<double>(burst) : std::max(1.0, requests_per_second);
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
  w.key("corsOrigins");
  w.begin_array();
  for (const std::string& o : s.cors_origins)
    w.string(o);
  w.end_array();
  w.key("publicRead");
  w.boolean(s.public_read);
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
