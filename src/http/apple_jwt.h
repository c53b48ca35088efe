// Verifying the JWT Apple puts on every POST /message (spec §1.2): HS256 only, keyed with the
// Base64-decoded Messaging API secret, aud = the CSP id (string or array), iat in a window;
// exp and nbf, when present, honoured with kJwtClockSkewSeconds of leeway (at most the window).
#pragma once

#include <cstdint>
#include <string>

namespace bcauth::http {

// Clock skew allowed on exp and nbf (capped by the iat window when that is smaller).
inline constexpr std::int64_t kJwtClockSkewSeconds = 60;

enum class JwtVerdict { kValid, kMissing, kInvalid };

struct JwtCheck {
  JwtVerdict verdict;
  std::string reason;  // for the log and the 401/403 body; never contains the token
};

JwtCheck verifyAppleJwt(const std::string& authorizationHeader, const std::string& secret, const std::string& cspId,
                        std::int64_t nowSeconds, std::int64_t windowSeconds);

// The outbound form (CSP → Apple): {"iss": cspId, "iat": now}, HS256. Used by tests and replay.
std::string signAppleJwt(const std::string& secret, const std::string& issuerOrAudience, std::int64_t nowSeconds,
                         bool asAudience);

}  // namespace bcauth::http
