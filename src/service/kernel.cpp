#include "service/kernel.h"

#include <algorithm>

namespace bcauth::service {

Kernel::Kernel(store::Store& s, crypto::Sealer sealer, ServiceConfig c, Clock clk, std::optional<Ports> p)
    : store(s),
      config(std::move(c)),
      vault(std::move(sealer)),
      clock(std::move(clk)),
      outbound{config.allowHttpLoopbackProviders, config.outboundAllowCidrs},
      ports(p ? std::move(*p) : makePorts(config, outbound)),
      feed(config.eventsRecheckMillis),
      // Commits in this process and, on PostgreSQL, in every other one wake the waiting readers.
      watch_(store.watchEvents([this] { feed.notify(); })) {}

std::int64_t appendEventWithWebhooks(store::Transaction& tx, const store::Event& event) {
  const std::int64_t seq = tx.appendEvent(event);
  for (const auto& sub : tx.enabledSubscriptions()) {
    // A business's subscription hears its own business only (a business that exists: only
    // then can it have subscriptions); the operator's hear every event.
    if (!sub.businessId.empty() && sub.businessId != event.businessId) continue;
    if (!sub.eventTypes.empty() &&
        std::find(sub.eventTypes.begin(), sub.eventTypes.end(), event.type) == sub.eventTypes.end()) {
      continue;
    }
    store::WebhookDelivery delivery;
    delivery.subscriptionId = sub.id;
    delivery.eventSeq = seq;
    delivery.conversationId = event.conversationId;
    delivery.nextAttemptAt = event.at;
    delivery.updatedAt = event.at;
    tx.enqueueWebhookDelivery(delivery);
  }
  return seq;
}

std::int64_t Kernel::publish(store::Transaction& tx, const EventRecord& record) const {
  return appendEventWithWebhooks(tx, encodeEvent(record));
}

void Kernel::finish(store::Transaction& tx, const store::AuthRequest& request, Ending ending, std::int64_t at) const {
  tx.endRequest(request.id,
                {ending.status, ending.reason, at, ending.completedBy, ending.tokenType, ending.tokenExpiresAt});
  // Used once: whatever the end, the request key and the PKCE verifier are gone with it.
  // (Two statements: SQLite runs `kind IN (?, ?)` through a temporary B-tree it opens and frees
  // each time, which costs more than the second lookup.)
  tx.deleteSecret(request.id, store::secret::kPrivateKey);
  tx.deleteSecret(request.id, store::secret::kPkceVerifier);
  if (ending.profilePending) {
    tx.setProfilePending(request.id, true);  // auth.succeeded follows once the profile is fetched
    return;
  }
  publish(tx, {ending.event, at, request.businessId, request.conversationId, request.id, std::move(ending.data)});
}

}  // namespace bcauth::service
