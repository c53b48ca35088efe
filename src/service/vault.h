// Secrets at rest: the master-key sealer and what each sealed value is. Every value is sealed
// under a context "<kind>:<id>" (crypto::Sealer binds it), so a blob moved to another row does
// not open. The kinds are an enum, so a misspelt context does not compile; their byte form is
// fixed by the data already sealed and must never change.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bcauth/seal.h"
#include "bcauth/status.h"
#include "store/store.h"

namespace bcauth::service {

enum class SealKind {
  kProviderSecret,  // "provider:<provider id>": an IdP client secret
  kWebhookSecret,   // "webhook:<subscription id>": a webhook signing secret
  kDelivery,        // "delivery:<request id>": a message queued for Apple's gateway
  kPrivateKey,      // "private_key:<request id>": a legacy request's P-384 key
  kAccessToken,     // "access_token:<request id>"
  kRefreshToken,    // "refresh_token:<request id>"
  kPkceVerifier,    // "pkce_verifier:<request id>"
};

// The context a value of this kind, belonging to id, is sealed under.
std::string sealContext(SealKind kind, std::string_view id);

// The kind of a request secret, by the name the store keeps it under (store::secret::k…).
std::optional<SealKind> requestSecretKind(std::string_view storeKind);

// The kind of the value a store row holds (for `bcauth rekey`), or nullopt for a row bcauth
// does not know.
std::optional<SealKind> kindOf(const store::SealedValue& value);

class Vault {
 public:
  explicit Vault(crypto::Sealer sealer) : sealer_(std::move(sealer)) {}

  std::string seal(SealKind kind, std::string_view id, std::string_view plaintext) const;
  Result<crypto::Secret> unseal(SealKind kind, std::string_view id, std::string_view sealed) const;

  // A request's secret (kPrivateKey, kAccessToken, kRefreshToken or kPkceVerifier), sealed and
  // written in tx, or read and opened: notFound when there is none, kDecryptionFailed when it
  // does not open.
  void putSecret(store::Transaction& tx, SealKind kind, const std::string& requestId, std::string_view plaintext) const;
  Result<crypto::Secret> secret(store::Store& store, SealKind kind, const std::string& requestId) const;

 private:
  crypto::Sealer sealer_;
};

// The name under which the store keeps a request secret of this kind (store::secret::k…).
const char* storeSecretKind(SealKind kind);

}  // namespace bcauth::service
