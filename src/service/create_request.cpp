// Creating an authenticate request, top-down:
//   an Idempotency-Key already used → the first request (or idempotency_conflict);
//   plan     — who and what: the ids, the provider, the scopes, the flow, the TTL, delivery;
//   prepare  — the message: texts and images, the flow's secrets (legacy key or PKCE), built once;
//   admit    — only a valid, new request may spend a rate limit;
//   record   — the request, its secrets, auth.requested and the queued delivery, in one
//              transaction; then, when asked, the first delivery attempt before answering.
#include <algorithm>

#include "bcauth/crypto.h"
#include "protocol/ids.h"
#include "service/admin.h"
#include "service/delivery_envelope.h"
#include "service/requests.h"

namespace bcauth::service {
namespace {

// Random bytes in an OAuth state (both flows), as in Apple's sample: 192 bits, sent as 32
// Base64url characters, which IdPs pass through redirects unchanged (spec §9.11).
constexpr std::size_t kStateBytes = 24;

protocol::MessageInfo withDefaultTitle(const std::optional<protocol::MessageInfo>& info, const std::string& title) {
  protocol::MessageInfo out = info.value_or(protocol::MessageInfo{});
  if (out.title.empty()) out.title = title;
  return out;
}

}  // namespace

// What a valid create asks for, before anything is generated.
struct Requests::Plan {
  store::AuthRequest request;  // ids, provider, flow and scopes filled in
  store::Provider provider;
  protocol::Flow flow = protocol::Flow::kLegacy;
  std::int64_t ttlSeconds = 0;
  bool deliver = false;
  bool waitForDelivery = false;
  bool autoReply = false;
  bool providerChanged = false;  // record found the stored provider no longer the planned one
};

// The message, built once, and the secrets that go with it.
struct Requests::Prepared {
  std::optional<protocol::AuthenticateMessage> message;
  std::optional<crypto::PrivateKey> key;  // legacy: the request key the token comes back under
  std::optional<std::string> verifier;    // v2: the PKCE verifier
};

Result<Created> Requests::create(const Principal& who, const Result<CreateRequestInput>& input,
                                 const std::optional<IdempotencyKey>& given, const Admission& admit) {
  std::optional<IdempotencyKey> key;
  if (given) {
    if (auto valid = protocol::ids::checkIdempotencyKey(given->key); !valid) return valid;
    key = IdempotencyKey{scopedIdempotencyKey(who, given->key), given->bodySha256};
    if (auto existing = k_.store.requestByIdempotencyKey(key->key)) return replay(who, *existing, key->bodySha256);
  }
  if (!input) return input.status();
  auto planned = plan(who, *input);
  if (!planned) return planned.status();
  auto prepared = prepare(*input, *planned);
  if (!prepared) return prepared.status();
  // Valid and new: only now may a rate limit charge it. (A legacy key already taken from the
  // pool is dropped on a refusal; the pool refills, and the API-key limit bounds the rate.)
  if (admit) {
    if (auto admitted = admit(planned->request.conversationId); !admitted) return admitted;
  }
  auto created = record(who, *planned, *prepared, key);
  if (!planned->providerChanged) return created;
  // The provider changed after this process cached it (another process or instance wrote it):
  // plan again from the store, once. One that changes under the second attempt too is the
  // caller's to retry (the conflict record answered).
  k_.providers.forget(planned->request.providerId);
  planned = plan(who, *input);
  if (!planned) return planned.status();
  prepared = prepare(*input, *planned);
  if (!prepared) return prepared.status();
  return record(who, *planned, *prepared, key);
}

Result<Created> Requests::replay(const Principal& who, const store::AuthRequest& existing,
                                 const std::string& bodySha256) {
  // A request stored before bodies were hashed (migration 7) has nothing to compare: replayed.
  if (existing.idempotencyBodySha256 && *existing.idempotencyBodySha256 != bodySha256) {
    return Status::idempotencyConflict("this Idempotency-Key was already used with a different body; "
                                       "retry with the first body, or use a new key for a new request",
                                       "Idempotency-Key");
  }
  auto state = request(who, existing.id);
  if (!state) return state.status();
  return Created{std::move(*state), false};
}

Result<Requests::Plan> Requests::plan(const Principal& who, const CreateRequestInput& input) {
  Plan out;
  store::AuthRequest& request = out.request;
  request.conversationId = input.conversationId;
  request.businessId = input.businessId.empty() && !who.isOperator() ? *who.businessId : input.businessId;
  request.providerId = input.providerId;
  for (const auto& valid : {protocol::ids::checkConversationId(request.conversationId),
                            protocol::ids::checkBusinessId(request.businessId),
                            protocol::ids::checkProviderId(request.providerId)}) {
    if (!valid) return valid;
  }
  if (!who.owns(request.businessId)) {
    return Status::forbidden("this API key acts for business " + *who.businessId + " only", "businessId");
  }
  // A business key asks only customers who wrote to its business; an operator may ask first.
  // The conversation is read only when one of the two needs it (flow auto reads its
  // capabilities): an operator's create naming its flow skips the read.
  std::optional<store::Conversation> conversation;
  if (!who.isOperator() || input.flow == "auto") {
    conversation = k_.store.conversation(request.businessId, request.conversationId);
  }
  if (!conversation && !who.isOperator()) {
    return Status::notFound("conversation " + request.conversationId + " has not written to business " +
                            request.businessId);
  }
  // From the cache when it has it: record checks it against the stored row (provider_cache.h).
  auto provider = k_.providers.get(request.providerId);
  if (!provider) {
    provider = k_.store.provider(request.providerId);
    if (provider) k_.providers.put(*provider);
  }
  // Another business's provider is answered as one that does not exist.
  if (!provider || !admin_.usableBy(who, request.businessId, *provider)) {
    return Status::invalidArgument("names no registered provider", "providerId");
  }
  if (!provider->enabled) return Status::conflict("provider " + provider->id + " is disabled");
  out.provider = std::move(*provider);

  request.scopes = input.scopes.empty() ? out.provider.scopes : input.scopes;
  for (const auto& s : request.scopes) {
    if (std::find(out.provider.scopes.begin(), out.provider.scopes.end(), s) == out.provider.scopes.end()) {
      return Status::invalidArgument("\"" + s + "\" is not one of the provider's scopes", "scopes");
    }
  }

  auto flow = chooseFlow(input.flow, conversation);
  if (!flow) return flow.status();
  out.flow = *flow;
  request.flow = std::string(protocol::toString(out.flow));

  out.ttlSeconds = k_.config.defaultTtlSeconds;
  if (input.ttlSeconds) {
    if (*input.ttlSeconds < 30 || *input.ttlSeconds > k_.config.maxTtlSeconds) {
      return Status::invalidArgument("must be between 30 and " + std::to_string(k_.config.maxTtlSeconds), "ttlSeconds");
    }
    out.ttlSeconds = *input.ttlSeconds;
  }

  out.deliver = input.deliver.value_or(k_.ports.gateway->enabled());
  out.waitForDelivery = input.waitForDelivery;
  out.autoReply = input.autoReply;
  if (out.deliver && !k_.ports.gateway->enabled()) {
    return Status::conflict("delivery through Apple's gateway is disabled (BCAUTH_APPLE_GATEWAY_URL=none); "
                            "send deliver: false and deliver the returned message yourself");
  }
  return out;
}

// auto: the newest flow the customer's device announced (its capability-list).
Result<protocol::Flow> Requests::chooseFlow(const std::string& flowName,
                                            const std::optional<store::Conversation>& conversation) {
  protocol::Flow flow;
  if (flowName == "auto") {
    const auto capabilities = conversation ? conversation->capabilities : std::nullopt;
    if (!capabilities) {
      return Status::conflict("flow auto: no capability-list is recorded for this conversation yet; "
                              "wait for a message from the customer or choose flow legacy or v2");
    }
    if (protocol::hasCapability(*capabilities, "AUTH2")) flow = protocol::Flow::kV2;
    else if (protocol::hasCapability(*capabilities, "AUTH")) flow = protocol::Flow::kLegacy;
    else return Status::conflict("flow auto: the customer's device supports neither AUTH nor AUTH2");
  } else if (auto parsed = protocol::parseFlow(flowName)) {
    flow = *parsed;
  } else {
    return Status::invalidArgument("must be auto, legacy or v2", "flow");
  }
  if (flow == protocol::Flow::kV2 && k_.config.publicUrl.empty()) {
    return Status::conflict("the v2 flow needs BCAUTH_PUBLIC_URL (the base of bcauth's /oauth/callback)");
  }
  return flow;
}

Result<Requests::Prepared> Requests::prepare(const CreateRequestInput& input, Plan& plan) {
  store::AuthRequest& request = plan.request;
  protocol::AuthenticateRequest message;
  message.id = crypto::randomUuid();
  message.sourceId = request.businessId;
  message.destinationId = request.conversationId;
  message.requestIdentifier = crypto::randomUuid();
  message.receivedMessage = withDefaultTitle(input.receivedMessage, "Sign in to " + plan.provider.name);
  message.replyMessage = withDefaultTitle(input.replyMessage, "You signed in");
  message.images = input.images;

  Prepared prepared;
  if (plan.flow == protocol::Flow::kLegacy) {
    auto generated = keyPool_.take();
    if (!generated) return generated.status();
    prepared.key = std::move(*generated);
    std::optional<std::string> clientSecret;
    if (plan.provider.sealedClientSecret) {
      auto secret = k_.vault.unseal(SealKind::kProviderSecret, plan.provider.id, *plan.provider.sealedClientSecret);
      if (!secret) return Status::internal("the provider's client secret does not unseal (wrong master key?)");
      clientSecret = std::string(secret->view());
    }
    // The legacy reply does not echo the state (spec §4.1): it is the IdP's anti-forgery value
    // for the device's own redirect, so it is sent, fresh per request, and not stored for a
    // lookup (request.state stays the v2 callback's key).
    message.oauth2 = protocol::LegacyOAuth2{"code", request.scopes, prepared.key->publicKey().toBase64(),
                                            crypto::randomUrlToken(kStateBytes), clientSecret};
  } else {
    message.version = k_.config.v2MessageVersion;
    request.state = crypto::randomUrlToken(kStateBytes);
    prepared.verifier = crypto::randomUrlToken(32);
    message.oauth2 = protocol::RedirectOAuth2{
        "code", request.scopes, *request.state, k_.config.callbackUrl(),
        "code_challenge=" + crypto::pkceChallengeS256(*prepared.verifier) + "&code_challenge_method=S256"};
  }
  auto built = protocol::AuthenticateMessage::create(std::move(message));
  if (!built) return built.status();
  prepared.message = std::move(*built);
  return prepared;
}

Result<Created> Requests::record(const Principal& who, Plan& plan, Prepared& prepared,
                                 const std::optional<IdempotencyKey>& key) {
  store::AuthRequest& row = plan.request;
  const protocol::AuthenticateMessage& message = *prepared.message;
  row.createdAt = row.updatedAt = k_.now();
  // bcauth's own id sorts by time (the requestIdentifier Apple and the device see stays random).
  row.id = crypto::timeOrderedUuid(row.createdAt);
  row.requestIdentifier = message.request().requestIdentifier;
  row.expiresAt = row.createdAt + plan.ttlSeconds * 1000;
  row.messageJson = message.toRedactedJsonString();  // the client secret never leaves through the API
  if (key) {
    row.idempotencyKey = key->key;
    row.idempotencyBodySha256 = key->bodySha256;
  }

  std::optional<store::Delivery> queued;
  try {
    k_.store.transaction([&](store::Transaction& tx) {
      // The plan's provider may be the cache's: the request is recorded only with the provider
      // as it stands now, on the writer's warm connection (a cheap read in the transaction).
      if (const auto stored = tx.provider(row.providerId); !stored || *stored != plan.provider) {
        plan.providerChanged = true;
        return;
      }
      tx.insertRequest(row);
      if (prepared.key) k_.vault.putSecret(tx, SealKind::kPrivateKey, row.id, prepared.key->exportKeypair().view());
      if (prepared.verifier) k_.vault.putSecret(tx, SealKind::kPkceVerifier, row.id, *prepared.verifier);
      k_.publish(tx, {EventType::kAuthRequested, row.createdAt, row.businessId, row.conversationId, row.id,
                      RequestedData{row.flow, row.providerId, row.scopes}});
      if (!plan.deliver) return;
      // The exact message, client secret included, goes to the outbox sealed: built once here,
      // sent as is by the outbox.
      const auto& m = message.request();
      store::Delivery delivery;
      delivery.requestId = row.id;
      delivery.sealedBody = k_.vault.seal(
          SealKind::kDelivery, row.id,
          encodeEnvelope({m.id, m.sourceId, m.destinationId, message.toJsonString(), plan.autoReply}));
      delivery.nextAttemptAt = row.createdAt;
      delivery.updatedAt = row.createdAt;
      if (plan.waitForDelivery) {
        // Written already claimed by this call, as deliverOne would claim it: the sweeper
        // cannot take the first attempt from under a caller waiting for its outcome, and a
        // crash before the attempt leaves the lease to expire, then the sweeper sends it.
        delivery.attempts = 1;
        delivery.nextAttemptAt = row.createdAt + k_.config.deliveryLeaseMs;
      }
      tx.insertDelivery(delivery);
      queued = std::move(delivery);
    });
    if (plan.providerChanged) {
      return Status::conflict("provider " + row.providerId + " changed while this request was being created; retry");
    }
  } catch (const store::DuplicateError&) {
    // Another create with the same Idempotency-Key won the race: answer with its row.
    if (key) {
      if (auto existing = k_.store.requestByIdempotencyKey(key->key)) return replay(who, *existing, key->bodySha256);
    }
    throw;
  }
  if (plan.deliver && plan.waitForDelivery) {
    outbox_.attempt(*queued);
    auto state = request(who, row.id);
    if (!state) return state.status();
    return Created{std::move(*state), true};
  }
  return Created{stateOf(row, queued), true};  // what was just written: no need to read it back
}

}  // namespace bcauth::service
