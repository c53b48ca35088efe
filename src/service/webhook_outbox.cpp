// CSP webhooks: every event is POSTed to the subscriptions that want its type, from a durable
// outbox filled in the same transaction as the event (Kernel::publish). At least once; in order
// per conversation (a conversation's next event waits for the one before it); exponential
// backoff; after webhookMaxAttempts a delivery is dead, listed and replayable through the API.
//
// Signature (docs/webhooks.md): X-Bcauth-Timestamp: <unix seconds>,
// X-Bcauth-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
#include <map>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "bcauth/secure.h"
#include "service/event_codec.h"
#include "service/outbox.h"

namespace bcauth::service {

std::string webhookSignature(const std::string& secret, const std::string& timestamp, const std::string& body) {
  return "v1=" + crypto::hexLower(crypto::hmacSha256(secret, timestamp + "." + body));
}

// The due list holds at most one delivery per (subscription, conversation) — the next waits for
// the one before it — so sending each subscription's share in order on one thread keeps the
// order, and subscriptions on different threads cannot reorder anything. The round still ends
// when its slowest subscription does: a hanging endpoint delays the others' next round, not
// their first attempts in this one.
int WebhookOutbox::deliverDue(std::stop_token stop) {
  std::map<std::string, std::vector<store::WebhookDelivery>> bySubscription;
  for (auto& due : k_.store.dueWebhookDeliveries(k_.now(), 50)) bySubscription[due.subscriptionId].push_back(std::move(due));
  std::vector<std::vector<store::WebhookDelivery>> groups;
  for (auto& [id, deliveries] : bySubscription) groups.push_back(std::move(deliveries));
  return drainOutbox<store::WebhookDelivery>(
      groups, kParallelism, stop, [this](const store::WebhookDelivery& due) { deliver(due); },
      [](const store::WebhookDelivery& due) { return "webhook delivery " + std::to_string(due.id); });
}

void WebhookOutbox::deliver(const store::WebhookDelivery& due) {
  // Claim the attempt (a lease), so another worker or instance does not send it meanwhile.
  std::optional<store::WebhookDelivery> claimed;
  k_.store.transaction([&](store::Transaction& tx) {
    auto d = tx.webhookDelivery(due.id);
    if (!d || !claimLease(*d, k_.now(), k_.config.deliveryLeaseMs)) return;
    tx.updateWebhookDelivery(*d);
    claimed = d;
  });
  if (!claimed) return;

  Attempt answer;
  const auto sub = k_.store.subscription(claimed->subscriptionId);
  const auto event = k_.store.event(claimed->eventSeq);
  auto secret = sub ? k_.vault.unseal(SealKind::kWebhookSecret, sub->id, sub->sealedSecret)
                    : Result<crypto::Secret>(Status::notFound("subscription gone"));
  if (!sub || !event || !secret) {
    answer.error = !secret ? "the webhook secret does not unseal" : "the subscription or event is gone";
  } else {
    const std::string text = eventJson(*event);
    const std::string timestamp = std::to_string(k_.now() / 1000);
    const auto http = k_.ports.webhooks->post(
        sub->url,
        {{"Content-Type", "application/json"},
         {"User-Agent", "bcauth-webhooks/0.1"},
         {"X-Bcauth-Event-Id", std::to_string(event->seq)},
         {"X-Bcauth-Timestamp", timestamp},
         {"X-Bcauth-Signature", webhookSignature(std::string(secret->view()), timestamp, text)}},
        text);
    answer = {http.reached, http.status, http.error};
  }
  k_.store.transaction([&](store::Transaction& tx) {
    auto d = tx.webhookDelivery(claimed->id);
    if (!d || d->status != "pending") return;
    const auto now = k_.now();
    d->lastHttpStatus = answer.reached ? answer.status : 0;
    d->lastError = answer.reached ? std::string() : answer.error;
    d->updatedAt = now;
    if (answer.delivered()) d->status = "delivered";
    else if (d->attempts >= k_.config.webhookMaxAttempts) d->status = "dead";
    else d->nextAttemptAt = now + backoffMillis(k_.config.webhookRetryBaseMs, d->attempts, 3600000.0);
    tx.updateWebhookDelivery(*d);
  });
}

}  // namespace bcauth::service
