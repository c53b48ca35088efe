#include "service/ports.h"

namespace bcauth::service {
namespace {

class HttpGateway final : public GatewayPort {
 public:
  explicit HttpGateway(clients::GatewayConfig config) : client_(std::move(config)) {}
  bool enabled() const override { return client_.enabled(); }
  clients::GatewayAnswer sendAuthenticate(const clients::GatewayMessage& message) override {
    return client_.sendAuthenticate(message);
  }

 private:
  clients::AppleGateway client_;
};

class HttpIdentityProvider final : public IdentityProviderPort {
 public:
  explicit HttpIdentityProvider(clients::OutboundPolicy policy) : client_(std::move(policy)) {}
  clients::TokenResponse exchangeCode(const std::string& tokenUrl, const clients::ClientCredentials& client,
                                      const std::string& code, const std::string& redirectUri,
                                      const std::optional<std::string>& codeVerifier) override {
    return client_.exchangeCode(tokenUrl, client, code, redirectUri, codeVerifier);
  }
  clients::TokenResponse refresh(const std::string& tokenUrl, const clients::ClientCredentials& client,
                                 const std::string& refreshToken) override {
    return client_.refresh(tokenUrl, client, refreshToken);
  }
  clients::UserinfoResponse userinfo(const std::string& userinfoUrl, const std::string& accessToken) override {
    return client_.userinfo(userinfoUrl, accessToken);
  }

 private:
  clients::IdpClient client_;
};

class HttpWebhooks final : public WebhookPort {
 public:
  explicit HttpWebhooks(clients::OutboundPolicy policy) : policy_(std::move(policy)) {}
  clients::HttpAnswer post(const std::string& url, const std::map<std::string, std::string>& headers,
                           const std::string& body) override {
    return clients::httpCall("POST", url, headers, body, kTimeoutSeconds, &policy_);
  }

 private:
  static constexpr int kTimeoutSeconds = 10;
  clients::OutboundPolicy policy_;
};

}  // namespace

Ports makePorts(const ServiceConfig& config, const clients::OutboundPolicy& policy) {
  return {std::make_shared<HttpGateway>(config.gateway), std::make_shared<HttpIdentityProvider>(policy),
          std::make_shared<HttpWebhooks>(policy)};
}

}  // namespace bcauth::service
