// Apple's Messages for Business gateway, outbound: POST {base}/authenticate with a fresh HS256
// JWT {iss: CSP id, iat} per request (protocol/apple_jwt.h) and Apple's headers (spec §1.2, §1.3).
#pragma once

#include <string>

#include "bcauth/defaults.h"

namespace bcauth::clients {

struct GatewayConfig {
  std::string baseUrl = defaults::kAppleGatewayUrl;  // empty: delivery disabled
  std::string cspId;
  std::string secret;  // decoded bytes
  int timeoutSeconds = 15;
  std::string mspAgent = "bcauth/0.1";
};

struct GatewayAnswer {
  bool reached = false;  // false: connection/TLS/timeout failure
  int status = 0;
  std::string error;
};

// One authenticate message as it goes to Apple: the body exactly as built (it is sent as is,
// never parsed again) and the message's ids, which travel as headers beside it.
struct GatewayMessage {
  std::string id;             // the `id` header
  std::string sourceId;       // `source-id`: the business
  std::string destinationId;  // `destination-id`: the customer's opaque id
  std::string body;           // the JSON for POST /v1/authenticate
  bool autoReply = false;     // `auto-reply: true`
};

class AppleGateway {
 public:
  explicit AppleGateway(GatewayConfig config) : config_(std::move(config)) {}
  bool enabled() const { return !config_.baseUrl.empty(); }

  GatewayAnswer sendAuthenticate(const GatewayMessage& message) const;

 private:
  GatewayConfig config_;
};

}  // namespace bcauth::clients
