// The one mapping from domain failures to HTTP, and the JSON error body every route uses:
// {"error": {"code": "...", "message": "...", "field": "..."}}, always valid UTF-8. sendStatus adds
// Retry-After to a storage_unavailable 503.
#pragma once

#include <string>

#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "bcauth/status.h"

namespace bcauth::http {

Poco::Net::HTTPResponse::HTTPStatus httpStatusFor(const Status& status);

// Retry-After of a 503 storage_unavailable: soon enough for Apple's retries, not a busy loop.
inline constexpr int kStorageRetryAfterSeconds = 5;

void sendJson(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
              const std::string& body);
// The error body alone, for answers written below Poco's response classes (the listener's).
std::string errorBody(const std::string& code, const std::string& message, const std::string& field = {});
void sendError(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
               const std::string& code, const std::string& message, const std::string& field = {});
// An internal status's message is logged under the response's X-Request-Id, never sent: the
// client reads only {"code":"internal"} and a fixed message.
void sendStatus(Poco::Net::HTTPServerResponse& response, const Status& status);

}  // namespace bcauth::http
