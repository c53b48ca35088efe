// The service's ports: what it needs from the outside world, as interfaces, so a unit test can
// hand it doubles (tests/test_kernel.cpp) instead of starting servers. The default adapters
// (makePorts) wrap the real clients of src/clients.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "clients/apple_gateway.h"
#include "clients/http_call.h"
#include "clients/idp_client.h"
#include "service/config.h"

namespace bcauth::service {

// Apple's Messages for Business gateway.
class GatewayPort {
 public:
  virtual ~GatewayPort() = default;
  virtual bool enabled() const = 0;  // false: delivery through Apple is switched off
  virtual clients::GatewayAnswer sendAuthenticate(const clients::GatewayMessage& message) = 0;
};

// An identity provider's token and userinfo endpoints (OAuth2 / OpenID Connect).
class IdentityProviderPort {
 public:
  virtual ~IdentityProviderPort() = default;
  virtual clients::TokenResponse exchangeCode(const std::string& tokenUrl, const clients::ClientCredentials& client,
                                              const std::string& code, const std::string& redirectUri,
                                              const std::optional<std::string>& codeVerifier) = 0;
  virtual clients::TokenResponse refresh(const std::string& tokenUrl, const clients::ClientCredentials& client,
                                         const std::string& refreshToken) = 0;
  virtual clients::UserinfoResponse userinfo(const std::string& userinfoUrl, const std::string& accessToken) = 0;
};

// A CSP's webhook endpoint: one signed POST.
class WebhookPort {
 public:
  virtual ~WebhookPort() = default;
  virtual clients::HttpAnswer post(const std::string& url, const std::map<std::string, std::string>& headers,
                                   const std::string& body) = 0;
};

struct Ports {
  std::shared_ptr<GatewayPort> gateway;
  std::shared_ptr<IdentityProviderPort> idp;
  std::shared_ptr<WebhookPort> webhooks;
};

// The real clients: Apple's gateway as configured, IdP and webhook calls under policy (the
// operator's outbound rules: IdP and webhook URLs are the CSP's, Apple's is the operator's).
Ports makePorts(const ServiceConfig& config, const clients::OutboundPolicy& policy);

}  // namespace bcauth::service
