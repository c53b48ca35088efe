#include "service/tenancy.h"

#include <array>
#include <cstdint>

#include "bcauth/secure.h"
#include "protocol/ids.h"

namespace bcauth::service {
namespace {

constexpr std::string_view kKeyPrefix = "bcak_";
constexpr std::size_t kKeyIdBytes = 8;       // 16 hex digits: no '_', so the key splits unambiguously
constexpr std::size_t kSecretBytes = 32;     // 43 Base64url characters
constexpr std::size_t kMaxNameLength = 200;  // a label for people, not data

std::string hashOf(const std::string& secret) {
  const auto digest = crypto::sha256(secret);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string newKeyId() { return crypto::hexLower(crypto::randomBytes(kKeyIdBytes)); }

bool isHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Status checkName(const std::string& name) {
  if (name.size() > kMaxNameLength) {
    return Status::invalidArgument("must be at most " + std::to_string(kMaxNameLength) + " bytes", "name");
  }
  for (const unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return Status::invalidArgument("must not contain control characters", "name");
  }
  return Status::ok();
}

}  // namespace

std::optional<KeyParts> parseApiKey(const std::string& presented) {
  if (presented.compare(0, kKeyPrefix.size(), kKeyPrefix) != 0) return std::nullopt;
  const std::size_t idEnd = presented.find('_', kKeyPrefix.size());
  if (idEnd == std::string::npos) return std::nullopt;
  KeyParts parts{presented.substr(kKeyPrefix.size(), idEnd - kKeyPrefix.size()), presented.substr(idEnd + 1)};
  if (parts.keyId.size() != 2 * kKeyIdBytes || !isHex(parts.keyId) || parts.secret.empty()) return std::nullopt;
  return parts;
}

// --- businesses -------------------------------------------------------------------------------

Result<store::Business> Tenancy::createBusiness(const BusinessInput& input) {
  if (auto valid = protocol::ids::checkBusinessId(input.id, "id"); !valid) return valid;
  if (auto valid = checkName(input.name); !valid) return valid;
  const store::Business business{input.id, input.name.empty() ? input.id : input.name, now()};
  bool inserted = false;
  store_.transaction([&](store::Transaction& tx) { inserted = tx.insertBusiness(business); });
  if (!inserted) return Status::conflict("business " + input.id + " already exists");
  return business;
}

Result<store::Business> Tenancy::business(const std::string& id) {
  if (auto found = store_.business(id)) return *found;
  return Status::notFound("business " + id + " does not exist");
}

std::vector<store::Business> Tenancy::businesses() { return store_.businesses(); }

// --- API keys ---------------------------------------------------------------------------------

Result<CreatedApiKey> Tenancy::createApiKey(const ApiKeyInput& input) {
  if (input.name.empty()) return Status::invalidArgument("is required", "name");
  if (auto valid = checkName(input.name); !valid) return valid;
  if (input.businessId && !store_.business(*input.businessId)) {
    return Status::invalidArgument("names no business (create it first: POST /v1/businesses)", "businessId");
  }
  const std::string secretText = crypto::randomUrlToken(kSecretBytes);
  CreatedApiKey created;
  created.key.id = newKeyId();
  created.key.businessId = input.businessId;
  created.key.name = input.name;
  created.key.secretHash = hashOf(secretText);
  created.key.createdAt = now();
  created.presented = std::string(kKeyPrefix) + created.key.id + "_" + secretText;
  bool inserted = false;
  store_.transaction([&](store::Transaction& tx) { inserted = tx.insertApiKey(created.key); });
  // 64 random bits colliding: never in practice, but a refusal beats handing out a dead key.
  if (!inserted) return Status::internal("a new API key id collided; try again");
  return created;
}

std::vector<store::ApiKey> Tenancy::apiKeys() { return store_.apiKeys(); }

Status Tenancy::revokeApiKey(const std::string& id) {
  if (!store_.apiKey(id)) return Status::notFound("API key " + id + " does not exist");
  store_.transaction([&](store::Transaction& tx) { tx.revokeApiKey(id, now()); });
  return Status::ok();
}

std::optional<Principal> Tenancy::authenticate(const std::string& presented) {
  const auto parts = parseApiKey(presented);
  if (!parts) return std::nullopt;
  const auto key = store_.apiKey(parts->keyId);
  // The hash is compared whether or not the key exists or is revoked, so timing tells nothing.
  const std::string stored = key ? key->secretHash : std::string(32, '\0');
  const bool matches = crypto::constantTimeEquals(hashOf(parts->secret), stored);
  if (!key || !matches || key->revokedAt) return std::nullopt;
  const std::int64_t at = now();
  if (!key->lastUsedAt || *key->lastUsedAt <= at - store::kApiKeyTouchIntervalMs) {
    try {
      store_.transaction([&](store::Transaction& tx) { tx.touchApiKey(key->id, at); });
    } catch (const store::UnavailableError&) {
      // The last-use time is a hint: a store that cannot take writes (full disk) must not turn
      // away a valid key, whose reads may still be served.
    }
  }
  return Principal{key->businessId, key->id};
}

}  // namespace bcauth::service
