#include "http/router.h"

#include <algorithm>

#include <Poco/URI.h>

#include "http/errors.h"
#include "http/routes/routes.h"

namespace bcauth::http {
namespace {

using Poco::Net::HTTPRequest;
using Poco::Net::HTTPResponse;

std::vector<std::string> splitPath(const std::string& rawPath) {
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= rawPath.size()) {
    const std::size_t slash = std::min(rawPath.find('/', start), rawPath.size());
    std::string decoded;
    // Segments are decoded one by one, so an opaque id's %2F stays inside its segment.
    Poco::URI::decode(rawPath.substr(start, slash - start), decoded);
    segments.push_back(decoded);
    start = slash + 1;
  }
  return segments;
}

// The patterns, split once.
const std::vector<std::vector<std::string>>& patternParts() {
  static const std::vector<std::vector<std::string>> all = [] {
    std::vector<std::vector<std::string>> out;
    for (const auto& route : routeTable()) out.push_back(splitPath(route.pattern));
    return out;
  }();
  return all;
}

bool match(const std::vector<std::string>& parts, const std::vector<std::string>& segments,
           std::vector<std::string>& params) {
  if (parts.size() != segments.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "{}") {
      if (segments[i].empty()) return false;
      params.push_back(segments[i]);
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

const std::vector<RouteSpec>& routeTable() {
  using namespace routes;
  static const std::vector<RouteSpec> all = {
      {"GET", "/healthz", false, healthz},
      {"GET", "/readyz", false, readyz},
      {"GET", "/metrics", false, metrics},
      {"POST", "/message", false, appleMessage},
      {"GET", "/v1/providers", true, listProviders},
      {"PUT", "/v1/providers/{}", true, putProvider},
      {"GET", "/v1/providers/{}", true, getProvider},
      {"DELETE", "/v1/providers/{}", true, deleteProvider},
      {"POST", "/v1/auth-requests", true, createRequest, true},
      {"GET", "/v1/auth-requests/{}", true, getRequest},
      {"POST", "/v1/auth-requests/{}/cancel", true, cancelRequest},
      {"GET", "/v1/auth-requests/{}/token", true, requestToken},
      {"POST", "/v1/auth-requests/{}/refresh", true, refreshToken},
      {"GET", "/oauth/callback", false, oauthCallback},
      {"GET", "/v1/conversations/{}/events", true, conversationEvents},
      {"GET", "/v1/events", true, events},
      {"GET", "/v1/events/stream", true, eventStream},
      {"GET", "/v1/webhooks", true, listWebhooks},
      {"GET", "/v1/webhooks/dead-letters", true, deadLetters},
      {"POST", "/v1/webhooks/dead-letters/{}/replay", true, replayDeadLetter},
      {"PUT", "/v1/webhooks/{}", true, putWebhook},
      {"GET", "/v1/webhooks/{}", true, getWebhook},
      {"DELETE", "/v1/webhooks/{}", true, deleteWebhook},
      {"POST", "/v1/businesses", true, createBusiness, false, KeyScope::kOperatorOnly},
      {"GET", "/v1/businesses", true, listBusinesses, false, KeyScope::kOperatorOnly},
      {"GET", "/v1/businesses/{}", true, getBusiness, false, KeyScope::kOperatorOnly},
      {"PUT", "/v1/businesses/{}/providers/{}", true, enableProvider},
      {"DELETE", "/v1/businesses/{}/providers/{}", true, disableProvider},
      {"POST", "/v1/api-keys", true, createApiKey, false, KeyScope::kOperatorOnly},
      {"GET", "/v1/api-keys", true, listApiKeys, false, KeyScope::kOperatorOnly},
      {"DELETE", "/v1/api-keys/{}", true, revokeApiKey, false, KeyScope::kOperatorOnly},
      {"GET", "/v1/me", true, me},
      {"GET", "/console", false, consoleRedirect},
      {"GET", "/console/", false, consoleIndex},
      {"GET", "/console/{}", false, consoleAsset},
  };
  return all;
}

std::vector<std::pair<std::string, std::string>> registeredRoutes() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& route : routeTable()) out.emplace_back(route.method, route.pattern);
  return out;
}

Routing findRoute(const std::string& method, const std::string& rawPath) {
  const auto segments = splitPath(rawPath);
  const auto& routes = routeTable();
  const auto& parts = patternParts();
  Routing routing;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (!match(parts[i], segments, routing.params)) continue;
    if (routes[i].method == method) {
      routing.route = &routes[i];
      routing.allow.clear();
      return routing;
    }
    routing.allow += (routing.allow.empty() ? "" : ", ") + routes[i].method;
    if (routes[i].method == HTTPRequest::HTTP_GET) routing.allow += ", HEAD";
  }
  // The path is known, but not with this method: every method it has (the loop ran through them all).
  if (!routing.allow.empty()) routing.allow += ", OPTIONS";
  routing.params.clear();
  return routing;
}

std::string answerUnrouted(const Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                           const Routing& routing, const std::string& loggedMethod) {
  if (routing.allow.empty()) {
    sendStatus(response, Status::notFound("no such route"));
    return "unmatched";
  }
  response.set("Allow", routing.allow);
  if (request.getMethod() == HTTPRequest::HTTP_OPTIONS) {
    response.setStatusAndReason(HTTPResponse::HTTP_NO_CONTENT);
    response.setContentLength(0);
    response.send();
    return "OPTIONS";
  }
  sendStatus(response, Status::refusal(StatusCode::kMethodNotAllowed, loggedMethod + " is not allowed here"));
  return "unmatched";
}

}  // namespace bcauth::http
