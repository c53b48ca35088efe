// Apple's POST /message: the JWT Apple signs with the CSP's secret, then the (gzipped) body to
// the service. Never rate limited: a refused reply would be a lost sign-in.
#include <chrono>

#include "http/apple_jwt.h"
#include "http/routes/routes.h"

namespace bcauth::http::routes {

using Poco::Net::HTTPResponse;

void appleMessage(Call& call) {
  const auto started = std::chrono::steady_clock::now();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const JwtCheck jwt = verifyAppleJwt(call.request.get("Authorization", ""), call.context.config.appleSecret,
                                      call.context.config.cspId, now.count(), call.context.config.jwtWindowSeconds);
  if (jwt.verdict == JwtVerdict::kMissing) {
    return sendStatus(call.response, Status::refusal(StatusCode::kUnauthorized, jwt.reason));
  }
  if (jwt.verdict == JwtVerdict::kInvalid) {
    return sendStatus(call.response, Status::refusal(StatusCode::kForbidden, jwt.reason));
  }
  std::string body;
  if (!readRawBody(call, body)) return;
  const auto result = call.context.service.intake.handleInbound(body, call.request.get("capability-list", call.request.get("capabilities", "")));
  if (!result) return sendStatus(call.response, result.status());
  call.context.metrics.countInbound(result->duplicate ? "duplicate" : result->eventType);
  call.context.metrics.observeInboundSeconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  sendJson(call.response, HTTPResponse::HTTP_OK,
           result->duplicate ? R"({"status":"duplicate"})" : R"({"status":"accepted"})");
}

}  // namespace bcauth::http::routes
