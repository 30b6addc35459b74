#include "http/api/headers.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace tsunagu::http::api {

bool valid_tenant(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

MediaType parse_media_type(std::string_view v) {
  std::string t = ascii_lower(trim_ows(v.substr(0, v.find(';'))));
  if (t == "application/json") return MediaType::kJson;
  if (t == "application/ld+json") return MediaType::kJsonLd;
  if (t == "application/geo+json") return MediaType::kGeoJson;
  if (t == "application/merge-patch+json") return MediaType::kMergePatch;
  return MediaType::kNone;
}

Result<MediaType> negotiate(std::string_view accept, const std::vector<MediaType>& produces) {
  if (produces.empty()) return MediaType::kNone;
  accept = trim_ows(accept);
  if (accept.empty()) return produces.front();
  double best_q = 0;
  MediaType best = MediaType::kNone;
  for (MediaType m : produces) {
    std::string name(media_type_name(m));
    std::string family = name.substr(0, name.find('/'));
    double q_for_m = -1;
    int specificity = -1;
    size_t pos = 0;
    while (pos <= accept.size()) {
      size_t comma = accept.find(',', pos);
      if (comma == std::string_view::npos) comma = accept.size();
      std::string_view item = trim_ows(accept.substr(pos, comma - pos));
      pos = comma + 1;
      if (item.empty()) continue;
      std::string range = ascii_lower(trim_ows(item.substr(0, item.find(';'))));
      double q = 1;
      size_t qp = item.find("q=");
      if (qp != std::string_view::npos) q = std::atof(std::string(item.substr(qp + 2)).c_str());
      int spec = range == name ? 2 : range == family + "/*" ? 1 : range == "*/*" ? 0 : -1;
      if (spec > specificity) {
        specificity = spec;
        q_for_m = q;
      }
    }
    if (specificity >= 0 && q_for_m > best_q) {
      best_q = q_for_m;
      best = m;
    }
  }
  if (best == MediaType::kNone) {
    std::string names;
    for (MediaType m : produces) {
      if (!names.empty()) names += ", ";
      names += media_type_name(m);
    }
    return Status(ErrorKind::kNotAcceptable,
                  "Accept '" + std::string(accept.substr(0, 200)) + "' allows none of " + names);
  }
  return best;
}

Tenant tenant_of(const Request& req) {
  Tenant t;
  if (size_t n = req.header_count("ngsild-tenant"); n > 1) {
    // A gateway that appends the tenant it authorised must not be outvoted by one the client
    // put first: which tenant is meant is ambiguous, so neither is taken.
    t.problem = Status::BadRequestData("NGSILD-Tenant is given " + std::to_string(n) +
                                       " times; a request names one tenant");
    return t;
  }
  if (!req.has_header("ngsild-tenant")) return t;
  t.name = std::string(trim_ows(req.header("ngsild-tenant")));
  t.given = true;
  if (!valid_tenant(t.name)) {
    t.problem =
        Status::BadRequestData("NGSILD-Tenant '" + t.name.substr(0, 80) +
                               "' is not a tenant name (1-64 letters, digits, '_', '-' or '.')");
  }
  return t;
}

Result<std::string> link_context(std::string_view header) {
  std::string candidate;
  int without_rel = 0;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t lt = header.find('<', pos);
    if (lt == std::string_view::npos) break;
    size_t gt = header.find('>', lt);
    if (gt == std::string_view::npos) break;
    std::string url(trim_ows(header.substr(lt + 1, gt - lt - 1)));
    size_t next = header.find(",", gt);
    std::string_view attrs =
        header.substr(gt + 1, (next == std::string_view::npos ? header.size() : next) - gt - 1);
    pos = next == std::string_view::npos ? header.size() : next + 1;
    size_t rel = attrs.find("rel=");
    if (rel == std::string_view::npos) {
      ++without_rel;
      candidate = url;
      continue;
    }
    std::string_view value = trim_ows(attrs.substr(rel + 4));
    value = value.substr(0, value.find(';'));
    if (!value.empty() && value.front() == '"') value = value.substr(1, value.find('"', 1) - 1);
    if (value == kJsonLdContextRel) return url;
  }
  if (without_rel == 1) return candidate;
  return Status::BadRequestData("Link header '" + std::string(header.substr(0, 200)) +
                                "' has no link with rel=\"" + std::string(kJsonLdContextRel) +
                                "\"");
}

std::string_view media_type_name(MediaType m) {
  switch (m) {
    case MediaType::kJson:
      return "application/json";
    case MediaType::kJsonLd:
      return "application/ld+json";
    case MediaType::kGeoJson:
      return "application/geo+json";
    case MediaType::kMergePatch:
      return "application/merge-patch+json";
    case MediaType::kNone:
      return "";
  }
  return "";
}

}  // namespace tsunagu::http::api
