// Authenticate requests: create (with Idempotency-Key replays), read, cancel, the access token
// and its refresh, and the expiry sweep.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bcauth/protocol.h"
#include "bcauth/secure.h"
#include "bcauth/status.h"
#include "service/kernel.h"
#include "service/key_pool.h"
#include "service/outbox.h"
#include "store/store.h"

namespace bcauth::service {

// POST /v1/auth-requests as the CSP writes it.
struct CreateRequestInput {
  std::string conversationId;
  std::string businessId;
  std::string providerId;
  std::vector<std::string> scopes;  // empty: the provider's
  std::string flow = "auto";        // auto | legacy | v2
  std::optional<std::int64_t> ttlSeconds;
  std::optional<bool> deliver;  // absent: through Apple's gateway when it is configured
  bool waitForDelivery = false;
  bool autoReply = false;
  std::optional<protocol::MessageInfo> receivedMessage;  // an empty title gets the default
  std::optional<protocol::MessageInfo> replyMessage;
  std::vector<protocol::Image> images;
};

// A create's Idempotency-Key and the digest of its body (SHA-256 of the canonical JSON, hex):
// a second create with the key answers with the first request when the digests match.
struct IdempotencyKey {
  std::string key;
  std::string bodySha256;
};

// A request as read back: its row, its delivery (none: not requested) and whether a token waits.
struct RequestState {
  store::AuthRequest request;
  std::optional<store::Delivery> delivery;
  bool tokenAvailable = false;
};

struct Created {
  RequestState state;
  bool created = true;  // false: an Idempotency-Key replay answered with the first request
};

struct AccessToken {
  std::string authRequestId;
  crypto::Secret accessToken;
  std::string tokenType;
  std::int64_t expiresAt = 0;  // 0: the IdP gave no expiry
  bool refreshTokenAvailable = false;
};

class Requests {
 public:
  Requests(Kernel& kernel, KeyPool& keyPool, AppleOutbox& outbox) : k_(kernel), keyPool_(keyPool), outbox_(outbox) {}

  // admit is asked only about a new request that passed validation (a refusal, e.g. a rate
  // limit, is returned as is), so replays and invalid bodies use up no budget. input is the
  // body as the HTTP edge read it: a replayed key answers with its request whatever the body,
  // so the body's error comes after that check.
  using Admission = std::function<Status(const std::string& conversationId)>;
  Result<Created> create(const Result<CreateRequestInput>& input, const std::optional<IdempotencyKey>& key,
                         const Admission& admit = {});
  // True when a request was created with this Idempotency-Key (a create with it is a replay).
  bool idempotencyKeyUsed(const std::string& key) { return k_.store.requestByIdempotencyKey(key).has_value(); }

  Result<RequestState> request(const std::string& id);
  Result<RequestState> cancel(const std::string& id);
  Result<AccessToken> token(const std::string& id);
  // The refresh grant at the provider's token URL; answers with the new token.
  Result<AccessToken> refresh(const std::string& id);

  // Turns pending requests past their TTL into auth.expired; returns how many.
  int expireDue();

 private:
  struct Plan;
  struct Prepared;
  Result<Created> replay(const store::AuthRequest& existing, const std::string& bodySha256);
  Result<Plan> plan(const CreateRequestInput& input);
  Result<protocol::Flow> chooseFlow(const std::string& flow, const std::string& conversationId);
  Result<Prepared> prepare(const CreateRequestInput& input, Plan& plan);
  Result<Created> record(Plan& plan, Prepared& prepared, const std::optional<IdempotencyKey>& key);
  RequestState stateOf(store::AuthRequest request, std::optional<store::Delivery> delivery);

  Kernel& k_;
  KeyPool& keyPool_;
  AppleOutbox& outbox_;
};

}  // namespace bcauth::service
