// Status and Result<T>: how bcauth reports the failures a caller is expected to handle
// (bad input, failed decryption, a message the device would refuse). Exceptions are kept
// for programming errors and resource exhaustion only.
#pragma once

#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bcauth {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // malformed input: bad Base64, a missing field, a wrong length
  kDecryptionFailed, // every cryptographic failure of a token, deliberately indistinguishable
  kNotFound,
  kConflict,
  kIdempotencyConflict,  // an Idempotency-Key already used with a different body
  kInternal,
  kStorageUnavailable,  // the store cannot take writes now (disk full, I/O error, lost connection): retry later
  // The HTTP edge's own refusals, so that one table (http::httpStatusFor) answers every failure.
  kBadRequest,               // a request whose framing or head is malformed
  kUnauthorized,             // no credentials
  kForbidden,                // credentials that are not valid, or a key acting beyond its business
  kMethodNotAllowed,         // a known path, another method
  kRequestTimeout,           // a request head that did not arrive in time
  kPayloadTooLarge,          // a body over the cap
  kUriTooLong,               // a request line over the cap
  kTooManyRequests,          // over a rate limit or the cap on open long-polls: retry later
  kTooManyConnections,       // too many open connections from one address
  kHeadersTooLarge,          // header fields over the cap
  kNotImplemented,           // a Transfer-Encoding the server does not speak
  kServerBusy,               // no worker or connection free: retry later
  kHttpVersionNotSupported,  // anything but HTTP/1.1 and HTTP/1.0
  kLast = kHttpVersionNotSupported,
};

constexpr std::string_view toString(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kDecryptionFailed: return "decryption_failed";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kIdempotencyConflict: return "idempotency_conflict";
    case StatusCode::kInternal: return "internal";
    case StatusCode::kStorageUnavailable: return "storage_unavailable";
    case StatusCode::kBadRequest: return "bad_request";
    case StatusCode::kUnauthorized: return "unauthorized";
    case StatusCode::kForbidden: return "forbidden";
    case StatusCode::kMethodNotAllowed: return "method_not_allowed";
    case StatusCode::kRequestTimeout: return "request_timeout";
    case StatusCode::kPayloadTooLarge: return "payload_too_large";
    case StatusCode::kUriTooLong: return "uri_too_long";
    case StatusCode::kTooManyRequests: return "too_many_requests";
    case StatusCode::kTooManyConnections: return "too_many_connections";
    case StatusCode::kHeadersTooLarge: return "headers_too_large";
    case StatusCode::kNotImplemented: return "not_implemented";
    case StatusCode::kServerBusy: return "server_busy";
    case StatusCode::kHttpVersionNotSupported: return "http_version_not_supported";
  }
  return "unknown";
}

inline std::ostream& operator<<(std::ostream& out, StatusCode code) { return out << toString(code); }

class Status {
 public:
  Status() = default;

  static Status ok() { return Status(); }
  static Status invalidArgument(std::string message, std::string field = {}) {
    return Status(StatusCode::kInvalidArgument, std::move(message), std::move(field));
  }
  static Status decryptionFailed() {
    return Status(StatusCode::kDecryptionFailed, "token could not be decrypted", {});
  }
  static Status notFound(std::string message) { return Status(StatusCode::kNotFound, std::move(message), {}); }
  static Status conflict(std::string message) { return Status(StatusCode::kConflict, std::move(message), {}); }
  static Status idempotencyConflict(std::string message, std::string field) {
    return Status(StatusCode::kIdempotencyConflict, std::move(message), std::move(field));
  }
  static Status internal(std::string message) { return Status(StatusCode::kInternal, std::move(message), {}); }
  static Status storageUnavailable(std::string message) {
    return Status(StatusCode::kStorageUnavailable, std::move(message), {});
  }
  // One of the HTTP edge's refusals (kBadRequest … kHttpVersionNotSupported), with its message.
  // A business API key naming another business (never for another business's objects: those
  // are not_found, so their ids cannot be probed).
  static Status forbidden(std::string message, std::string field = {}) {
    return Status(StatusCode::kForbidden, std::move(message), std::move(field));
  }
  static Status refusal(StatusCode code, std::string message) { return Status(code, std::move(message), {}); }

  bool isOk() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The input field at fault, as a dotted path ("interactiveData.data.requestIdentifier"); may be empty.
  const std::string& field() const { return field_; }

  // "field: message", or just the message when no field is known.
  std::string toString() const { return field_.empty() ? message_ : field_ + ": " + message_; }

 private:
  Status(StatusCode code, std::string message, std::string field)
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string field_;
};

// Either a value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.isOk()) throw std::logic_error("a Result without a value needs a failed Status");
  }

  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status& status() const { return status_; }

  // Reading the value of a failed Result is a programming error, in every build (an assert would
  // be gone in release builds, leaving undefined behaviour): it throws std::logic_error naming
  // the Status.
  T& value() & {
    if (!value_) failedValue();
    return *value_;
  }
  const T& value() const& {
    if (!value_) failedValue();
    return *value_;
  }
  T&& value() && {
    if (!value_) failedValue();
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  [[noreturn]] void failedValue() const {
    throw std::logic_error("value() of a failed Result: " + status_.toString());
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace bcauth
