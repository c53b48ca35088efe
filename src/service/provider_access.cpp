#include "service/provider_access.h"

#include <stdexcept>

namespace bcauth::service {

clients::ClientCredentials clientCredentials(const Vault& vault, const store::Provider& provider) {
  clients::ClientCredentials client;
  client.clientId = provider.clientId;
  client.basicAuth = provider.tokenAuthMethod == "client_secret_basic";
  if (provider.sealedClientSecret) {
    auto secret = vault.unseal(SealKind::kProviderSecret, provider.id, *provider.sealedClientSecret);
    if (!secret) throw std::runtime_error("the provider's client secret does not unseal (wrong master key?)");
    client.clientSecret = std::move(*secret);
  }
  return client;
}

void storeTokens(store::Transaction& tx, const Vault& vault, const std::string& requestId,
                 const clients::TokenResponse& tokens) {
  vault.putSecret(tx, SealKind::kAccessToken, requestId, tokens.accessToken.view());
  if (tokens.refreshToken) vault.putSecret(tx, SealKind::kRefreshToken, requestId, tokens.refreshToken->view());
}

std::int64_t tokenExpiry(const clients::TokenResponse& tokens, std::int64_t now) {
  return tokens.expiresInSeconds ? now + *tokens.expiresInSeconds * 1000 : 0;
}

}  // namespace bcauth::service
