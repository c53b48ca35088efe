// CSP webhooks: every event is POSTed to the subscriptions that want its type, from a durable
// outbox the store fills in the same transaction as the event. At least once; in order per
// conversation (a conversation's next event waits for the one before it); exponential backoff;
// after webhookMaxAttempts a delivery is dead, listed and replayable through the API.
//
// Signature (docs/webhooks.md): X-Bcauth-Timestamp: <unix seconds>,
// X-Bcauth-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>
#include <random>

#include <Poco/Logger.h>

#include "bcauth/secure.h"
#include "clients/http_call.h"
#include "protocol/ids.h"
#include "protocol/json_util.h"
#include "service/auth_service.h"
#include "service/json_views.h"

namespace bcauth::service {
namespace {

using protocol::detail::Fields;

JsonObject deliveryView(const store::WebhookDelivery& d) {
  auto view = protocol::detail::newObject();
  view->set("id", d.id);
  view->set("subscriptionId", d.subscriptionId);
  view->set("eventSeq", d.eventSeq);
  view->set("conversationId", d.conversationId);
  view->set("status", d.status);
  view->set("attempts", d.attempts);
  if (d.lastHttpStatus != 0) view->set("lastHttpStatus", d.lastHttpStatus);
  if (!d.lastError.empty()) view->set("lastError", d.lastError);
  view->set("updatedAt", detail::isoTime(d.updatedAt));
  return view;
}

}  // namespace

std::string webhookSignature(const std::string& secret, const std::string& timestamp, const std::string& body) {
  return "v1=" + detail::hex(crypto::hmacSha256(secret, timestamp + "." + body));
}

JsonObject AuthService::webhookView(const store::Subscription& sub) {
  auto view = protocol::detail::newObject();
  view->set("id", sub.id);
  view->set("url", sub.url);
  view->set("eventTypes", detail::stringArray(sub.eventTypes));
  view->set("enabled", sub.enabled);
  view->set("secretSet", !sub.sealedSecret.empty());
  view->set("createdAt", detail::isoTime(sub.createdAt));
  view->set("updatedAt", detail::isoTime(sub.updatedAt));
  return view;
}

Result<JsonObject> AuthService::putWebhook(const std::string& id, const JsonObject& body) {
  if (auto valid = protocol::ids::checkWebhookId(id); !valid) return valid;
  const Fields fields(body, "");
  store::Subscription sub;
  sub.id = id;
  auto url = fields.requiredString("url");
  if (!url) return url.status();
  sub.url = *url;
  if (auto s = checkOutboundUrl(sub.url, "url"); !s) return s;
  auto types = fields.optionalArray("eventTypes");
  if (!types) return types.status();
  if (*types) {
    static const std::vector<std::string> kTypes = {"auth.requested", "auth.delivered", "auth.delivery_failed",
                                                    "auth.succeeded", "auth.failed",    "auth.cancelled",
                                                    "auth.expired",   "auth.rejected",  "message.received"};
    for (std::size_t i = 0; i < (*types)->size(); ++i) {
      const auto item = (*types)->get(static_cast<unsigned>(i));
      const std::string type = item.isString() ? item.extract<std::string>() : "";
      if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
        return Status::invalidArgument("is not an event type", "eventTypes[" + std::to_string(i) + "]");
      }
      sub.eventTypes.push_back(type);
    }
  }
  if (fields.has("enabled")) {
    if (!body->get("enabled").isBoolean()) return fields.wrongType("enabled", "a boolean");
    sub.enabled = body->get("enabled").extract<bool>();
  }
  const auto existing = store_.subscription(id);
  auto secret = fields.optionalString("secret");
  if (!secret) return secret.status();
  if (*secret) {
    if ((*secret)->size() < 16) return Status::invalidArgument("needs at least 16 characters", "secret");
    sub.sealedSecret = sealer_.seal(**secret, sealContext("webhook", id));
  } else if (existing) {
    sub.sealedSecret = existing->sealedSecret;
  } else {
    return Status::invalidArgument("is required when the subscription is created", "secret");
  }
  sub.createdAt = existing ? existing->createdAt : now_();
  sub.updatedAt = now_();
  store_.transaction([&](store::Transaction& tx) { tx.putSubscription(sub); });
  return webhookView(sub);
}

Result<JsonObject> AuthService::webhook(const std::string& id) {
  if (auto valid = protocol::ids::checkWebhookId(id); !valid) return valid;
  const auto sub = store_.subscription(id);
  if (!sub) return Status::notFound("webhook " + id + " does not exist");
  return webhookView(*sub);
}

Result<JsonObject> AuthService::webhooks() {
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array();
  for (const auto& sub : store_.subscriptions()) list->add(webhookView(sub));
  auto body = protocol::detail::newObject();
  body->set("webhooks", list);
  return body;
}

Status AuthService::deleteWebhook(const std::string& id) {
  if (auto valid = protocol::ids::checkWebhookId(id); !valid) return valid;
  bool deleted = false;
  store_.transaction([&](store::Transaction& tx) { deleted = tx.deleteSubscription(id); });
  return deleted ? Status::ok() : Status::notFound("webhook " + id + " does not exist");
}

Result<JsonObject> AuthService::deadLetters(std::size_t limit) {
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array();
  for (const auto& d : store_.deadWebhookDeliveries(limit)) list->add(deliveryView(d));
  auto body = protocol::detail::newObject();
  body->set("deadLetters", list);
  return body;
}

Result<JsonObject> AuthService::replayDeadLetter(std::int64_t deliveryId) {
  Status outcome = Status::ok();
  store::WebhookDelivery replayed;
  store_.transaction([&](store::Transaction& tx) {
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
    d->nextAttemptAt = now_();
    d->updatedAt = now_();
    tx.updateWebhookDelivery(*d);
    replayed = *d;
  });
  if (!outcome) return outcome;
  return deliveryView(replayed);
}

// The due list holds at most one delivery per (subscription, conversation) — the next waits for
// the one before it — so sending each subscription's share in order on one thread keeps the
// order, and subscriptions on different threads cannot reorder anything. The round still ends
// when its slowest subscription does: a hanging endpoint delays the others' next round, not
// their first attempts in this one.
int AuthService::deliverWebhooks(std::stop_token stop) {
  std::map<std::string, std::vector<store::WebhookDelivery>> bySubscription;
  for (auto& due : store_.dueWebhookDeliveries(now_(), 50)) bySubscription[due.subscriptionId].push_back(std::move(due));
  std::vector<const std::vector<store::WebhookDelivery>*> groups;
  for (const auto& [id, deliveries] : bySubscription) groups.push_back(&deliveries);
  std::atomic<std::size_t> next{0};
  std::atomic<int> tried{0};
  const auto work = [&] {
    for (std::size_t i = next++; i < groups.size(); i = next++) {
      for (const auto& due : *groups[i]) {
        if (stop.stop_requested()) return;
        try {  // on a helper thread an escaping exception would end the process
          deliverWebhook(due);
        } catch (const std::exception& e) {
          Poco::Logger::get("bcauth.service").error("webhook delivery " + std::to_string(due.id) + ": " + e.what());
        }
        ++tried;
      }
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (std::size_t n = 1; n < std::min(groups.size(), kWebhookParallelism); ++n) helpers.emplace_back(work);
    work();
  }  // the helpers join here
  return tried;
}

void AuthService::deliverWebhook(const store::WebhookDelivery& due) {
  // Claim the attempt (a lease), so another worker or instance does not send it meanwhile.
  std::optional<store::WebhookDelivery> claimed;
  store_.transaction([&](store::Transaction& tx) {
    auto d = tx.webhookDelivery(due.id);
    const auto now = now_();
    if (!d || d->status != "pending" || d->nextAttemptAt > now) return;
    d->attempts += 1;
    d->nextAttemptAt = now + config_.deliveryLeaseMs;
    d->updatedAt = now;
    tx.updateWebhookDelivery(*d);
    claimed = d;
  });
  if (!claimed) return;

  clients::HttpAnswer answer;
  const auto sub = store_.subscription(claimed->subscriptionId);
  const auto event = store_.event(claimed->eventSeq);
  auto secret = sub ? sealer_.unseal(sub->sealedSecret, sealContext("webhook", sub->id))
                    : Result<crypto::Secret>(Status::notFound("subscription gone"));
  if (!sub || !event || !secret) {
    answer.error = !secret ? "the webhook secret does not unseal" : "the subscription or event is gone";
  } else {
    auto body = protocol::detail::newObject();
    body->set("seq", event->seq);
    body->set("type", event->type);
    body->set("at", detail::isoTime(event->at));
    body->set("conversationId", event->conversationId);
    if (!event->authRequestId.empty()) body->set("authRequestId", event->authRequestId);
    body->set("data", detail::parseJsonObject(event->dataJson));
    const std::string text = detail::toJsonString(body);
    const std::string timestamp = std::to_string(now_() / 1000);
    answer = clients::httpCall("POST", sub->url,
                               {{"Content-Type", "application/json"},
                                {"User-Agent", "bcauth-webhooks/0.1"},
                                {"X-Bcauth-Event-Id", std::to_string(event->seq)},
                                {"X-Bcauth-Timestamp", timestamp},
                                {"X-Bcauth-Signature", webhookSignature(std::string(secret->view()), timestamp, text)}},
                               text, 10, &outbound_);
  }
  const bool delivered = answer.reached && answer.status >= 200 && answer.status < 300;
  store_.transaction([&](store::Transaction& tx) {
    auto d = tx.webhookDelivery(claimed->id);
    if (!d || d->status != "pending") return;
    const auto now = now_();
    d->lastHttpStatus = answer.reached ? answer.status : 0;
    d->lastError = answer.reached ? std::string() : answer.error;
    d->updatedAt = now;
    if (delivered) d->status = "delivered";
    else if (d->attempts >= config_.webhookMaxAttempts) d->status = "dead";
    else d->nextAttemptAt = now + detail::backoffMillis(config_.webhookRetryBaseMs, d->attempts, 3600000.0);
    tx.updateWebhookDelivery(*d);
  });
}

}  // namespace bcauth::service
