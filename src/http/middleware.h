// What every request goes through, from the moment its head is read: its request id, routing,
// the API key of the CSP routes, the route, whatever of the body is left, the metrics and the one
// log line. Failures a route did not answer are answered here (400, 503, 500).
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "http/call.h"

namespace bcauth::http {

void handleRequest(Context& context, Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

}  // namespace bcauth::http
