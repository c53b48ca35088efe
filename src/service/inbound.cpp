// Apple's inbound messages and the expiry sweep.
//
// A reply is decrypted before the transaction (the P-384 work stays outside the write lock);
// the transaction then records the message id — a redelivery or a concurrent duplicate stops
// there — re-checks the request is still pending, and writes the outcome and its one event.
#include <chrono>

#include <Poco/JSON/Object.h>

#include "bcauth/crypto.h"
#include "bcauth/outcome.h"
#include "bcauth/protocol.h"
#include "protocol/json_util.h"
#include "protocol/text.h"
#include "service/auth_service.h"
#include "service/json_views.h"

namespace bcauth::service {
namespace {

Poco::JSON::Object::Ptr rejection(const std::string& reason, const std::string& requestIdentifier) {
  auto data = protocol::detail::newObject();
  data->set("reason", reason);
  data->set("requestIdentifier", requestIdentifier);
  return data;
}

std::string terminalStatusFor(const protocol::Outcome& outcome) {
  if (outcome.eventType == protocol::event::kSucceeded) return store::status::kSucceeded;
  if (outcome.eventType == protocol::event::kCancelled) return store::status::kCancelled;
  return store::status::kFailed;
}

}  // namespace

Result<Inbound> AuthService::handleInbound(std::string_view body, const std::string& capabilityList) {
  auto parsed = protocol::parseInbound(body);
  if (!parsed) return parsed.status();
  const protocol::InboundMessage& message = *parsed;
  const auto capabilities = protocol::parseCapabilityList(capabilityList);

  // Work that needs no lock: find the request, and for a legacy success decrypt the token.
  std::optional<store::AuthRequest> found;
  std::optional<crypto::Secret> accessToken;
  bool tokenDecrypted = false;
  if (message.authenticate) {
    found = store_.requestByIdentifier(message.authenticate->requestIdentifier);
    const auto& reply = *message.authenticate;
    if (found && found->status == store::status::kPending && reply.flow == protocol::Flow::kLegacy &&
        reply.token) {
      if (auto sealed = store_.secret(found->id, store::secret::kPrivateKey)) {
        auto scalar = sealer_.unseal(*sealed, sealContext(store::secret::kPrivateKey, found->id));
        if (scalar) {
          if (auto key = crypto::PrivateKey::importKeypair(scalar->view())) {
            const auto started = std::chrono::steady_clock::now();
            auto opened = crypto::decrypt(*key, *reply.token);
            if (decryptObserver_) {
              decryptObserver_(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
            }
            if (opened) {
              accessToken = std::move(*opened);
              tokenDecrypted = true;
            }
          }
        }
      }
    }
  }

  // A legacy success's profile is fetched after the answer (completeProfiles), never before it.
  bool profileUrl = false;
  if (found && tokenDecrypted) {
    const auto provider = store_.provider(found->providerId);
    profileUrl = provider && !provider->userinfoUrl.empty();
  }

  Inbound result;
  const auto at = now_();
  store_.transaction([&](store::Transaction& tx) {
    if (!tx.insertInboundMessageId(message.id, at)) {
      result.duplicate = true;
      return;
    }
    if (!capabilities.empty()) tx.recordCapabilities(message.sourceId, capabilities, at);

    if (!message.authenticate) {
      auto data = protocol::detail::newObject();
      data->set("type", message.type);
      data->set("messageId", message.id);
      data->set("capabilities", detail::stringArray(capabilities));
      data->set("payload", message.json);
      tx.appendEvent(detail::makeEvent("message.received", at, message.sourceId, "", data));
      result.eventType = "message.received";
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
    std::string rejectReason;
    if (!current) rejectReason = "unknown_request";
    else if (current->conversationId != message.sourceId) rejectReason = "conversation_mismatch";
    else if (current->status != store::status::kPending) rejectReason = "request_" + current->status;
    else if (current->expiresAt <= at) rejectReason = "request_expired";
    // The request's own flow decides, never the reply's wording: a legacy request succeeds only
    // with a token that decrypts, and a v2 request only through bcauth's callback — a device
    // "success" is a confirmation, not a proof (it comes from the customer's side).
    else if (current->flow != protocol::toString(reply.flow)) rejectReason = "flow_mismatch";
    else if (reply.flow == protocol::Flow::kV2 &&
             protocol::outcomeForReply(reply, false).eventType == protocol::event::kSucceeded) {
      rejectReason = "success_without_callback";
    }
    if (!rejectReason.empty()) {
      // The event goes to the sender's timeline; a request of another conversation is not named
      // there (its id would tie this conversation's timeline to someone else's request).
      const bool ownRequest = current && current->conversationId == message.sourceId;
      tx.appendEvent(detail::makeEvent("auth.rejected", at, message.sourceId, ownRequest ? current->id : "",
                                       rejection(rejectReason, reply.requestIdentifier)));
      result.eventType = "auth.rejected";
      return;
    }

    const protocol::Outcome outcome = protocol::outcomeForReply(reply, tokenDecrypted);
    const bool fetchProfile = outcome.eventType == protocol::event::kSucceeded && accessToken && profileUrl;
    auto data = outcome.toJson();
    data->remove("event");
    data->set("providerId", current->providerId);
    data->set("requestIdentifier", reply.requestIdentifier);
    if (outcome.eventType == protocol::event::kSucceeded) {
      data->set("tokenAvailable", accessToken.has_value());
      if (accessToken) {
        tx.putSecret(current->id, store::secret::kAccessToken,
                     sealer_.seal(accessToken->view(), sealContext(store::secret::kAccessToken, current->id)));
      }
      tx.setCompletion(current->id, "reply", accessToken ? "Bearer" : "", 0);
    }
    // The request key is used once: whatever the reply said, it is gone now.
    tx.deleteSecret(current->id, store::secret::kPrivateKey);
    tx.updateRequestStatus(current->id, terminalStatusFor(outcome), outcome.reason, at);
    if (fetchProfile) {
      tx.setProfilePending(current->id, true);  // auth.succeeded follows once the profile is fetched
    } else {
      tx.appendEvent(detail::makeEvent(outcome.eventType, at, current->conversationId, current->id, data));
    }
    result.eventType = outcome.eventType;
  });
  return result;
}

int AuthService::completeProfiles(std::stop_token stop) {
  int completed = 0;
  for (const auto& request : store_.profilePending(20)) {
    if (stop.stop_requested()) break;
    const auto provider = store_.provider(request.providerId);
    auto data = protocol::outcomeForReply(protocol::AuthenticateReply{request.requestIdentifier, {}, {}, {}, {},
                                                                      "authenticated", protocol::Flow::kLegacy, {}, {}, {}},
                                          true)
                    .toJson();
    data->remove("event");
    data->set("providerId", request.providerId);
    data->set("requestIdentifier", request.requestIdentifier);
    data->set("tokenAvailable", true);
    const auto sealed = store_.secret(request.id, store::secret::kAccessToken);
    auto token = sealed ? sealer_.unseal(*sealed, sealContext(store::secret::kAccessToken, request.id))
                        : Result<crypto::Secret>(Status::notFound("no token"));
    if (!provider || provider->userinfoUrl.empty()) {
      data->set("profileError", std::string("the provider has no userinfo URL any more"));
    } else if (!token) {
      data->set("profileError", std::string("the stored token does not unseal"));
    } else {
      const auto profile = idp_.userinfo(provider->userinfoUrl, std::string(token->view()));
      if (profile.failure == clients::IdpFailure::kNone) data->set("customer", detail::customerFrom(*provider, profile.claims));
      else data->set("profileError", protocol::boundedText(profile.detail));
    }
    const auto at = now_();
    store_.transaction([&](store::Transaction& tx) {
      const auto current = tx.request(request.id);
      if (!current || !current->profilePending) return;
      tx.setProfilePending(request.id, false);
      tx.appendEvent(detail::makeEvent("auth.succeeded", at, current->conversationId, request.id, data));
      ++completed;
    });
  }
  return completed;
}

int AuthService::expireDue() {
  int expired = 0;
  const auto now = now_();
  for (const auto& candidate : store_.expiredPending(now, 200)) {
    bool changed = false;
    store_.transaction([&](store::Transaction& tx) {
      const auto current = tx.request(candidate.id);
      if (!current || current->status != store::status::kPending) return;  // completed meanwhile
      tx.updateRequestStatus(current->id, store::status::kExpired, "ttl passed", now);
      tx.setCompletion(current->id, "sweeper", "", 0);
      tx.deleteSecret(current->id, store::secret::kPrivateKey);
      tx.deleteSecret(current->id, store::secret::kPkceVerifier);
      tx.appendEvent(detail::makeEvent("auth.expired", now, current->conversationId, current->id, protocol::detail::newObject()));
      changed = true;
    });
    if (changed) ++expired;
  }
  return expired;
}

}  // namespace bcauth::service
