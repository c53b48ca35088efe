// Outbound calls to an identity provider: the OAuth2 authorization-code exchange (RFC 6749
// §4.1.3, with PKCE's code_verifier), the refresh grant, and the userinfo endpoint.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <Poco/JSON/Object.h>

#include "bcauth/secure.h"
#include "clients/destination.h"

namespace bcauth::clients {

enum class IdpFailure {
  kNone,
  kUnreachable,      // connection, TLS or timeout
  kRefused,          // bcauth would not call the URL (its text, or the address it resolves to)
  kHttpError,        // the IdP answered 4xx/5xx (e.g. invalid_grant for a PKCE mismatch)
  kInvalidResponse,  // not JSON, or no access_token
};

struct TokenResponse {
  IdpFailure failure = IdpFailure::kNone;
  std::string detail;  // for logs and events: never a token
  crypto::Secret accessToken;
  std::string tokenType;
  std::optional<std::int64_t> expiresInSeconds;
  std::optional<crypto::Secret> refreshToken;
};

struct ClientCredentials {
  std::string clientId;
  std::optional<crypto::Secret> clientSecret;
  bool basicAuth = false;  // client_secret_basic instead of client_secret_post
};

struct UserinfoResponse {
  IdpFailure failure = IdpFailure::kNone;
  std::string detail;
  Poco::JSON::Object::Ptr claims;
};

class IdpClient {
 public:
  explicit IdpClient(OutboundPolicy policy = {}, int timeoutSeconds = 10)
      : policy_(std::move(policy)), timeoutSeconds_(timeoutSeconds) {}

  TokenResponse exchangeCode(const std::string& tokenUrl, const ClientCredentials& client, const std::string& code,
                             const std::string& redirectUri, const std::optional<std::string>& codeVerifier) const;
  TokenResponse refresh(const std::string& tokenUrl, const ClientCredentials& client,
                        const std::string& refreshToken) const;
  UserinfoResponse userinfo(const std::string& userinfoUrl, const std::string& accessToken) const;

 private:
  OutboundPolicy policy_;  // which addresses the IdP's URLs may resolve to
  int timeoutSeconds_;
};

}  // namespace bcauth::clients
