// The use cases of bcauth's server: providers, creating authenticate requests, taking Apple's
// inbound messages, cancelling, expiring, reading tokens and events. JSON in and out (the CSP
// API's bodies), Status for every expected failure; no HTTP types here.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "bcauth/defaults.h"
#include "bcauth/seal.h"
#include "service/key_pool.h"
#include "clients/apple_gateway.h"
#include "clients/idp_client.h"
#include "bcauth/status.h"
#include "store/store.h"

namespace bcauth::service {

struct ServiceConfig {
  std::string publicUrl;  // BCAUTH_PUBLIC_URL; the v2 redirectURI is publicUrl + /oauth/callback
  std::int64_t defaultTtlSeconds = defaults::kDefaultTtlSeconds;
  std::int64_t maxTtlSeconds = 86400;
  bool allowHttpLoopbackProviders = false;  // dev only: http:// IdP URLs on 127.0.0.1/localhost, loopback calls
  std::vector<clients::Cidr> outboundAllowCidrs;  // ranges IdP and webhook calls may reach after all
  std::string v2MessageVersion = defaults::kV2MessageVersion;  // data.version for the new flow (spec §3.6)
  clients::GatewayConfig gateway;           // Apple's gateway; an empty baseUrl disables delivery
  int deliveryMaxAttempts = defaults::kDeliveryMaxAttempts;  // then auth.delivery_failed
  // Backoff: base·2^(attempt−1), ±25% jitter, ≤ 5 min.
  std::int64_t deliveryRetryBaseMs = defaults::kDeliveryRetryBaseMs;
  std::int64_t deliveryLeaseMs = 60000;     // an attempt in flight is not started again before this
  int webhookMaxAttempts = defaults::kWebhookMaxAttempts;  // then the delivery is dead (listed, replayable)
  std::int64_t webhookRetryBaseMs = defaults::kWebhookRetryBaseMs;
  KeyPoolConfig keyPool;                    // request keys made ahead of time (none by default)
  // A waiting long-poll or stream re-reads the store at least this often, even without a
  // notification: the safety net should one be lost (e.g. while a listener reconnects).
  std::int64_t eventsRecheckMillis = defaults::kEventsRecheckMs;
};

using JsonObject = Poco::JSON::Object::Ptr;

struct Created {
  JsonObject body;
  bool created = true;  // false: an Idempotency-Key replay answered with the first request
};

struct Inbound {
  bool duplicate = false;  // a redelivery: acknowledged, nothing recorded again
  std::string eventType;   // the event the message produced
};

class AuthService {
 public:
  AuthService(store::Store& store, crypto::Sealer sealer, ServiceConfig config,
              std::function<std::int64_t()> nowMillis);

  // Providers (the client secret is write-only: reads show clientSecretSet).
  Result<JsonObject> putProvider(const std::string& id, const JsonObject& body);
  Result<JsonObject> provider(const std::string& id);
  Result<Poco::JSON::Array::Ptr> providers(bool enabledOnly);
  Status deleteProvider(const std::string& id);

  // CSP webhook subscriptions (the secret is write-only) and their dead letters.
  Result<JsonObject> putWebhook(const std::string& id, const JsonObject& body);
  Result<JsonObject> webhook(const std::string& id);
  Result<JsonObject> webhooks();
  Status deleteWebhook(const std::string& id);
  Result<JsonObject> deadLetters(std::size_t limit);
  Result<JsonObject> replayDeadLetter(std::int64_t deliveryId);
  // POSTs every due webhook delivery (signed, in order per conversation); returns how many were
  // tried. Each subscription's deliveries go in order on one thread, up to kWebhookParallelism
  // subscriptions at once, so one slow endpoint does not hold the others' first attempts. A
  // stop request is honoured between deliveries (the ones in flight finish).
  static constexpr std::size_t kWebhookParallelism = 4;
  int deliverWebhooks(std::stop_token stop = {});

  // Authenticate requests. A create whose Idempotency-Key is taken answers with the first request
  // when the body is the same (canonical JSON, compared by SHA-256), idempotency_conflict when it
  // is not. admit is asked only about a new request that passed validation (a refusal, e.g. a
  // rate limit, is returned as is), so replays and invalid bodies use up no budget.
  using Admission = std::function<Status(const std::string& conversationId)>;
  Result<Created> createRequest(const JsonObject& body, const std::optional<std::string>& idempotencyKey,
                                const Admission& admit = {});
  // True when a request was created with this Idempotency-Key (a create with it is a replay).
  bool idempotencyKeyUsed(const std::string& key) { return store_.requestByIdempotencyKey(key).has_value(); }
  Result<JsonObject> request(const std::string& id);
  Result<JsonObject> cancelRequest(const std::string& id);
  Result<JsonObject> token(const std::string& id);

  // GET /oauth/callback of the iOS 16+ flow: validates the single-use state, exchanges the code
  // at the provider's token URL (PKCE), fetches the profile, records the outcome and returns
  // where the customer's web view goes next: messages-auth://?status=success|failure|cancel
  // [&error_code=N]. Every problem ends in a failure (or cancel) redirect, never an error page.
  std::string completeRedirect(const std::map<std::string, std::string>& query);

  // POST /v1/auth-requests/{id}/refresh: the refresh grant at the provider's token URL.
  Result<JsonObject> refreshToken(const std::string& id);

  // Apple's webhook body (already decompressed) and its capability-list header.
  Result<Inbound> handleInbound(std::string_view body, const std::string& capabilityList);

  // Sends every delivery that is due (first attempts and retries); returns how many were tried.
  int deliverDue(std::stop_token stop = {});  // stops between deliveries when asked
  // One attempt for one request's delivery, if it is due and not claimed by another attempt.
  void deliverOne(const std::string& requestId);
  // One attempt of a delivery this thread has claimed (its lease written): send, then record.
  void attemptDelivery(const store::Delivery& claimed);

  // Legacy successes with a userinfo URL: fetches each profile (outside the intake, which never
  // waits on an outbound call) and then records their auth.succeeded; returns how many.
  int completeProfiles(std::stop_token stop = {});  // stops between fetches when asked

  // Turns pending requests past their TTL into auth.expired; returns how many.
  int expireDue();

  // Events after seq, waiting up to waitMillis for the first one when there are none yet. The
  // wait wakes on events committed by any instance (Store::watchEvents), re-reads the store every
  // eventsRecheckMillis anyway, and reads it once more before answering empty.
  Result<JsonObject> events(std::int64_t afterSeq, std::size_t limit, std::int64_t waitMillis);
  Result<JsonObject> conversationEvents(const std::string& conversationId, std::int64_t afterSeq, std::size_t limit);

  std::int64_t pendingCount() { return store_.pendingCount(); }
  // Ends every long-poll at once (they answer with what they have): called before shutdown.
  void shutdown();
  bool stopping() {
    std::lock_guard lock(eventsMutex_);
    return shuttingDown_;
  }
  // Called with the seconds each token decryption took (for the metrics histogram).
  void setDecryptObserver(std::function<void(double)> observer) { decryptObserver_ = std::move(observer); }
  // The store answers and takes writes (a full disk makes it not ready until space returns).
  bool ready() { return store_.ping() && store_.writable(); }
  KeyPool& keyPool() { return keyPool_; }

 private:
  // The answer to a create whose Idempotency-Key names existing: it, or idempotency_conflict.
  Result<Created> replayCreate(const store::AuthRequest& existing, const std::string& bodySha256);
  JsonObject requestView(const store::AuthRequest& request);
  // The same, with the request's delivery row already in hand (none: not requested).
  JsonObject requestView(const store::AuthRequest& request, const std::optional<store::Delivery>& delivery);
  JsonObject providerView(const store::Provider& provider);
  JsonObject webhookView(const store::Subscription& subscription);
  // A provider or webhook URL as stored: parseOutboundUrl's rules, https (http only on loopback
  // with the development switch), and no literal address the outbound policy refuses.
  Status checkOutboundUrl(const std::string& url, const std::string& field) const;
  void deliverWebhook(const store::WebhookDelivery& due);
  // Wakes the waiting readers: the store's watch calls it for every commit of an event.
  void notifyEvents();
  std::string failRedirect(const store::AuthRequest& request, std::int64_t code, const std::string& detail);
  std::string internalFailure(const store::AuthRequest& request, const std::string& what);
  std::string rejectRedirect(const std::optional<store::AuthRequest>& request, const std::string& reason,
                             std::int64_t code);
  clients::ClientCredentials credentials(const store::Provider& provider);
  void storeTokens(store::Transaction& tx, const std::string& id, const clients::TokenResponse& tokens,
                   const std::string& completedBy, std::int64_t now);

  store::Store& store_;
  crypto::Sealer sealer_;
  ServiceConfig config_;
  std::function<std::int64_t()> now_;
  std::function<void(double)> decryptObserver_;
  clients::OutboundPolicy outbound_;  // IdP and webhook destinations (not Apple's gateway: the operator sets it)
  clients::IdpClient idp_;
  clients::AppleGateway gateway_;
  KeyPool keyPool_;
  std::mutex eventsMutex_;
  std::condition_variable eventsChanged_;
  std::uint64_t eventsVersion_ = 0;
  bool shuttingDown_ = false;
  // Last: stops before the members its callback uses go away.
  std::unique_ptr<store::EventWatch> eventWatch_;
};

// The X-Bcauth-Signature of a webhook: "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
std::string webhookSignature(const std::string& secret, const std::string& timestamp, const std::string& body);

// Contexts that bind each sealed value to what it is.
std::string sealContext(const std::string& kind, const std::string& id);

}  // namespace bcauth::service
