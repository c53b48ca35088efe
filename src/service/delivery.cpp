// The delivery outbox: authenticate messages go to Apple's gateway from the store, so a
// restart neither loses one nor starts the same attempt twice. Each attempt first claims the
// row (pushing its next attempt past a lease), then sends, then records the answer:
//   2xx          → delivered, auth.delivered
//   4xx          → failed at once (Apple will not accept it on retry), auth.delivery_failed
//   5xx / no answer → retried with exponential backoff and jitter, then auth.delivery_failed
// A crash between sending and recording leaves the claim to expire: the message is sent again
// (at least once), with the same message id header.
#include <algorithm>
#include <random>

#include <Poco/Logger.h>

#include "protocol/json_util.h"
#include "protocol/text.h"
#include "service/auth_service.h"
#include "service/json_views.h"

namespace bcauth::service {
namespace {

std::string reasonFor(const clients::GatewayAnswer& answer) {
  if (!answer.reached) return "gateway_unreachable";
  if (answer.status == 400) return "malformed";
  if (answer.status == 401 || answer.status == 403) return "credentials";
  if (answer.status == 404) return "unknown_destination";
  if (answer.status >= 500) return "gateway_error";
  return "rejected";
}

}  // namespace

int AuthService::deliverDue(std::stop_token stop) {
  int tried = 0;
  for (const auto& due : store_.dueDeliveries(now_(), 20)) {
    if (stop.stop_requested()) break;
    deliverOne(due.requestId);
    ++tried;
  }
  return tried;
}

void AuthService::deliverOne(const std::string& requestId) {
  std::optional<store::Delivery> claimed;
  store_.transaction([&](store::Transaction& tx) {
    auto d = tx.delivery(requestId);
    const auto now = now_();
    if (!d || d->status != "pending" || d->nextAttemptAt > now) return;
    d->attempts += 1;
    d->nextAttemptAt = now + config_.deliveryLeaseMs;
    d->updatedAt = now;
    tx.updateDelivery(*d);
    claimed = d;
  });
  if (claimed) attemptDelivery(*claimed);
}

void AuthService::attemptDelivery(const store::Delivery& claimed) {
  const std::string& requestId = claimed.requestId;
  clients::GatewayAnswer answer;
  auto envelope = sealer_.unseal(claimed.sealedBody, sealContext("delivery", requestId));
  // An internal fault is the operator's to read (in the log, under the request id); the
  // delivery's lastError, shown by the API, says only that there was one.
  const auto internalFault = [&](const std::string& what) {
    Poco::Logger::get("bcauth.service").error("auth request " + requestId + ": delivery: " + protocol::boundedText(what, 500));
    answer.error = "internal error (see the server log)";
  };
  if (!envelope) {
    internalFault("the stored message does not unseal (wrong master key?)");
  } else {
    try {
      const auto parsed = detail::parseJsonObject(std::string(envelope->view()));
      answer = gateway_.sendAuthenticate(detail::toJsonString(parsed->getObject("message")),
                                         parsed->getValue<bool>("autoReply"));
    } catch (const std::exception& e) {
      internalFault(e.what());
    }
  }
  answer.error = protocol::boundedText(answer.error);  // a network error's text, as read by the API

  const bool delivered = answer.reached && answer.status >= 200 && answer.status < 300;
  const bool retryable = envelope && (!answer.reached || answer.status >= 500) &&
                         claimed.attempts < config_.deliveryMaxAttempts;
  store_.transaction([&](store::Transaction& tx) {
    auto d = tx.delivery(requestId);
    if (!d || d->status != "pending") return;
    const auto now = now_();
    d->lastHttpStatus = answer.reached ? answer.status : 0;
    d->lastError = answer.reached ? std::string() : answer.error;
    d->updatedAt = now;
    const auto request = tx.request(requestId);
    auto data = protocol::detail::newObject();
    data->set("attempts", d->attempts);
    if (answer.reached) data->set("appleStatus", answer.status);
    if (delivered) {
      d->status = "delivered";
      tx.updateDelivery(*d);
      if (request) tx.appendEvent(detail::makeEvent("auth.delivered", now, request->conversationId, requestId, data));
    } else if (retryable) {
      d->nextAttemptAt = now + detail::backoffMillis(config_.deliveryRetryBaseMs, d->attempts, 300000.0);
      tx.updateDelivery(*d);
    } else {
      d->status = "failed";
      tx.updateDelivery(*d);
      data->set("reason", reasonFor(answer));
      if (!answer.reached) data->set("detail", answer.error);
      if (request) tx.appendEvent(detail::makeEvent("auth.delivery_failed", now, request->conversationId, requestId, data));
    }
  });
}

}  // namespace bcauth::service
