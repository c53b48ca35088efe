#include "http/errors.h"

#include <Poco/JSON/Object.h>

namespace bcauth::http {

using Poco::Net::HTTPResponse;

HTTPResponse::HTTPStatus httpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return HTTPResponse::HTTP_OK;
    case StatusCode::kInvalidArgument: return HTTPResponse::HTTP_BAD_REQUEST;
    case StatusCode::kDecryptionFailed: return HTTPResponse::HTTP_BAD_REQUEST;
    case StatusCode::kNotFound: return HTTPResponse::HTTP_NOT_FOUND;
    case StatusCode::kConflict: return HTTPResponse::HTTP_CONFLICT;
    case StatusCode::kInternal: return HTTPResponse::HTTP_INTERNAL_SERVER_ERROR;
    case StatusCode::kStorageUnavailable: return HTTPResponse::HTTP_SERVICE_UNAVAILABLE;
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

void sendError(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& code,
               const std::string& message, const std::string& field) {
  Poco::JSON::Object::Ptr error = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  error->set("code", code);
  error->set("message", message);
  if (!field.empty()) error->set("field", field);
  Poco::JSON::Object body;
  body.set("error", error);
  std::ostringstream out;
  body.stringify(out);
  sendJson(response, status, out.str());
}

void sendStatus(Poco::Net::HTTPServerResponse& response, const Status& status) {
  // A passing condition: the client (Apple included) is told when to try again.
  if (status.code() == StatusCode::kStorageUnavailable) {
    response.set("Retry-After", std::to_string(kStorageRetryAfterSeconds));
  }
  sendError(response, httpStatusFor(status), std::string(toString(status.code())), status.message(), status.field());
}

}  // namespace bcauth::http
