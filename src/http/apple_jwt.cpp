#include "http/apple_jwt.h"

#include "clients/apple_gateway.h"

#include <Poco/Exception.h>
#include <Poco/JWT/JWTException.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

namespace bcauth::http {

JwtCheck verifyAppleJwt(const std::string& authorizationHeader, const std::string& secret, const std::string& cspId,
                        std::int64_t nowSeconds, std::int64_t windowSeconds) {
  static const std::string kBearer = "Bearer ";
  if (authorizationHeader.empty()) return {JwtVerdict::kMissing, "no Authorization header"};
  if (authorizationHeader.compare(0, kBearer.size(), kBearer) != 0) {
    return {JwtVerdict::kMissing, "Authorization is not a Bearer token"};
  }
  const std::string jwt = authorizationHeader.substr(kBearer.size());
  Poco::JWT::Token token;
  try {
    // The Signer accepts HS256 only unless told otherwise: "none" and other algorithms fail.
    Poco::JWT::Signer signer(secret);
    token = signer.verify(jwt);
  } catch (const Poco::Exception&) {
    return {JwtVerdict::kInvalid, "JWT signature or algorithm invalid"};
  }
  if (token.getAlgorithm() != "HS256") return {JwtVerdict::kInvalid, "JWT algorithm is not HS256"};
  const auto audiences = token.getAudience();
  bool audienceMatches = false;
  for (const auto& a : audiences) audienceMatches = audienceMatches || a == cspId;
  if (!audienceMatches) return {JwtVerdict::kInvalid, "JWT aud is not this CSP id"};
  if (!token.payload().has("iat")) return {JwtVerdict::kInvalid, "JWT has no iat"};
  const std::int64_t iat = token.getIssuedAt().epochTime();
  if (iat < nowSeconds - windowSeconds || iat > nowSeconds + windowSeconds) {
    return {JwtVerdict::kInvalid, "JWT iat outside the accepted window"};
  }
  return {JwtVerdict::kValid, ""};
}

std::string signAppleJwt(const std::string& secret, const std::string& issuerOrAudience, std::int64_t nowSeconds,
                         bool asAudience) {
  return clients::signAppleJwt(secret, issuerOrAudience, nowSeconds, asAudience);
}

}  // namespace bcauth::http
