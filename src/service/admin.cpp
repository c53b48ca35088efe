#include "service/admin.h"

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

// --- providers ------------------------------------------------------------------

Result<store::Provider> Administration::putProvider(const std::string& id, const Result<ProviderInput>& input) {
  if (auto valid = protocol::ids::checkProviderId(id); !valid) return valid;
  if (!input) return input.status();
  const ProviderInput& in = *input;
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
  const auto existing = k_.store.provider(id);
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
  return provider(id);
}

Result<store::Provider> Administration::provider(const std::string& id) {
  if (auto valid = protocol::ids::checkProviderId(id); !valid) return valid;
  auto p = k_.store.provider(id);
  if (!p) return notFound("provider", id);
  return std::move(*p);
}

std::vector<store::Provider> Administration::providers(bool enabledOnly) { return k_.store.providers(enabledOnly); }

Status Administration::deleteProvider(const std::string& id) {
  if (auto valid = protocol::ids::checkProviderId(id); !valid) return valid;
  bool deleted = false;
  k_.store.transaction([&](store::Transaction& tx) { deleted = tx.deleteProvider(id); });
  return deleted ? Status::ok() : notFound("provider", id);
}

// --- webhooks -------------------------------------------------------------------

Result<store::Subscription> Administration::putWebhook(const std::string& id, const Result<WebhookInput>& input) {
  if (auto valid = protocol::ids::checkWebhookId(id); !valid) return valid;
  if (!input) return input.status();
  const WebhookInput& in = *input;
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
  const auto existing = k_.store.subscription(id);
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

Result<store::Subscription> Administration::webhook(const std::string& id) {
  if (auto valid = protocol::ids::checkWebhookId(id); !valid) return valid;
  auto sub = k_.store.subscription(id);
  if (!sub) return notFound("webhook", id);
  return std::move(*sub);
}

std::vector<store::Subscription> Administration::webhooks() { return k_.store.subscriptions(); }

Status Administration::deleteWebhook(const std::string& id) {
  if (auto valid = protocol::ids::checkWebhookId(id); !valid) return valid;
  bool deleted = false;
  k_.store.transaction([&](store::Transaction& tx) { deleted = tx.deleteSubscription(id); });
  return deleted ? Status::ok() : notFound("webhook", id);
}

std::vector<store::WebhookDelivery> Administration::deadLetters(std::size_t limit) {
  return k_.store.deadWebhookDeliveries(limit);
}

Result<store::WebhookDelivery> Administration::replayDeadLetter(std::int64_t deliveryId) {
  Status outcome = Status::ok();
  store::WebhookDelivery replayed;
  k_.store.transaction([&](store::Transaction& tx) {
    auto d = tx.webhookDelivery(deliveryId);
    if (!d) {
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
