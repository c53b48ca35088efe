// The one mapping from failures to HTTP (domain failures and the edge's own refusals alike), and
// the JSON error body every answer uses: {"error": {"code": "...", "message": "...", "field": "..."}},
// always valid UTF-8. Every error answer goes through sendStatus (or, below Poco's response classes,
// errorResponse), so httpStatusFor is the only place that picks an HTTP status. sendStatus adds
// Retry-After to a storage_unavailable 503; the refusals that carry other headers (Retry-After of a
// rate limit, WWW-Authenticate, Allow) have them set by their caller first.
#pragma once

#include <string>

#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "bcauth/status.h"

namespace bcauth::http {

Poco::Net::HTTPResponse::HTTPStatus httpStatusFor(StatusCode code);

// Retry-After of a 503 storage_unavailable: soon enough for Apple's retries, not a busy loop.
inline constexpr int kStorageRetryAfterSeconds = 5;

void sendJson(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
              const std::string& body);
// The error body alone.
std::string errorBody(const std::string& code, const std::string& message, const std::string& field = {});
// A whole HTTP/1.1 error answer that closes the connection, for refusals written below Poco's
// response classes (the listener's): status line from the table, Retry-After: 1 on 429 and 503.
std::string errorResponse(const Status& status);
// An internal status's message is logged under the response's X-Request-Id, never sent: the
// client reads only {"code":"internal"} and a fixed message.
void sendStatus(Poco::Net::HTTPServerResponse& response, const Status& status);

}  // namespace bcauth::http
