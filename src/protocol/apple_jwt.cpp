#include "protocol/apple_jwt.h"

#include <algorithm>
#include <optional>

#include <Poco/Crypto/Crypto.h>
#include <Poco/Dynamic/Var.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include "bcauth/base64.h"
#include "bcauth/secure.h"
#include "protocol/json_util.h"

namespace bcauth::protocol {
namespace {

// A JWT segment: Base64url without padding (RFC 7515 §2).
std::optional<std::string> segmentText(std::string_view segment) {
  auto bytes = crypto::base64UrlDecode(segment);
  if (!bytes) return std::nullopt;
  return std::string(bytes->begin(), bytes->end());
}

// The header or claims segment as a JSON object; null when it is not one.
Poco::JSON::Object::Ptr segmentObject(std::string_view segment) {
  const auto text = segmentText(segment);
  if (!text) return nullptr;
  auto object = json::parseObject(*text);
  return object ? *object : nullptr;
}

// exp, nbf and iat are NumericDates (RFC 7519 §2): a number of seconds, possibly fractional.
// Absent: nullopt. Present but not a number: an error (a claim we cannot read is not ignored).
std::optional<Result<std::int64_t>> numericDate(const Poco::JSON::Object& claims, const std::string& name) {
  if (!claims.has(name)) return std::nullopt;
  const Poco::Dynamic::Var value = claims.get(name);
  if (!value.isNumeric() || value.isBoolean()) {
    return Result<std::int64_t>(Status::invalidArgument("JWT " + name + " is not a number"));
  }
  // Clamped before the conversion, which is undefined for a double out of int64's range.
  constexpr double kFar = 4e18;
  const double seconds = std::clamp(value.convert<double>(), -kFar, kFar);
  return Result<std::int64_t>(static_cast<std::int64_t>(seconds));
}

bool isString(const Poco::Dynamic::Var& value, const std::string& expected) {
  return value.isString() && value.extract<std::string>() == expected;
}

// aud is one string or an array of strings (RFC 7519 §4.1.3); iss is one string.
bool namesCsp(const Poco::JSON::Object& claims, const std::string& cspId, AppleJwtDirection direction) {
  if (direction == AppleJwtDirection::kToApple) return claims.has("iss") && isString(claims.get("iss"), cspId);
  if (!claims.has("aud")) return false;
  const Poco::Dynamic::Var audience = claims.get("aud");
  if (isString(audience, cspId)) return true;
  const auto array = claims.getArray("aud");
  if (!array) return false;
  for (std::size_t i = 0; i < array->size(); ++i) {
    if (isString(array->get(static_cast<unsigned>(i)), cspId)) return true;
  }
  return false;
}

}  // namespace

void holdPocoCrypto() {
  static const bool held = [] {
    Poco::Crypto::initializeCrypto();  // never released: see the header
    return true;
  }();
  (void)held;
}

std::string signAppleJwt(const std::string& secret, const std::string& cspId, std::int64_t nowSeconds,
                         AppleJwtDirection direction) {
  holdPocoCrypto();
  Poco::JWT::Token token;
  token.setType("JWT");
  if (direction == AppleJwtDirection::kToCsp) token.setAudience(cspId);
  else token.setIssuer(cspId);
  token.setIssuedAt(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(nowSeconds)));
  Poco::JWT::Signer signer(secret);
  return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

Status verifyAppleJwt(std::string_view jwt, const std::string& secret, const std::string& cspId,
                      AppleJwtDirection direction, std::int64_t nowSeconds, std::int64_t windowSeconds) {
  const auto firstDot = jwt.find('.');
  const auto lastDot = jwt.rfind('.');
  if (firstDot == std::string_view::npos || firstDot == lastDot || jwt.find('.', firstDot + 1) != lastDot) {
    return Status::invalidArgument("JWT is not three segments");
  }
  try {
    // The header is read first (its algorithm decides what the signature means); the claims only
    // once the signature holds, compared in constant time.
    const auto header = segmentObject(jwt.substr(0, firstDot));
    if (!header) return Status::invalidArgument("JWT malformed");
    if (!header->has("alg") || !isString(header->get("alg"), "HS256")) {
      return Status::invalidArgument("JWT algorithm is not HS256");
    }
    const auto expected = crypto::base64UrlEncode(crypto::hmacSha256(secret, jwt.substr(0, lastDot)));
    if (!crypto::constantTimeEquals(expected, jwt.substr(lastDot + 1))) {
      return Status::invalidArgument("JWT signature invalid");
    }
    const auto claims = segmentObject(jwt.substr(firstDot + 1, lastDot - firstDot - 1));
    if (!claims) return Status::invalidArgument("JWT malformed");
    if (!namesCsp(*claims, cspId, direction)) {
      return Status::invalidArgument(direction == AppleJwtDirection::kToCsp ? "JWT aud is not this CSP id"
                                                                            : "JWT iss is not this CSP id");
    }
    const auto iat = numericDate(*claims, "iat");
    if (!iat) return Status::invalidArgument("JWT has no iat");
    if (!*iat) return iat->status();
    if (**iat < nowSeconds - windowSeconds || **iat > nowSeconds + windowSeconds) {
      return Status::invalidArgument("JWT iat outside the accepted window");
    }
    // The same clock skew the iat window tolerates, but a small one: a long iat window must not
    // keep an expired token alive for an hour.
    const std::int64_t leeway = std::min(kJwtClockSkewSeconds, windowSeconds);
    if (const auto exp = numericDate(*claims, "exp")) {
      if (!*exp) return exp->status();
      if (**exp < nowSeconds - leeway) return Status::invalidArgument("JWT expired (exp is past)");
    }
    if (const auto nbf = numericDate(*claims, "nbf")) {
      if (!*nbf) return nbf->status();
      if (**nbf > nowSeconds + leeway) return Status::invalidArgument("JWT not yet valid (nbf is ahead)");
    }
  } catch (const std::exception&) {
    return Status::invalidArgument("JWT malformed");
  }
  return Status::ok();
}

}  // namespace bcauth::protocol
