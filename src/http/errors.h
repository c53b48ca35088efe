// The one mapping from domain failures to HTTP, and the JSON error body every route uses:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
#pragma once

#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "bcauth/status.h"

namespace bcauth::http {

Poco::Net::HTTPResponse::HTTPStatus httpStatusFor(const Status& status);

void sendJson(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
              const std::string& body);
void sendError(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
               const std::string& code, const std::string& message, const std::string& field = {});
void sendStatus(Poco::Net::HTTPServerResponse& response, const Status& status);

}  // namespace bcauth::http
