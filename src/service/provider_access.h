// What the redirect callback and the refresh grant both need from a provider row: its client
// credentials (the secret unsealed) and where an IdP's token answer is kept.
#pragma once

#include <cstdint>
#include <string>

#include "clients/idp_client.h"
#include "service/vault.h"
#include "store/store.h"

namespace bcauth::service {

// Throws std::runtime_error when the client secret does not unseal (a wrong master key): the
// callers treat it as an internal fault.
clients::ClientCredentials clientCredentials(const Vault& vault, const store::Provider& provider);

// Seals the access token and, when there is one, the refresh token, in tx.
void storeTokens(store::Transaction& tx, const Vault& vault, const std::string& requestId,
                 const clients::TokenResponse& tokens);
// When the access token expires (unix ms), or 0 when the IdP gave no expiry.
std::int64_t tokenExpiry(const clients::TokenResponse& tokens, std::int64_t now);

}  // namespace bcauth::service
