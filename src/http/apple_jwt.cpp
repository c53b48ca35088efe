#include "http/apple_jwt.h"

#include "bcauth/base64.h"
#include "bcauth/secure.h"
#include "clients/apple_gateway.h"

#include <algorithm>
#include <optional>

#include <Poco/Exception.h>
#include <Poco/JWT/JWTException.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

namespace bcauth::http {
namespace {

// exp and nbf are NumericDates (RFC 7519 §2): a number of seconds, possibly fractional.
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

}  // namespace

JwtCheck verifyAppleJwt(const std::string& authorizationHeader, const std::string& secret, const std::string& cspId,
                        std::int64_t nowSeconds, std::int64_t windowSeconds) {
  static const std::string kBearer = "Bearer ";
  if (authorizationHeader.empty()) return {JwtVerdict::kMissing, "no Authorization header"};
  if (authorizationHeader.compare(0, kBearer.size(), kBearer) != 0) {
    return {JwtVerdict::kMissing, "Authorization is not a Bearer token"};
  }
  const std::string jwt = authorizationHeader.substr(kBearer.size());
  const auto firstDot = jwt.find('.');
  const auto lastDot = jwt.rfind('.');
  if (firstDot == std::string::npos || firstDot == lastDot || jwt.find('.', firstDot + 1) != lastDot) {
    return {JwtVerdict::kInvalid, "JWT is not three segments"};
  }
  try {
    // Poco parses the token (no verification here); the signature is checked below with a
    // constant-time comparison, which Poco 1.11's Signer::verify does not do.
    const Poco::JWT::Token token(jwt);
    if (token.getAlgorithm() != "HS256") return {JwtVerdict::kInvalid, "JWT algorithm is not HS256"};
    const auto expected = crypto::base64UrlEncode(crypto::hmacSha256(secret, std::string_view(jwt).substr(0, lastDot)));
    if (!crypto::constantTimeEquals(expected, std::string_view(jwt).substr(lastDot + 1))) {
      return {JwtVerdict::kInvalid, "JWT signature invalid"};
    }
    bool audienceMatches = false;
    for (const auto& a : token.getAudience()) audienceMatches = audienceMatches || a == cspId;
    if (!audienceMatches) return {JwtVerdict::kInvalid, "JWT aud is not this CSP id"};
    if (!token.payload().has("iat")) return {JwtVerdict::kInvalid, "JWT has no iat"};
    const std::int64_t iat = token.getIssuedAt().epochTime();
    if (iat < nowSeconds - windowSeconds || iat > nowSeconds + windowSeconds) {
      return {JwtVerdict::kInvalid, "JWT iat outside the accepted window"};
    }
    // The same clock skew the iat window tolerates, but a small one: a long iat window must not
    // keep an expired token alive for an hour.
    const std::int64_t leeway = std::min(kJwtClockSkewSeconds, windowSeconds);
    if (const auto exp = numericDate(token.payload(), "exp")) {
      if (!*exp) return {JwtVerdict::kInvalid, exp->status().message()};
      if (**exp < nowSeconds - leeway) return {JwtVerdict::kInvalid, "JWT expired (exp is past)"};
    }
    if (const auto nbf = numericDate(token.payload(), "nbf")) {
      if (!*nbf) return {JwtVerdict::kInvalid, nbf->status().message()};
      if (**nbf > nowSeconds + leeway) return {JwtVerdict::kInvalid, "JWT not yet valid (nbf is ahead)"};
    }
  } catch (const std::exception&) {
    return {JwtVerdict::kInvalid, "JWT malformed"};
  }
  return {JwtVerdict::kValid, ""};
}

std::string signAppleJwt(const std::string& secret, const std::string& issuerOrAudience, std::int64_t nowSeconds,
                         bool asAudience) {
  return clients::signAppleJwt(secret, issuerOrAudience, nowSeconds, asAudience);
}

}  // namespace bcauth::http
