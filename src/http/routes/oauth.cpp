// GET /oauth/callback: the identity provider's redirect back, answered with a redirect to where
// the customer goes next.
#include <map>

#include "http/routes/routes.h"

namespace bcauth::http::routes {

using Poco::Net::HTTPResponse;

void oauthCallback(Call& call) {
  std::map<std::string, std::string> query;
  for (const auto& [key, value] : call.query) query.emplace(key, value);
  const std::string location = call.context.service.redirect.complete(query);
  call.response.set("Location", location);
  call.response.set("Cache-Control", "no-store");
  call.response.setStatus(HTTPResponse::HTTP_FOUND);
  call.response.setContentType("text/html; charset=utf-8");
  const std::string body = "<!doctype html><title>Signing in</title><a href=\"" + location + "\">Continue</a>";
  call.response.setContentLength(static_cast<std::streamsize>(body.size()));
  call.response.send() << body;
}

}  // namespace bcauth::http::routes
