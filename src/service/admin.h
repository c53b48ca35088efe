// Administration: identity providers, webhook subscriptions and their dead letters. Secrets
// (a provider's client secret, a webhook's signing secret) are write-only: sealed on the way in,
// never returned (the rows say only whether one is set).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bcauth/status.h"
#include "service/kernel.h"
#include "store/store.h"

namespace bcauth::service {

// A provider as the CSP writes it (PUT replaces it whole, but an absent clientSecret keeps the
// stored one and an empty one removes it).
struct ProviderInput {
  std::string name;
  std::string authorizationUrl;
  std::string tokenUrl;
  std::string userinfoUrl;  // empty: no profile fetch
  std::string clientId;
  std::vector<std::string> scopes;
  std::optional<bool> enabled;                 // absent: enabled
  std::optional<std::string> tokenAuthMethod;  // client_secret_post | client_secret_basic
  std::map<std::string, std::string> profileFields;
  std::optional<std::string> clientSecret;
};

struct WebhookInput {
  std::string url;
  std::vector<std::string> eventTypes;  // wire names; empty: every type
  std::optional<bool> enabled;
  std::optional<std::string> secret;  // required when the subscription is created
};

class Administration {
 public:
  explicit Administration(Kernel& kernel) : k_(kernel) {}

  // input: the body as the HTTP edge read it; its error is answered after the id's.
  Result<store::Provider> putProvider(const std::string& id, const Result<ProviderInput>& input);
  Result<store::Provider> provider(const std::string& id);
  std::vector<store::Provider> providers(bool enabledOnly);
  Status deleteProvider(const std::string& id);

  Result<store::Subscription> putWebhook(const std::string& id, const Result<WebhookInput>& input);
  Result<store::Subscription> webhook(const std::string& id);
  std::vector<store::Subscription> webhooks();
  Status deleteWebhook(const std::string& id);

  std::vector<store::WebhookDelivery> deadLetters(std::size_t limit);
  // A dead delivery goes back to pending, due now, with its attempts reset.
  Result<store::WebhookDelivery> replayDeadLetter(std::int64_t deliveryId);

 private:
  // A provider or webhook URL as stored: parseOutboundUrl's rules, https (http only on loopback
  // with the development switch), and no literal address the outbound policy refuses.
  Status checkOutboundUrl(const std::string& url, const std::string& field) const;

  Kernel& k_;
};

}  // namespace bcauth::service
