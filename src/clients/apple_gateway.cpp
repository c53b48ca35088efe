#include "clients/apple_gateway.h"

#include <chrono>

#include "clients/http_call.h"
#include "protocol/apple_jwt.h"

namespace bcauth::clients {

GatewayAnswer AppleGateway::sendAuthenticate(const GatewayMessage& message) const {
  GatewayAnswer answer;
  std::map<std::string, std::string> headers;
  headers["id"] = message.id;
  headers["source-id"] = message.sourceId;
  headers["destination-id"] = message.destinationId;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  headers["Authorization"] = "Bearer " + protocol::signAppleJwt(config_.secret, config_.cspId, now.count(),
                                                                   protocol::AppleJwtDirection::kToApple);
  headers["Content-Type"] = "application/json";
  headers["msp-agent"] = config_.mspAgent;
  headers["version"] = "1.0";
  if (message.autoReply) headers["auto-reply"] = "true";
  const HttpAnswer http = httpCall("POST", config_.baseUrl + "/authenticate", headers, message.body, config_.timeoutSeconds);
  answer.reached = http.reached;
  answer.status = http.status;
  answer.error = http.error;
  return answer;
}

}  // namespace bcauth::clients
