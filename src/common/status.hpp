// The one error currency of Tsunagu: a Status carries an error kind named after the NGSI-LD
// error types (ETSI GS CIM 009 §5.5.2 / §6.3.2) and a precise detail; Result<T> is a value or a
// Status. Mapping a kind to an HTTP status and ProblemDetails body happens only in http/problem.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tsunagu {

enum class ErrorKind : unsigned char {
  kOk = 0,
  // NGSI-LD error types.
  kInvalidRequest,
  kBadRequestData,
  kAlreadyExists,
  kOperationNotSupported,
  kResourceNotFound,
  kInternalError,
  kTooComplexQuery,
  kTooManyResults,
  kLdContextNotAvailable,
  kNoMultiTenantSupport,
  kNonexistentTenant,
  kGatewayTimeout,
  kLoopDetected,
  // Protocol-level refusals (reported with the InvalidRequest type and their own HTTP status).
  kMethodNotAllowed,
  kNotAcceptable,
  kUnsupportedMediaType,
  kLengthRequired,
  kPayloadTooLarge,
  kHeaderTooLarge,
  kUriTooLong,
  kServiceUnavailable,
  kNotImplemented,   // HTTP features the server does not implement (a transfer coding, RFC 9112)
  kUnauthorized,     // no valid credentials (401 with WWW-Authenticate, RFC 9110 §15.5.2)
  kForbidden,        // valid credentials that do not allow the request (403, RFC 9110 §15.5.4)
  kTooManyRequests,  // over the tenant's request rate (429 with Retry-After, RFC 6585 §4)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorKind kind, std::string detail) : kind_(kind), detail_(std::move(detail)) {}

  static Status Ok() { return Status(); }
  static Status InvalidRequest(std::string d) { return {ErrorKind::kInvalidRequest, std::move(d)}; }
  static Status BadRequestData(std::string d) { return {ErrorKind::kBadRequestData, std::move(d)}; }
  static Status AlreadyExists(std::string d) { return {ErrorKind::kAlreadyExists, std::move(d)}; }
  static Status NotFound(std::string d) { return {ErrorKind::kResourceNotFound, std::move(d)}; }
  static Status Internal(std::string d) { return {ErrorKind::kInternalError, std::move(d)}; }
  static Status NotSupported(std::string d) {
    return {ErrorKind::kOperationNotSupported, std::move(d)};
  }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& detail() const { return detail_; }

 private:
  ErrorKind kind_ = ErrorKind::kOk;
  std::string detail_;
};

// A value of type T, or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Status& status() const& { return std::get<1>(v_); }
  Status&& status() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Status> v_;
};

inline Status status_of(Status s) {
  return s;
}
template <class T>
Status status_of(Result<T>&& r) {
  return std::move(r).status();
}

}  // namespace tsunagu

// Propagates a failed Status (or the Status of a failed Result) to the caller.
#define TSUNAGU_RETURN_IF_ERROR(expr)                           \
  do {                                                          \
    auto _st = (expr);                                          \
    if (!_st.ok()) return ::tsunagu::status_of(std::move(_st)); \
  } while (0)
