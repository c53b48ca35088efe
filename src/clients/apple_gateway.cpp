#include "clients/apple_gateway.h"

#include <chrono>

#include <Poco/Crypto/Crypto.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include "clients/http_call.h"

namespace bcauth::clients {

void holdPocoCrypto() {
  static const bool held = [] {
    Poco::Crypto::initializeCrypto();  // never released: see the header
    return true;
  }();
  (void)held;
}

std::string signAppleJwt(const std::string& secret, const std::string& cspId, std::int64_t nowSeconds, bool asAudience) {
  holdPocoCrypto();
  Poco::JWT::Token token;
  token.setType("JWT");
  if (asAudience) token.setAudience(cspId);
  else token.setIssuer(cspId);
  token.setIssuedAt(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(nowSeconds)));
  Poco::JWT::Signer signer(secret);
  return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

GatewayAnswer AppleGateway::sendAuthenticate(const GatewayMessage& message) const {
  GatewayAnswer answer;
  std::map<std::string, std::string> headers;
  headers["id"] = message.id;
  headers["source-id"] = message.sourceId;
  headers["destination-id"] = message.destinationId;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  headers["Authorization"] = "Bearer " + signAppleJwt(config_.secret, config_.cspId, now.count(), false);
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
