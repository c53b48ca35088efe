// The service's settings (filled from app/settings.cpp by app/runtime.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bcauth/defaults.h"
#include "clients/apple_gateway.h"
#include "clients/destination.h"
#include "service/key_pool.h"

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
  std::int64_t deliveryRetryBaseMs = defaults::kDeliveryRetryBaseMs;  // backoff: base·2^(attempt−1), ±25% jitter, ≤ 5 min
  std::int64_t deliveryLeaseMs = 60000;     // an attempt in flight is not started again before this
  int webhookMaxAttempts = defaults::kWebhookMaxAttempts;  // then the delivery is dead (listed, replayable)
  std::int64_t webhookRetryBaseMs = defaults::kWebhookRetryBaseMs;
  KeyPoolConfig keyPool;                    // request keys made ahead of time (none by default)
  // A waiting long-poll or stream re-reads the store at least this often, even without a
  // notification: the safety net should one be lost (e.g. while a listener reconnects).
  std::int64_t eventsRecheckMillis = defaults::kEventsRecheckMs;

  // Where the v2 flow's IdP sends the customer back (bcauth's redirect endpoint).
  std::string callbackUrl() const { return publicUrl + "/oauth/callback"; }
};

}  // namespace bcauth::service
