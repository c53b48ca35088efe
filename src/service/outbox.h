// The outboxes: work that leaves bcauth — authenticate messages to Apple's gateway, events to
// CSP webhooks — is written to the store first and sent from there, so a restart neither loses
// an item nor starts the same attempt twice. Both share one worker shape:
//   due rows → claim each (a lease: its next attempt pushed past deliveryLeaseMs) → send outside
//   any transaction → record the answer (delivered, retried with backoff, or given up).
// Each runs on its own background lane (src/app/background_lane.h), so a slow webhook endpoint
// never delays Apple deliveries or expiry.
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "service/kernel.h"

namespace bcauth::service {

// One attempt's answer, whichever the outbox.
struct Attempt {
  bool reached = false;  // false: no HTTP answer (refused, connection, TLS, timeout)
  int status = 0;
  std::string error;
  bool delivered() const { return reached && status >= 200 && status < 300; }
};

// The lease: a pending row due at now is claimed for one attempt (attempts + 1, next attempt
// after the lease); false when it is not pending or not due (another worker has it).
template <typename Row>
bool claimLease(Row& row, std::int64_t now, std::int64_t leaseMs) {
  if (row.status != "pending" || row.nextAttemptAt > now) return false;
  row.attempts += 1;
  row.nextAttemptAt = now + leaseMs;
  row.updatedAt = now;
  return true;
}

// Exponential backoff with ±25% jitter: base·2^(attempt−1), at most capMillis.
std::int64_t backoffMillis(std::int64_t base, int attempt, double capMillis);

// Runs attempt over every item, each group's items in order on one thread, up to parallelism
// groups at once (the caller's thread is one of them). A stop request is honoured between
// items (the ones in flight finish); an item that throws is logged and the others go on.
// Returns how many items were tried.
template <typename T>
int drainOutbox(const std::vector<std::vector<T>>& groups, std::size_t parallelism, const std::stop_token& stop,
                const std::function<void(const T&)>& attempt, const std::function<std::string(const T&)>& describe);

class AppleOutbox {
 public:
  explicit AppleOutbox(Kernel& kernel) : k_(kernel) {}

  // Sends every delivery that is due (first attempts and retries), one at a time; returns how
  // many were tried.
  int deliverDue(std::stop_token stop = {});
  // One attempt for one request's delivery, if it is due and not claimed by another attempt.
  void deliverOne(const std::string& requestId);
  // One attempt of a delivery this thread has claimed (its lease written): send, then record.
  void attempt(const store::Delivery& claimed);

 private:
  Kernel& k_;
};

class WebhookOutbox {
 public:
  // Subscriptions served side by side; each one's deliveries stay in order on one thread.
  static constexpr std::size_t kParallelism = 4;

  explicit WebhookOutbox(Kernel& kernel) : k_(kernel) {}
  // POSTs every due webhook delivery (signed, in order per conversation); returns how many
  // were tried.
  int deliverDue(std::stop_token stop = {});

 private:
  void deliver(const store::WebhookDelivery& due);
  Kernel& k_;
};

// The X-Bcauth-Signature of a webhook: "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
std::string webhookSignature(const std::string& secret, const std::string& timestamp, const std::string& body);

}  // namespace bcauth::service

#include "service/outbox_drain.h"
