// The JWT Apple puts on every POST /message, as the HTTP edge sees it: the Authorization header
// (missing or not Bearer: 401; anything wrong with the token: 403). The token itself is checked
// by protocol/apple_jwt.h (HS256, aud = the CSP id, iat window, exp and nbf).
#pragma once

#include <cstdint>
#include <string>

namespace bcauth::http {

enum class JwtVerdict { kValid, kMissing, kInvalid };

struct JwtCheck {
  JwtVerdict verdict;
  std::string reason;  // for the log and the 401/403 body; never contains the token
};

JwtCheck verifyAppleJwt(const std::string& authorizationHeader, const std::string& secret, const std::string& cspId,
                        std::int64_t nowSeconds, std::int64_t windowSeconds);

}  // namespace bcauth::http
