// Apple's inbound messages.
//
// A reply is decrypted before the transaction (the P-384 work stays outside the write lock);
// the transaction then records the message id — a redelivery or a concurrent duplicate stops
// there — re-checks the request is still pending, and writes the outcome and its one event.
#include "service/intake.h"

#include <chrono>

#include "bcauth/crypto.h"
#include "bcauth/outcome.h"
#include "bcauth/protocol.h"
#include "service/profile.h"

namespace bcauth::service {
namespace {

const char* terminalStatusFor(const protocol::Outcome& outcome) {
  if (outcome.eventType == protocol::event::kSucceeded) return store::status::kSucceeded;
  if (outcome.eventType == protocol::event::kCancelled) return store::status::kCancelled;
  return store::status::kFailed;
}

EventType eventTypeOf(const protocol::Outcome& outcome) {
  return parseEventType(outcome.eventType).value_or(EventType::kAuthFailed);
}

// Why a reply cannot end its request, or empty when it can.
std::string rejectionOf(const std::optional<store::AuthRequest>& current, const protocol::InboundMessage& message,
                        std::int64_t at) {
  const auto& reply = *message.authenticate;
  if (!current) return "unknown_request";
  if (current->conversationId != message.sourceId) return "conversation_mismatch";
  if (current->status != store::status::kPending) return "request_" + current->status;
  if (current->expiresAt <= at) return "request_expired";
  // The request's own flow decides, never the reply's wording: a legacy request succeeds only
  // with a token that decrypts, and a v2 request only through bcauth's callback — a device
  // "success" is a confirmation, not a proof (it comes from the customer's side).
  if (current->flow != protocol::toString(reply.flow)) return "flow_mismatch";
  if (reply.flow == protocol::Flow::kV2 &&
      protocol::outcomeForReply(reply, false).eventType == protocol::event::kSucceeded) {
    return "success_without_callback";
  }
  return {};
}

}  // namespace

Result<Inbound> AppleIntake::handleInbound(std::string_view body, const std::string& capabilityList) {
  auto parsed = protocol::parseInbound(body);
  if (!parsed) return parsed.status();
  const protocol::InboundMessage& message = *parsed;
  const auto capabilities = protocol::parseCapabilityList(capabilityList);

  // Work that needs no lock: find the request, and for a legacy success decrypt the token.
  std::optional<store::AuthRequest> found;
  std::optional<crypto::Secret> accessToken;
  if (message.authenticate) {
    found = k_.store.requestByIdentifier(message.authenticate->requestIdentifier);
    const auto& reply = *message.authenticate;
    if (found && found->status == store::status::kPending && reply.flow == protocol::Flow::kLegacy && reply.token) {
      auto scalar = k_.vault.secret(k_.store, SealKind::kPrivateKey, found->id);
      auto key = scalar ? crypto::PrivateKey::importKeypair(scalar->view()) : Result<crypto::PrivateKey>(scalar.status());
      if (key) {
        const auto started = std::chrono::steady_clock::now();
        auto opened = crypto::decrypt(*key, *reply.token);
        if (decryptObserver_) {
          decryptObserver_(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        }
        if (opened) accessToken = std::move(*opened);
      }
    }
  }
  const bool tokenDecrypted = accessToken.has_value();

  Inbound result;
  const auto at = k_.now();
  k_.store.transaction([&](store::Transaction& tx) {
    if (!tx.insertInboundMessageId(message.id, at)) {
      result.duplicate = true;
      return;
    }
    tx.recordConversation(message.destinationId, message.sourceId,
                          capabilities.empty() ? std::nullopt : std::optional(capabilities), at);

    if (!message.authenticate) {
      k_.publish(tx, {EventType::kMessageReceived, at, message.destinationId, message.sourceId, "",
                      MessageData{message.type, message.id, capabilities, message.json}});
      result.eventType = name(EventType::kMessageReceived);
      return;
    }

    const auto& reply = *message.authenticate;
    const auto current = found ? tx.request(found->id) : std::nullopt;
    // v2: the callback already recorded the outcome; the device's reply only confirms it.
    if (current && current->completedBy == "callback" && reply.flow == protocol::Flow::kV2 &&
        current->conversationId == message.sourceId) {
      result.eventType = "reconciled";
      return;
    }
    if (const std::string reason = rejectionOf(current, message, at); !reason.empty()) {
      // The event goes to the sender's timeline; a request of another conversation is not named
      // there (its id would tie this conversation's timeline to someone else's request).
      const bool ownRequest = current && current->conversationId == message.sourceId;
      k_.publish(tx, {EventType::kAuthRejected, at, message.destinationId, message.sourceId, ownRequest ? current->id : "",
                      RejectedData{reason, reply.requestIdentifier, std::nullopt}});
      result.eventType = name(EventType::kAuthRejected);
      return;
    }

    const protocol::Outcome outcome = protocol::outcomeForReply(reply, tokenDecrypted);
    const bool succeeded = outcome.eventType == protocol::event::kSucceeded;
    auto ending = Ending::of(terminalStatusFor(outcome), outcome.reason, "reply", eventTypeOf(outcome));
    ending.data.outcome = outcome;
    ending.data.providerId = current->providerId;
    ending.data.requestIdentifier = reply.requestIdentifier;
    if (succeeded) {
      ending.data.tokenAvailable = accessToken.has_value();
      if (accessToken) {
        k_.vault.putSecret(tx, SealKind::kAccessToken, current->id, accessToken->view());
        ending.tokenType = "Bearer";
      }
    }
    // A legacy success's profile is fetched after the answer (completeProfiles), never before it.
    if (succeeded && accessToken) {
      const auto provider = tx.provider(current->providerId);
      ending.profilePending = provider && !provider->userinfoUrl.empty();
    }
    k_.finish(tx, *current, std::move(ending), at);
    result.eventType = outcome.eventType;
  });
  return result;
}

int AppleIntake::completeProfiles(std::stop_token stop) {
  int completed = 0;
  for (const auto& request : k_.store.profilePending(20)) {
    if (stop.stop_requested()) break;
    const auto provider = k_.store.provider(request.providerId);
    ConclusionData data;
    data.outcome = protocol::outcomeForSuccess(protocol::Flow::kLegacy);
    data.providerId = request.providerId;
    data.requestIdentifier = request.requestIdentifier;
    data.tokenAvailable = true;
    const auto token = k_.vault.secret(k_.store, SealKind::kAccessToken, request.id);
    if (!provider || provider->userinfoUrl.empty()) {
      data.profileError = "the provider has no userinfo URL any more";
    } else if (!token) {
      data.profileError = "the stored token does not unseal";
    } else {
      addProfile(data, *provider, k_.ports.idp->userinfo(provider->userinfoUrl, std::string(token->view())));
    }
    const auto at = k_.now();
    k_.store.transaction([&](store::Transaction& tx) {
      const auto current = tx.request(request.id);
      if (!current || !current->profilePending) return;
      tx.setProfilePending(request.id, false);
      k_.publish(tx, {EventType::kAuthSucceeded, at, current->businessId, current->conversationId, request.id, data});
      ++completed;
    });
  }
  return completed;
}

}  // namespace bcauth::service
