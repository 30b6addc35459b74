// The one table from error kinds to HTTP status codes and ProblemDetails bodies (IETF RFC 7807
// as profiled by ETSI GS CIM 009 §5.5.2 and §6.3.2).
#pragma once

#include <string>
#include <string_view>

#include "common/status.hpp"
#include "http/message.hpp"

namespace tsunagu::http {

int http_status(ErrorKind kind);
// "https://uri.etsi.org/ngsi-ld/errors/BadRequestData", ...
std::string_view problem_type(ErrorKind kind);
std::string_view problem_title(ErrorKind kind);

// A ProblemDetails body ({"type","title","status","detail"}) as JSON text.
std::string problem_json(const Status& status);
// The challenge of a 401 where a route set names none: bearer tokens (RFC 6750 §3).
inline constexpr std::string_view kBearerChallenge = "Bearer realm=\"ngsi-ld\"";

// A complete error response, "application/json" (§6.3.2). Unauthorized carries `challenge` as
// its WWW-Authenticate (RFC 9110 §11.6.1): the schemes the client may authenticate with.
Response problem_response(const Status& status, std::string_view challenge = kBearerChallenge);

}  // namespace tsunagu::http
