#include "service/vault.h"

#include <array>
#include <stdexcept>

namespace bcauth::service {
namespace {

struct KindRow {
  SealKind kind;
  std::string_view prefix;     // the context's first part: never change one (sealed data names it)
  const char* storeKind;       // the request_secrets kind, for request secrets
};

constexpr std::array<KindRow, 7> kKinds = {{
    {SealKind::kProviderSecret, "provider", nullptr},
    {SealKind::kWebhookSecret, "webhook", nullptr},
    {SealKind::kDelivery, "delivery", nullptr},
    {SealKind::kPrivateKey, "private_key", store::secret::kPrivateKey},
    {SealKind::kAccessToken, "access_token", store::secret::kAccessToken},
    {SealKind::kRefreshToken, "refresh_token", store::secret::kRefreshToken},
    {SealKind::kPkceVerifier, "pkce_verifier", store::secret::kPkceVerifier},
}};

const KindRow& row(SealKind kind) {
  for (const auto& r : kKinds) {
    if (r.kind == kind) return r;
  }
  throw std::logic_error("vault: a seal kind without a row");  // every enumerator has one
}

}  // namespace

std::string sealContext(SealKind kind, std::string_view id) {
  return std::string(row(kind).prefix) + ":" + std::string(id);
}

std::optional<SealKind> requestSecretKind(std::string_view storeKind) {
  for (const auto& r : kKinds) {
    if (r.storeKind && storeKind == r.storeKind) return r.kind;
  }
  return std::nullopt;
}

std::optional<SealKind> kindOf(const store::SealedValue& value) {
  if (value.table == "providers") return SealKind::kProviderSecret;
  if (value.table == "subscriptions") return SealKind::kWebhookSecret;
  if (value.table == "deliveries") return SealKind::kDelivery;
  if (value.table == "request_secrets") return requestSecretKind(value.kind);
  return std::nullopt;
}

const char* storeSecretKind(SealKind kind) {
  const char* name = row(kind).storeKind;
  if (!name) throw std::logic_error("vault: not a request secret");
  return name;
}

std::string Vault::seal(SealKind kind, std::string_view id, std::string_view plaintext) const {
  return sealer_.seal(plaintext, sealContext(kind, id));
}

Result<crypto::Secret> Vault::unseal(SealKind kind, std::string_view id, std::string_view sealed) const {
  return sealer_.unseal(sealed, sealContext(kind, id));
}

void Vault::putSecret(store::Transaction& tx, SealKind kind, const std::string& requestId,
                      std::string_view plaintext) const {
  tx.putSecret(requestId, storeSecretKind(kind), seal(kind, requestId, plaintext));
}

Result<crypto::Secret> Vault::secret(store::Store& store, SealKind kind, const std::string& requestId) const {
  const auto sealed = store.secret(requestId, storeSecretKind(kind));
  if (!sealed) return Status::notFound("no " + std::string(storeSecretKind(kind)) + " for auth request " + requestId);
  return unseal(kind, requestId, *sealed);
}

}  // namespace bcauth::service
