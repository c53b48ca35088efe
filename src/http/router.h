// The route table and how a request finds its route: path segments percent-decoded one by one,
// "{}" in a pattern matching one non-empty segment. A request no route takes is answered here:
// 404 for an unknown path; on a known path, 204 with Allow for OPTIONS and 405 with Allow for
// any other method.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "http/call.h"

namespace bcauth::http {

using Route = std::function<void(Call&)>;

// Which API keys a route serves besides the operator's (api_auth.cpp applies it).
enum class KeyScope {
  // The default: every key; the handler passes call.principal to the service, which scopes what
  // it reads and writes to the key's business.
  kBusiness,
  // The operator's alone (businesses, API keys): a business key gets 404, as for no route.
  kOperatorOnly,
};

struct RouteSpec {
  std::string method;
  std::string pattern;  // "/v1/providers/{}" — {} matches one path segment
  bool apiKey;          // the CSP API: Bearer key and its rate limit first (api_auth.h)
  Route run;
  // Honours Idempotency-Key: a retry whose key is already taken is answered from the store, so it
  // is served even past the key's rate limit (it creates nothing).
  bool idempotent = false;
  KeyScope scope = KeyScope::kBusiness;
};

// Every route, in the order they are tried (the handlers are in src/http/routes/).
const std::vector<RouteSpec>& routeTable();

// Where a request goes: its route and path parameters, or (no route for this method) the methods
// the path has, for Allow ("GET, HEAD, OPTIONS"; empty for an unknown path).
struct Routing {
  const RouteSpec* route = nullptr;
  std::vector<std::string> params;
  std::string allow;
};

// `method` as routed (HEAD already taken as GET). Throws Poco::SyntaxException on malformed
// percent-encoding.
Routing findRoute(const std::string& method, const std::string& rawPath);

// Answers a request findRoute found no route for (404, 405 or OPTIONS' 204); returns the name it
// is counted under in the metrics. `loggedMethod` is the method as it may be quoted.
std::string answerUnrouted(const Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                           const Routing& routing, const std::string& loggedMethod);

}  // namespace bcauth::http
