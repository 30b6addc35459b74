// The request headers every NGSI-LD call reads before its handler's own work, as functions of
// the request alone: media types (ETSI GS CIM 009 §6.3.4), Accept negotiation (RFC 9110
// §12.5.1), NGSILD-Tenant (§6.3.14) and the @context Link header (§6.3.5, RFC 8288).
// prepare.cpp applies them in its order; fuzz/http.cpp feeds them hostile headers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "http/message.hpp"

namespace tsunagu::http::api {

inline constexpr std::string_view kJsonLdContextRel = "http://www.w3.org/ns/json-ld#context";

enum class MediaType : unsigned char { kNone, kJson, kJsonLd, kGeoJson, kMergePatch };
std::string_view media_type_name(MediaType m);

// The media type of a Content-Type value (parameters ignored, case-insensitive); kNone for any
// other.
MediaType parse_media_type(std::string_view value);

// The response media type for an Accept value, among what a route `produces` (in its order of
// preference): highest q wins, ties go to the earlier. The first when Accept is empty;
// NotAcceptable when Accept allows none of them.
Result<MediaType> negotiate(std::string_view accept, const std::vector<MediaType>& produces);

// The tenant a request names (§6.3.14), and whether it may: `problem` is BadRequestData when
// NGSILD-Tenant is given more than once (then `given` is false: neither is taken), or is not
// 1-64 letters, digits, '_', '-' or '.' once its surrounding blanks are trimmed (then `name`
// holds it, which the error response echoes like any other).
struct Tenant {
  std::string name;  // "" = the default tenant
  bool given = false;
  Status problem;
};
Tenant tenant_of(const Request& req);
// Whether `name` is a tenant name NGSILD-Tenant may give: 1-64 letters, digits, '_', '-', '.'.
bool valid_tenant(std::string_view name);

// The @context URL of a Link header (RFC 8288): the link with
// rel="http://www.w3.org/ns/json-ld#context", or the only link when none has a rel.
// BadRequestData otherwise.
Result<std::string> link_context(std::string_view header);

}  // namespace tsunagu::http::api
