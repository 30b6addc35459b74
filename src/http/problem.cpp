#include "http/problem.hpp"

#include "common/json_writer.hpp"
#include "common/utf8.hpp"

namespace tsunagu::http {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk:
      return 200;
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kBadRequestData:
      return 400;
    case ErrorKind::kAlreadyExists:
      return 409;
    case ErrorKind::kOperationNotSupported:
      return 422;
    case ErrorKind::kResourceNotFound:
    case ErrorKind::kNonexistentTenant:
      return 404;
    case ErrorKind::kInternalError:
      return 500;
    case ErrorKind::kTooComplexQuery:
    case ErrorKind::kTooManyResults:
      return 403;
    case ErrorKind::kLdContextNotAvailable:
      return 503;
    case ErrorKind::kNoMultiTenantSupport:
      return 501;
    case ErrorKind::kGatewayTimeout:
      return 504;
    case ErrorKind::kLoopDetected:
      return 508;
    case ErrorKind::kMethodNotAllowed:
      return 405;
    case ErrorKind::kNotAcceptable:
      return 406;
    case ErrorKind::kUnsupportedMediaType:
      return 415;
    case ErrorKind::kLengthRequired:
      return 411;
    case ErrorKind::kPayloadTooLarge:
      return 413;
    case ErrorKind::kHeaderTooLarge:
      return 431;
    case ErrorKind::kUriTooLong:
      return 414;
    case ErrorKind::kServiceUnavailable:
      return 503;
    case ErrorKind::kNotImplemented:
      return 501;
    case ErrorKind::kUnauthorized:
      return 401;
    case ErrorKind::kForbidden:
      return 403;
    case ErrorKind::kTooManyRequests:
      return 429;
  }
  return 500;
}

std::string_view problem_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequestData:
      return "https://uri.etsi.org/ngsi-ld/errors/BadRequestData";
    case ErrorKind::kAlreadyExists:
      return "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists";
    case ErrorKind::kOperationNotSupported:
      return "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported";
    case ErrorKind::kResourceNotFound:
      return "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound";
    case ErrorKind::kInternalError:
    case ErrorKind::kServiceUnavailable:
      return "https://uri.etsi.org/ngsi-ld/errors/InternalError";
    case ErrorKind::kTooComplexQuery:
      return "https://uri.etsi.org/ngsi-ld/errors/TooComplexQuery";
    case ErrorKind::kTooManyResults:
      return "https://uri.etsi.org/ngsi-ld/errors/TooManyResults";
    case ErrorKind::kLdContextNotAvailable:
      return "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable";
    case ErrorKind::kNoMultiTenantSupport:
      return "https://uri.etsi.org/ngsi-ld/errors/NoMultiTenantSupport";
    case ErrorKind::kNonexistentTenant:
      return "https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant";
    case ErrorKind::kGatewayTimeout:
      return "https://uri.etsi.org/ngsi-ld/errors/GatewayTimeout";
    case ErrorKind::kLoopDetected:
      return "https://uri.etsi.org/ngsi-ld/errors/LoopDetected";
    default:
      return "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest";
  }
}

std::string_view problem_title(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk:
      return "OK";
    case ErrorKind::kInvalidRequest:
      return "Invalid request";
    case ErrorKind::kBadRequestData:
      return "Bad request data";
    case ErrorKind::kAlreadyExists:
      return "Already exists";
    case ErrorKind::kOperationNotSupported:
      return "Operation not supported";
    case ErrorKind::kResourceNotFound:
      return "Resource not found";
    case ErrorKind::kInternalError:
      return "Internal error";
    case ErrorKind::kTooComplexQuery:
      return "Too complex query";
    case ErrorKind::kTooManyResults:
      return "Too many results";
    case ErrorKind::kLdContextNotAvailable:
      return "JSON-LD @context not available";
    case ErrorKind::kNoMultiTenantSupport:
      return "No multi-tenant support";
    case ErrorKind::kNonexistentTenant:
      return "Nonexistent tenant";
    case ErrorKind::kGatewayTimeout:
      return "Gateway timeout";
    case ErrorKind::kLoopDetected:
      return "Loop detected";
    case ErrorKind::kMethodNotAllowed:
      return "Method not allowed";
    case ErrorKind::kNotAcceptable:
      return "Not acceptable";
    case ErrorKind::kUnsupportedMediaType:
      return "Unsupported media type";
    case ErrorKind::kLengthRequired:
      return "Length required";
    case ErrorKind::kPayloadTooLarge:
      return "Payload too large";
    case ErrorKind::kHeaderTooLarge:
      return "Request header fields too large";
    case ErrorKind::kUriTooLong:
      return "URI too long";
    case ErrorKind::kServiceUnavailable:
      return "Service unavailable";
    case ErrorKind::kNotImplemented:
      return "Not implemented";
    case ErrorKind::kUnauthorized:
      return "Unauthorized";
    case ErrorKind::kForbidden:
      return "Forbidden";
    case ErrorKind::kTooManyRequests:
      return "Too many requests";
  }
  return "Error";
}

std::string problem_json(const Status& status) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("type");
  w.string(problem_type(status.kind()));
  w.key("title");
  w.string(problem_title(status.kind()));
  w.key("status");
  w.number(static_cast<int64_t>(http_status(status.kind())));
  w.key("detail");
  // Details quote what the client sent, which need not be UTF-8; the body must be (RFC 8259).
  w.string(to_valid_utf8(status.detail()));
  w.end_object();
  return out;
}

Response problem_response(const Status& status, std::string_view challenge) {
  Response r;
  r.status = http_status(status.kind());
  r.content_type = "application/json";
  r.body = problem_json(status);
  // The scheme a client is to authenticate with (RFC 6750 §3). No error code: the detail says
  // what was wrong, and a request without credentials should get none.
  if (status.kind() == ErrorKind::kUnauthorized)
    r.add_header("WWW-Authenticate", std::string(challenge));
  return r;
}

}  // namespace tsunagu::http
