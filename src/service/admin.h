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
#include "service/principal.h"
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
  std::optional<std::string> businessId;  // the owner; absent: the key's business, or shared for an operator
};

struct WebhookInput {
  std::string url;
  std::vector<std::string> eventTypes;  // wire names; empty: every type
  std::optional<bool> enabled;
  std::optional<std::string> secret;  // required when the subscription is created
  std::optional<std::string> businessId;  // the owner; absent: the key's business, or the operator's
};

// A provider as one principal sees it: a shared provider's `enabled` is, for a business key,
// whether it is enabled and that business enabled it.
struct ProviderView {
  store::Provider provider;
  bool shared() const { return provider.businessId.empty(); }
};

class Administration {
 public:
  explicit Administration(Kernel& kernel) : k_(kernel) {}

  // input: the body as the HTTP edge read it; its error is answered after the id's. Ids are
  // one namespace: a business key's PUT on another business's id is a conflict (taken), on a
  // shared provider forbidden.
  Result<ProviderView> putProvider(const Principal& who, const std::string& id, const Result<ProviderInput>& input);
  // A business key reads its own providers and the shared ones.
  Result<ProviderView> provider(const Principal& who, const std::string& id);
  std::vector<ProviderView> providers(const Principal& who, bool enabledOnly);
  Status deleteProvider(const Principal& who, const std::string& id);
  // Enables (or disables) a shared provider for a business (a business key: its own only).
  Status setProviderEnabledFor(const Principal& who, const std::string& businessId, const std::string& providerId,
                               bool enabled);
  // Whether a request of businessId may use the provider: its own, or a shared one (which a
  // business key's request must have enabled; an operator's may use any).
  bool usableBy(const Principal& who, const std::string& businessId, const store::Provider& provider);

  Result<store::Subscription> putWebhook(const Principal& who, const std::string& id, const Result<WebhookInput>& input);
  Result<store::Subscription> webhook(const Principal& who, const std::string& id);
  std::vector<store::Subscription> webhooks(const Principal& who);
  Status deleteWebhook(const Principal& who, const std::string& id);

  std::vector<store::WebhookDelivery> deadLetters(const Principal& who, std::size_t limit);
  // A dead delivery goes back to pending, due now, with its attempts reset.
  Result<store::WebhookDelivery> replayDeadLetter(const Principal& who, std::int64_t deliveryId);

 private:
  // The owner a PUT gives an object: a business key's own business (naming another is
  // forbidden), or the business an operator names (one bcauth knows; none: shared).
  Result<std::string> ownerFor(const Principal& who, const std::optional<std::string>& named) const;
  // Whether who may replace an object that exists with this owner (sharedVisible: a business
  // key sees shared objects of this kind, so it is told they are the operator's).
  Status mayReplace(const Principal& who, const std::string& owner, bool sharedVisible, const std::string& what,
                    const std::string& id) const;
  ProviderView viewFor(const Principal& who, store::Provider provider, const std::vector<std::string>& sharedEnabled);
  std::vector<std::string> sharedEnabledFor(const Principal& who);
  // A provider or webhook URL as stored: parseOutboundUrl's rules, https (http only on loopback
  // with the development switch), and no literal address the outbound policy refuses.
  Status checkOutboundUrl(const std::string& url, const std::string& field) const;

  Kernel& k_;
};

}  // namespace bcauth::service
