// Apple's Messaging-API JWT (spec §1.2), in both directions: HS256 keyed with the Base64-decoded
// Messaging API secret. Apple → CSP (POST /message) names the CSP id as aud; CSP → Apple
// (POST /authenticate) names it as iss. iat must lie in a window around now; exp and nbf, when
// present, are honoured with kJwtClockSkewSeconds of leeway (at most the window).
// The one place that signs or verifies these tokens: the gateway client, the inbound check
// (http/apple_jwt.h: the Authorization header and its 401/403) and the demo's doubles use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bcauth/status.h"

namespace bcauth::protocol {

// Clock skew allowed on exp and nbf (capped by the iat window when that is smaller).
inline constexpr std::int64_t kJwtClockSkewSeconds = 60;

// Which way a token goes, and so which claim carries the CSP id.
enum class AppleJwtDirection {
  kToCsp,    // Apple's gateway → the CSP: aud = the CSP id
  kToApple,  // the CSP → Apple's gateway: iss = the CSP id
};

// {"alg":"HS256","typ":"JWT"} over {aud or iss: cspId, iat: nowSeconds}. secret: decoded bytes.
std::string signAppleJwt(const std::string& secret, const std::string& cspId, std::int64_t nowSeconds,
                         AppleJwtDirection direction);

// OK, or invalidArgument whose message says why (it never contains the token).
Status verifyAppleJwt(std::string_view jwt, const std::string& secret, const std::string& cspId,
                      AppleJwtDirection direction, std::int64_t nowSeconds, std::int64_t windowSeconds);

// Poco::Crypto counts its users and frees OpenSSL's lock table when the count drops to zero;
// two threads crossing zero at once (a Poco::JWT::Signer made and dropped on each of two
// threads) free it twice and corrupt the heap (found by ThreadSanitizer). Taking one reference
// for the life of the process keeps the count above zero. Idempotent and thread-safe: call it
// before using Poco::JWT::Signer (signAppleJwt does).
void holdPocoCrypto();

}  // namespace bcauth::protocol
