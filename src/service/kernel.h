// What every use case shares: the store, the vault, the clock, the event feed, the ports, and
// the two rules each write of an event or a request's end goes through — publish (an event and
// its webhook deliveries, in one transaction) and finish (a request's terminal transition).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bcauth/seal.h"
#include "clients/destination.h"
#include "service/clock.h"
#include "service/config.h"
#include "service/event_codec.h"
#include "service/event_feed.h"
#include "service/ports.h"
#include "service/provider_cache.h"
#include "service/vault.h"
#include "store/store.h"

namespace bcauth::service {

// A request's end: its terminal status, who ended it, and the event that tells it.
struct Ending {
  const char* status = store::status::kFailed;  // succeeded | failed | cancelled | expired
  std::string reason;                           // the request's statusReason
  std::string completedBy;                      // "reply" | "callback" | "agent" | "sweeper"
  std::string tokenType;                        // of a token the caller stored in the same transaction
  std::int64_t tokenExpiresAt = 0;
  EventType event = EventType::kAuthFailed;
  ConclusionData data;
  bool profilePending = false;  // the event waits for the profile fetch (AppleIntake::completeProfiles)

  static Ending of(const char* status, std::string reason, std::string completedBy, EventType event) {
    Ending ending;
    ending.status = status;
    ending.reason = std::move(reason);
    ending.completedBy = std::move(completedBy);
    ending.event = event;
    return ending;
  }
};

class Kernel {
 public:
  // ports: doubles from a test, or none for the real clients (makePorts).
  Kernel(store::Store& store, crypto::Sealer sealer, ServiceConfig config, Clock clock,
         std::optional<Ports> ports = std::nullopt);
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  std::int64_t now() const { return clock.nowMillis(); }

  // Appends the event and queues its webhook deliveries in tx; returns its seq. The feed's
  // readers wake once tx commits (the store's watch calls feed.notify).
  std::int64_t publish(store::Transaction& tx, const EventRecord& record) const;

  // The one terminal transition of a request: its status and reason, who completed it, its
  // single-use secrets (the legacy key, the PKCE verifier) deleted, and its event published —
  // or, for a success whose profile is still to be fetched, marked profile-pending instead.
  // The caller has checked, in tx, that the request is still pending.
  void finish(store::Transaction& tx, const store::AuthRequest& request, Ending ending, std::int64_t at) const;

  store::Store& store;
  const ServiceConfig config;
  const Vault vault;
  const Clock clock;
  const clients::OutboundPolicy outbound;  // IdP and webhook destinations (Apple's gateway is the operator's)
  const Ports ports;
  EventFeed feed;
  ProviderCache providers;  // for creates, which check it in their transaction (provider_cache.h)

 private:
  // Last: stops before the members its callback uses go away.
  std::unique_ptr<store::EventWatch> watch_;
};

// The webhook fan-out rule: appends event and, in the same transaction, queues one pending
// delivery (due at event.at) for every enabled subscription whose eventTypes is empty or holds
// event.type. An event and its deliveries commit together or not at all.
std::int64_t appendEventWithWebhooks(store::Transaction& tx, const store::Event& event);

}  // namespace bcauth::service
