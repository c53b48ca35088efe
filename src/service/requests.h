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
#include "service/principal.h"
#include "store/store.h"

namespace bcauth::service {

// POST /v1/auth-requests as the CSP writes it.
struct CreateRequestInput {
  std::string conversationId;
  std::string businessId;  // empty: a business key's own
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

class Administration;

// Every method acts for a principal: a business key creates for its own business only and reads
// only its business's requests (another's is not_found, as one that does not exist).
class Requests {
 public:
  Requests(Kernel& kernel, KeyPool& keyPool, AppleOutbox& outbox, Administration& admin)
      : k_(kernel), keyPool_(keyPool), outbox_(outbox), admin_(admin) {}

  // admit is asked only about a new request that passed validation (a refusal, e.g. a rate
  // limit, is returned as is), so replays and invalid bodies use up no budget. input is the
  // body as the HTTP edge read it: a replayed key answers with its request whatever the body,
  // so the body's error comes after that check.
  using Admission = std::function<Status(const std::string& conversationId)>;
  // Idempotency-Keys are the principal's own: its business's (Principal::scope).
  Result<Created> create(const Principal& who, const Result<CreateRequestInput>& input,
                         const std::optional<IdempotencyKey>& key, const Admission& admit = {});
  // True when who created a request with this Idempotency-Key (a create with it is a replay).
  bool idempotencyKeyUsed(const Principal& who, const std::string& key) {
    return k_.store.requestByIdempotencyKey(scopedIdempotencyKey(who, key)).has_value();
  }

  Result<RequestState> request(const Principal& who, const std::string& id);
  Result<RequestState> cancel(const Principal& who, const std::string& id);
  Result<AccessToken> token(const Principal& who, const std::string& id);
  // The refresh grant at the provider's token URL; answers with the new token.
  Result<AccessToken> refresh(const Principal& who, const std::string& id);

  // An Idempotency-Key as stored: an operator's as given (as before tenancy), a business key's
  // prefixed with its business and a space (neither may hold one), so namespaces never meet.
  static std::string scopedIdempotencyKey(const Principal& who, const std::string& key) {
    return who.isOperator() ? key : who.scope() + " " + key;
  }

  // Turns pending requests past their TTL into auth.expired; returns how many.
  int expireDue();

 private:
  struct Plan;
  struct Prepared;
  Result<Created> replay(const Principal& who, const store::AuthRequest& existing, const std::string& bodySha256);
  Result<Plan> plan(const Principal& who, const CreateRequestInput& input);
  Result<protocol::Flow> chooseFlow(const std::string& flow, const std::optional<store::Conversation>& conversation);
  // The request, when it exists and is who's to see.
  std::optional<store::AuthRequest> visible(const Principal& who, const std::string& id);
  Result<Prepared> prepare(const CreateRequestInput& input, Plan& plan);
  Result<Created> record(const Principal& who, Plan& plan, Prepared& prepared,
                         const std::optional<IdempotencyKey>& key);
  RequestState stateOf(store::AuthRequest request, std::optional<store::Delivery> delivery);

  Kernel& k_;
  KeyPool& keyPool_;
  AppleOutbox& outbox_;
  Administration& admin_;
};

}  // namespace bcauth::service
