// Tenancy: the businesses (tenants) bcauth serves and the API keys that act for them. An
// operator key may do everything; a business key acts for one business only. A key is shown
// once, when it is made, as bcak_<keyid>_<secret>: <keyid> is public (16 hex digits, it names
// the key in lists, logs and rate limits), <secret> is 32 random bytes in Base64url, of which
// the store keeps only the SHA-256. A presented key is looked up in the store on every call,
// so a revocation holds at once on every instance sharing the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bcauth/status.h"
#include "service/clock.h"
#include "service/principal.h"
#include "store/store.h"

namespace bcauth::service {

struct BusinessInput {
  std::string id;    // Apple's business id (the destination-id of its messages)
  std::string name;  // empty: the id
};

struct ApiKeyInput {
  std::string name;
  std::optional<std::string> businessId;  // none: an operator key
};

// A new key: its row, and the whole key — the only time it is ever available.
struct CreatedApiKey {
  store::ApiKey key;
  std::string presented;  // bcak_<keyid>_<secret>
};

// The two halves of a presented bcak_ key, or none when it is not of that form.
struct KeyParts {
  std::string keyId;
  std::string secret;
};
std::optional<KeyParts> parseApiKey(const std::string& presented);

class Tenancy {
 public:
  // Only the store and the clock: `bcauth business|api-key` use it without a master key.
  Tenancy(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  Result<store::Business> createBusiness(const BusinessInput& input);  // conflict when it exists
  Result<store::Business> business(const std::string& id);
  std::vector<store::Business> businesses();

  Result<CreatedApiKey> createApiKey(const ApiKeyInput& input);
  std::vector<store::ApiKey> apiKeys();
  // Revoked from now on, everywhere; revoking a revoked key is ok (its first time stays).
  Status revokeApiKey(const std::string& id);

  // The principal a presented bcak_ key stands for, or none (malformed, unknown, wrong secret,
  // revoked). Notes its use (store::kApiKeyTouchIntervalMs: at most one write a minute).
  std::optional<Principal> authenticate(const std::string& presented);

 private:
  std::int64_t now() const { return clock_.nowMillis(); }

  store::Store& store_;
  const Clock& clock_;
};

}  // namespace bcauth::service
