#include "http/errors.h"

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

#include "protocol/text.h"

namespace bcauth::http {

using Poco::Net::HTTPResponse;

HTTPResponse::HTTPStatus httpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return HTTPResponse::HTTP_OK;
    case StatusCode::kInvalidArgument: return HTTPResponse::HTTP_BAD_REQUEST;
    case StatusCode::kDecryptionFailed: return HTTPResponse::HTTP_BAD_REQUEST;
    case StatusCode::kNotFound: return HTTPResponse::HTTP_NOT_FOUND;
    case StatusCode::kConflict: return HTTPResponse::HTTP_CONFLICT;
    // 422, as the IETF Idempotency-Key draft asks: the request is well formed, but its key is
    // bound to another body (409 stays for conflicts with the resource's state).
    case StatusCode::kIdempotencyConflict: return HTTPResponse::HTTP_UNPROCESSABLE_ENTITY;
    case StatusCode::kInternal: return HTTPResponse::HTTP_INTERNAL_SERVER_ERROR;
    case StatusCode::kStorageUnavailable: return HTTPResponse::HTTP_SERVICE_UNAVAILABLE;
    case StatusCode::kBadRequest: return HTTPResponse::HTTP_BAD_REQUEST;
    case StatusCode::kUnauthorized: return HTTPResponse::HTTP_UNAUTHORIZED;
    case StatusCode::kForbidden: return HTTPResponse::HTTP_FORBIDDEN;
    case StatusCode::kMethodNotAllowed: return HTTPResponse::HTTP_METHOD_NOT_ALLOWED;
    case StatusCode::kRequestTimeout: return HTTPResponse::HTTP_REQUEST_TIMEOUT;
    case StatusCode::kPayloadTooLarge: return HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE;
    case StatusCode::kUriTooLong: return HTTPResponse::HTTP_REQUEST_URI_TOO_LONG;
    // Both ask the client to come back later, one for its request rate, one for its connections.
    case StatusCode::kTooManyRequests: return HTTPResponse::HTTP_TOO_MANY_REQUESTS;
    case StatusCode::kTooManyConnections: return HTTPResponse::HTTP_TOO_MANY_REQUESTS;
    case StatusCode::kHeadersTooLarge: return HTTPResponse::HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
    case StatusCode::kNotImplemented: return HTTPResponse::HTTP_NOT_IMPLEMENTED;
    case StatusCode::kServerBusy: return HTTPResponse::HTTP_SERVICE_UNAVAILABLE;
    case StatusCode::kHttpVersionNotSupported: return HTTPResponse::HTTP_VERSION_NOT_SUPPORTED;
  }
  return HTTPResponse::HTTP_INTERNAL_SERVER_ERROR;
}

void sendJson(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& body) {
  response.setStatusAndReason(status);
  response.setContentType("application/json");
  response.set("Cache-Control", "no-store");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
}

std::string errorBody(const std::string& code, const std::string& message, const std::string& field) {
  // The last line of defence for "every error body is UTF-8 JSON": Poco's stringify copies
  // bytes as they are, so whatever a message quotes (a field path from the body, an id from the
  // URL) is made valid UTF-8 here, invalid sequences becoming U+FFFD.
  Poco::JSON::Object::Ptr error = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  error->set("code", protocol::toValidUtf8(code));
  error->set("message", protocol::toValidUtf8(message));
  if (!field.empty()) error->set("field", protocol::toValidUtf8(field));
  Poco::JSON::Object body;
  body.set("error", error);
  std::ostringstream out;
  body.stringify(out);
  return out.str();
}

namespace {

std::string errorBodyOf(const Status& status) {
  return errorBody(std::string(toString(status.code())), status.message(), status.field());
}

}  // namespace

std::string errorResponse(const Status& status) {
  const auto code = httpStatusFor(status.code());
  const std::string body = errorBodyOf(status);
  std::string out = "HTTP/1.1 " + std::to_string(static_cast<int>(code)) + " " + HTTPResponse::getReasonForStatus(code) +
                    "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                    "X-Content-Type-Options: nosniff\r\nConnection: close\r\n";
  if (code == HTTPResponse::HTTP_SERVICE_UNAVAILABLE || code == HTTPResponse::HTTP_TOO_MANY_REQUESTS) {
    out += "Retry-After: 1\r\n";
  }
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

void sendStatus(Poco::Net::HTTPServerResponse& response, const Status& status) {
  Status answered = status;
  if (status.code() == StatusCode::kInternal) {
    // What went wrong inside (a secret that does not unseal, an OpenSSL failure) is for the
    // operator, under the request id the Handler put on the response; the client gets only that.
    Poco::Logger::get("bcauth.http").error("request " + response.get("X-Request-Id", "-") +
                                           " internal error: " + protocol::boundedText(status.toString(), 500));
    answered = Status::internal("internal error (the server log has the details under this response's X-Request-Id)");
  }
  // A passing condition: the client (Apple included) is told when to try again.
  if (status.code() == StatusCode::kStorageUnavailable) {
    response.set("Retry-After", std::to_string(kStorageRetryAfterSeconds));
  }
  sendJson(response, httpStatusFor(answered.code()), errorBodyOf(answered));
}

}  // namespace bcauth::http
