#include "clients/apple_gateway.h"

#include <chrono>

#include <Poco/JSON/Parser.h>

#include "clients/http_call.h"
#include "protocol/apple_jwt.h"

namespace bcauth::clients {

GatewayAnswer AppleGateway::sendAuthenticate(const std::string& body, bool autoReply) const {
  GatewayAnswer answer;
  std::map<std::string, std::string> headers;
  try {
    Poco::JSON::Parser parser;
    const auto message = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    headers["id"] = message->getValue<std::string>("id");
    headers["source-id"] = message->getValue<std::string>("sourceId");
    headers["destination-id"] = message->getValue<std::string>("destinationId");
  } catch (const std::exception& e) {
    answer.error = std::string("the stored message is unreadable: ") + e.what();
    return answer;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  headers["Authorization"] = "Bearer " + protocol::signAppleJwt(config_.secret, config_.cspId, now.count(),
                                                                   protocol::AppleJwtDirection::kToApple);
  headers["Content-Type"] = "application/json";
  headers["msp-agent"] = config_.mspAgent;
  headers["version"] = "1.0";
  if (autoReply) headers["auto-reply"] = "true";
  const HttpAnswer http = httpCall("POST", config_.baseUrl + "/authenticate", headers, body, config_.timeoutSeconds);
  answer.reached = http.reached;
  answer.status = http.status;
  answer.error = http.error;
  return answer;
}

}  // namespace bcauth::clients
