// The delivery outbox to Apple's gateway. Each attempt's answer:
//   2xx          → delivered, auth.delivered
//   4xx          → failed at once (Apple will not accept it on retry), auth.delivery_failed
//   5xx / no answer → retried with exponential backoff and jitter, then auth.delivery_failed
// A crash between sending and recording leaves the claim to expire: the message is sent again
// (at least once), with the same message id header.
#include <random>

#include <Poco/Logger.h>

#include "protocol/text.h"
#include "service/delivery_envelope.h"
#include "service/outbox.h"

namespace bcauth::service {
namespace {

std::string reasonFor(const Attempt& answer) {
  if (!answer.reached) return "gateway_unreachable";
  if (answer.status == 400) return "malformed";
  if (answer.status == 401 || answer.status == 403) return "credentials";
  if (answer.status == 404) return "unknown_destination";
  if (answer.status >= 500) return "gateway_error";
  return "rejected";
}

}  // namespace

std::int64_t backoffMillis(std::int64_t base, int attempt, double capMillis) {
  const double exponential = static_cast<double>(base) * static_cast<double>(1LL << std::min(attempt - 1, 20));
  static thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  return static_cast<std::int64_t>(std::min(exponential, capMillis) * jitter(random));
}

int AppleOutbox::deliverDue(std::stop_token stop) {
  std::vector<std::vector<std::string>> oneByOne;
  for (const auto& due : k_.store.dueDeliveries(k_.now(), 20)) oneByOne.push_back({due.requestId});
  return drainOutbox<std::string>(
      oneByOne, 1, stop, [this](const std::string& requestId) { deliverOne(requestId); },
      [](const std::string& requestId) { return "auth request " + requestId + ": delivery"; });
}

void AppleOutbox::deliverOne(const std::string& requestId) {
  std::optional<store::Delivery> claimed;
  k_.store.transaction([&](store::Transaction& tx) {
    auto d = tx.delivery(requestId);
    if (!d || !claimLease(*d, k_.now(), k_.config.deliveryLeaseMs)) return;
    tx.updateDelivery(*d);
    claimed = d;
  });
  if (claimed) attempt(*claimed);
}

void AppleOutbox::attempt(const store::Delivery& claimed) {
  const std::string& requestId = claimed.requestId;
  Attempt answer;
  auto envelope = k_.vault.unseal(SealKind::kDelivery, requestId, claimed.sealedBody);
  // An internal fault is the operator's to read (in the log, under the request id); the
  // delivery's lastError, shown by the API, says only that there was one.
  const auto internalFault = [&](const std::string& what) {
    Poco::Logger::get("bcauth.service").error("auth request " + requestId + ": delivery: " + protocol::boundedText(what, 500));
    answer.error = "internal error (see the server log)";
  };
  if (!envelope) {
    internalFault("the stored message does not unseal (wrong master key?)");
  } else if (auto message = decodeEnvelope(std::string(envelope->view())); !message) {
    internalFault(message.status().message());
  } else {
    const auto sent = k_.ports.gateway->sendAuthenticate(*message);
    answer = {sent.reached, sent.status, sent.error};
  }
  answer.error = protocol::boundedText(answer.error);  // a network error's text, as read by the API

  const bool retryable = envelope && (!answer.reached || answer.status >= 500) &&
                         claimed.attempts < k_.config.deliveryMaxAttempts;
  k_.store.transaction([&](store::Transaction& tx) {
    auto d = tx.delivery(requestId);
    if (!d || d->status != "pending") return;
    const auto now = k_.now();
    d->lastHttpStatus = answer.reached ? answer.status : 0;
    d->lastError = answer.reached ? std::string() : answer.error;
    d->updatedAt = now;
    const auto request = tx.request(requestId);
    DeliveryData data;
    data.attempts = d->attempts;
    if (answer.reached) data.appleStatus = answer.status;
    if (answer.delivered()) {
      d->status = "delivered";
      tx.updateDelivery(*d);
      if (request) k_.publish(tx, {EventType::kAuthDelivered, now, request->businessId, request->conversationId, requestId, data});
    } else if (retryable) {
      d->nextAttemptAt = now + backoffMillis(k_.config.deliveryRetryBaseMs, d->attempts, 300000.0);
      tx.updateDelivery(*d);
    } else {
      d->status = "failed";
      tx.updateDelivery(*d);
      data.reason = reasonFor(answer);
      if (!answer.reached) data.detail = answer.error;
      if (request) k_.publish(tx, {EventType::kAuthDeliveryFailed, now, request->businessId, request->conversationId, requestId, data});
    }
  });
}

}  // namespace bcauth::service
