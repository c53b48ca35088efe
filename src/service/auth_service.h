// bcauth's service: the kernel (kernel.h) and the use cases over it, made and held together.
// Each use case speaks typed inputs and store rows; JSON is the HTTP edge's (src/http/views.h,
// src/http/inputs.h). Status for every expected failure; no HTTP types here.
//   admin      — providers, webhook subscriptions, dead letters        (admin.h)
//   requests   — create, read, cancel, token, refresh, expiry          (requests.h)
//   intake     — Apple's inbound messages, the profile fetches         (intake.h)
//   redirect   — the v2 flow's /oauth/callback                         (redirect.h)
//   appleOutbox, webhookOutbox — the outbox workers                    (outbox.h)
//   events     — the event feed and timelines                          (event_log.h)
//   tenancy    — businesses and API keys                               (tenancy.h)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "bcauth/seal.h"
#include "service/admin.h"
#include "service/config.h"
#include "service/event_log.h"
#include "service/intake.h"
#include "service/kernel.h"
#include "service/key_pool.h"
#include "service/outbox.h"
#include "service/redirect.h"
#include "service/requests.h"
#include "service/tenancy.h"
#include "store/store.h"

namespace bcauth::service {

class AuthService {
 public:
  // ports: doubles from a test; none for the real clients.
  AuthService(store::Store& store, crypto::Sealer sealer, ServiceConfig config, std::function<std::int64_t()> nowMillis,
              std::optional<Ports> ports = std::nullopt);

  std::int64_t pendingCount() { return kernel.store.pendingCount(); }
  // Ends every long-poll at once (they answer with what they have): called before shutdown.
  void shutdown() { kernel.feed.shutdown(); }
  bool stopping() { return kernel.feed.stopping(); }
  // The store answers and takes writes (a full disk makes it not ready until space returns).
  bool ready() { return kernel.store.ping() && kernel.store.writable(); }
  KeyPool& keyPool() { return keyPool_; }
  void setDecryptObserver(std::function<void(double)> observer) { intake.setDecryptObserver(std::move(observer)); }

  Kernel kernel;

 private:
  KeyPool keyPool_;  // before the use cases that take keys from it

 public:
  Administration admin;
  AppleOutbox appleOutbox;
  WebhookOutbox webhookOutbox;
  Requests requests;
  AppleIntake intake;
  RedirectCallback redirect;
  EventLog events;
  Tenancy tenancy;
};

}  // namespace bcauth::service
