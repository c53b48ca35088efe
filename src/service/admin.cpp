#include "service/admin.h"

#include <algorithm>

#include <Poco/Net/IPAddress.h>

#include "clients/outbound_url.h"
#include "protocol/ids.h"

namespace bcauth::service {
namespace {

Status notFound(const std::string& what, const std::string& id) { return Status::notFound(what + " " + id + " does not exist"); }

bool isLoopbackHost(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

}  // namespace

Status Administration::checkOutboundUrl(const std::string& url, const std::string& field) const {
  const auto parsed = clients::parseOutboundUrl(url);
  if (!parsed) return Status::invalidArgument(parsed.status().message(), field);
  if (parsed->scheme != "https" && !(k_.config.allowHttpLoopbackProviders && isLoopbackHost(parsed->host))) {
    return Status::invalidArgument("must be an https URL", field);
  }
  // A name is checked when it is called (it may resolve differently then); a literal now.
  if (parsed->hostIsAddress) {
    const Poco::Net::IPAddress address(parsed->host);
    if (const auto refusal = k_.outbound.refusal(address); !refusal.empty()) {
      return Status::invalidArgument("must not point into the operator's network: " + address.toString() + " " + refusal +
                                         " (BCAUTH_OUTBOUND_ALLOW_CIDRS opens a range)",
                                     field);
    }
  }
  return Status::ok();
}

// --- ownership ------------------------------------------------------------------

Result<std::string> Administration::ownerFor(const Principal& who, const std::optional<std::string>& named) const {
  if (!who.isOperator()) {
    if (named && *named != *who.businessId) {
      return Status::forbidden("this API key acts for business " + *who.businessId + " only", "businessId");
    }
    return *who.businessId;
  }
  if (!named) return std::string();
  if (auto valid = protocol::ids::checkBusinessId(*named); !valid) return valid;
  if (!k_.store.business(*named)) return Status::invalidArgument("names no business (POST /v1/businesses first)", "businessId");
  return *named;
}

Status Administration::mayReplace(const Principal& who, const std::string& owner, bool sharedVisible,
                                  const std::string& what, const std::string& id) const {
  if (who.owns(owner)) return Status::ok();
  if (owner.empty() && sharedVisible) {
    return Status::forbidden(what + " " + id + " is shared: only an operator key changes it");
  }
  return Status::conflict(what + " id " + id + " is taken (ids are unique across this bcauth): choose another");
}

// --- providers ------------------------------------------------------------------

namespace {

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// A business key sees its own providers and the shared ones (to enable them), no other business's.
bool sees(const Principal& who, const store::Provider& provider) {
  return who.owns(provider.businessId) || provider.businessId.empty();
}

}  // namespace

// sharedEnabled: the shared providers the caller's business enabled (empty for an operator).
ProviderView Administration::viewFor(const Principal& who, store::Provider provider,
                                     const std::vector<std::string>& sharedEnabled) {
  if (!who.isOperator() && provider.businessId.empty()) {
    provider.enabled = provider.enabled && contains(sharedEnabled, provider.id);
  }
  return ProviderView{std::move(provider)};
}

std::vector<std::string> Administration::sharedEnabledFor(const Principal& who) {
  return who.isOperator() ? std::vector<std::string>{} : k_.store.enabledSharedProviders(*who.businessId);
}

bool Administration::usableBy(const Principal& who, const std::string& businessId, const store::Provider& provider) {
  if (!provider.businessId.empty()) return provider.businessId == businessId;
  return who.isOperator() || contains(k_.store.enabledSharedProviders(businessId), provider.id);
}

Result<ProviderView> Administration::putProvider(const Principal& who, const std::string& id,
                                                 const Result<ProviderInput>& input) {
  if (auto valid = protocol::ids::checkProviderId(id); !valid) return valid;
  if (!input) return input.status();
  const ProviderInput& in = *input;
  auto owner = ownerFor(who, in.businessId);
  if (!owner) return owner.status();
  for (auto [key, value] : {std::pair{"authorizationUrl", &in.authorizationUrl}, std::pair{"tokenUrl", &in.tokenUrl},
                            std::pair{"userinfoUrl", &in.userinfoUrl}}) {
    if (value->empty()) continue;
    if (auto s = checkOutboundUrl(*value, key); !s) return s;
  }
  if (in.scopes.empty()) return Status::invalidArgument("needs at least one scope", "scopes");
  if (in.tokenAuthMethod && *in.tokenAuthMethod != "client_secret_post" && *in.tokenAuthMethod != "client_secret_basic") {
    return Status::invalidArgument("must be client_secret_post or client_secret_basic", "tokenAuthMethod");
  }
  if (in.clientSecret && in.clientSecret->find_first_of("&+") != std::string::npos) {
    // The legacy device form-encodes the token request without escaping these (spec §9.10).
    return Status::invalidArgument("must not contain '&' or '+': the device sends them unescaped to the token URL",
                                   "clientSecret");
  }
  store::Provider p;
  p.id = id;
  p.name = in.name;
  p.authorizationUrl = in.authorizationUrl;
  p.tokenUrl = in.tokenUrl;
  p.userinfoUrl = in.userinfoUrl;
  p.clientId = in.clientId;
  p.scopes = in.scopes;
  p.enabled = in.enabled.value_or(true);
  if (in.tokenAuthMethod) p.tokenAuthMethod = *in.tokenAuthMethod;
  p.profileFields = in.profileFields;
  p.businessId = *owner;
  const auto existing = k_.store.provider(id);
  if (existing) {
    if (auto may = mayReplace(who, existing->businessId, true, "provider", id); !may) return may;
  }
  p.createdAt = existing ? existing->createdAt : k_.now();
  p.updatedAt = k_.now();
  // The secret is write-only: a PUT without clientSecret keeps the one already stored.
  if (in.clientSecret) {
    p.sealedClientSecret = in.clientSecret->empty()
                               ? std::nullopt
                               : std::optional(k_.vault.seal(SealKind::kProviderSecret, id, *in.clientSecret));
  } else if (existing) {
    p.sealedClientSecret = existing->sealedClientSecret;
  }
  k_.store.transaction([&](store::Transaction& tx) { tx.putProvider(p); });
  k_.providers.forget(id);  // a create would find the change in its transaction anyway, and retry
  return provider(who, id);
}

Result<ProviderView> Administration::provider(const Principal& who, const std::string& id) {
  if (auto valid = protocol::ids::checkProviderId(id); !valid) return valid;
  auto p = k_.store.provider(id);
  if (!p || !sees(who, *p)) return notFound("provider", id);
  return viewFor(who, std::move(*p), sharedEnabledFor(who));
}

std::vector<ProviderView> Administration::providers(const Principal& who, bool enabledOnly) {
  std::vector<ProviderView> out;
  const auto sharedEnabled = sharedEnabledFor(who);  // read once for the whole list
  for (auto& p : k_.store.providers(enabledOnly)) {
    if (!sees(who, p)) continue;
    auto view = viewFor(who, std::move(p), sharedEnabled);
    if (enabledOnly && !view.provider.enabled) continue;
    out.push_back(std::move(view));
  }
  return out;
}

Status Administration::deleteProvider(const Principal& who, const std::string& id) {
  if (auto found = provider(who, id); !found) return found.status();
  else if (!who.owns(found->provider.businessId)) return mayReplace(who, found->provider.businessId, true, "provider", id);
  bool deleted = false;
  k_.store.transaction([&](store::Transaction& tx) { deleted = tx.deleteProvider(id); });
  k_.providers.forget(id);
  return deleted ? Status::ok() : notFound("provider", id);
}

Status Administration::setProviderEnabledFor(const Principal& who, const std::string& businessId,
                                             const std::string& providerId, bool enabled) {
  if (auto valid = protocol::ids::checkBusinessId(businessId); !valid) return valid;
  if (auto valid = protocol::ids::checkProviderId(providerId); !valid) return valid;
  if (!who.owns(businessId) || !k_.store.business(businessId)) {
    return Status::notFound("business " + businessId + " does not exist");
  }
  // Only shared providers are enabled per business; any other id is none to enable (a
  // business's own provider turns on and off with its own `enabled`).
  const auto p = k_.store.provider(providerId);
  if (!p || !p->businessId.empty()) return notFound("shared provider", providerId);
  k_.store.transaction([&](store::Transaction& tx) { tx.setProviderEnabledFor(businessId, providerId, enabled); });
  return Status::ok();
}

// --- webhooks -------------------------------------------------------------------

Result<store::Subscription> Administration::putWebhook(const Principal& who, const std::string& id,
                                                       const Result<WebhookInput>& input) {
  if (auto valid = protocol::ids::checkWebhookId(id); !valid) return valid;
  if (!input) return input.status();
  const WebhookInput& in = *input;
  auto owner = ownerFor(who, in.businessId);
  if (!owner) return owner.status();
  if (auto s = checkOutboundUrl(in.url, "url"); !s) return s;
  store::Subscription sub;
  sub.id = id;
  sub.url = in.url;
  for (std::size_t i = 0; i < in.eventTypes.size(); ++i) {
    if (!parseEventType(in.eventTypes[i])) {
      return Status::invalidArgument("is not an event type", "eventTypes[" + std::to_string(i) + "]");
    }
  }
  sub.eventTypes = in.eventTypes;
  sub.enabled = in.enabled.value_or(true);
  sub.businessId = *owner;
  const auto existing = k_.store.subscription(id);
  if (existing) {
    if (auto may = mayReplace(who, existing->businessId, false, "webhook", id); !may) return may;
  }
  if (in.secret) {
    if (in.secret->size() < 16) return Status::invalidArgument("needs at least 16 characters", "secret");
    sub.sealedSecret = k_.vault.seal(SealKind::kWebhookSecret, id, *in.secret);
  } else if (existing) {
    sub.sealedSecret = existing->sealedSecret;
  } else {
    return Status::invalidArgument("is required when the subscription is created", "secret");
  }
  sub.createdAt = existing ? existing->createdAt : k_.now();
  sub.updatedAt = k_.now();
  k_.store.transaction([&](store::Transaction& tx) { tx.putSubscription(sub); });
  return sub;
}

Result<store::Subscription> Administration::webhook(const Principal& who, const std::string& id) {
  if (auto valid = protocol::ids::checkWebhookId(id); !valid) return valid;
  auto sub = k_.store.subscription(id);
  if (!sub || !who.owns(sub->businessId)) return notFound("webhook", id);
  return std::move(*sub);
}

std::vector<store::Subscription> Administration::webhooks(const Principal& who) {
  auto all = k_.store.subscriptions();
  std::erase_if(all, [&](const store::Subscription& sub) { return !who.owns(sub.businessId); });
  return all;
}

Status Administration::deleteWebhook(const Principal& who, const std::string& id) {
  if (auto found = webhook(who, id); !found) return found.status();
  bool deleted = false;
  k_.store.transaction([&](store::Transaction& tx) { deleted = tx.deleteSubscription(id); });
  return deleted ? Status::ok() : notFound("webhook", id);
}

std::vector<store::WebhookDelivery> Administration::deadLetters(const Principal& who, std::size_t limit) {
  if (who.isOperator()) return k_.store.deadWebhookDeliveries(limit);
  return k_.store.businessDeadWebhookDeliveries(*who.businessId, limit);
}

Result<store::WebhookDelivery> Administration::replayDeadLetter(const Principal& who, std::int64_t deliveryId) {
  Status outcome = Status::ok();
  store::WebhookDelivery replayed;
  k_.store.transaction([&](store::Transaction& tx) {
    auto d = tx.webhookDelivery(deliveryId);
    // Another business's delivery is answered as one that does not exist. (A subscription's
    // owner never changes to another business: only an operator's PUT could, and its
    // deliveries are then the new owner's.)
    const auto sub = d ? tx.subscription(d->subscriptionId) : std::nullopt;
    if (!d || !sub || !who.owns(sub->businessId)) {
      outcome = Status::notFound("webhook delivery " + std::to_string(deliveryId) + " does not exist");
      return;
    }
    if (d->status != "dead") {
      outcome = Status::conflict("webhook delivery " + std::to_string(deliveryId) + " is " + d->status + ", not dead");
      return;
    }
    d->status = "pending";
    d->attempts = 0;
    d->nextAttemptAt = k_.now();
    d->updatedAt = k_.now();
    tx.updateWebhookDelivery(*d);
    replayed = *d;
  });
  if (!outcome) return outcome;
  return replayed;
}

}  // namespace bcauth::service
