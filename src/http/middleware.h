// What every request goes through, from the moment its head is read: its request id, routing,
// the API key of the CSP routes, the route, whatever of the body is left, the metrics and the one
// log line. Failures a route did not answer are answered here (400, 503, 500).
#pragma once

#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "http/call.h"

namespace bcauth::http {

void handleRequest(Context& context, Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

// The request log's line, a JSON object: {"requestId","method","route","status","ms"}, ms with
// three decimals. Its strings need no escaping: handleRequest passes only an id and a method it
// checked and a route from the routing table.
std::string requestLine(std::string_view requestId, std::string_view method, std::string_view route, int status,
                        double ms);

}  // namespace bcauth::http
