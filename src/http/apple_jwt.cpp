#include "http/apple_jwt.h"

#include <string_view>

#include "protocol/apple_jwt.h"

namespace bcauth::http {

JwtCheck verifyAppleJwt(const std::string& authorizationHeader, const std::string& secret, const std::string& cspId,
                        std::int64_t nowSeconds, std::int64_t windowSeconds) {
  static constexpr std::string_view kBearer = "Bearer ";
  if (authorizationHeader.empty()) return {JwtVerdict::kMissing, "no Authorization header"};
  if (authorizationHeader.compare(0, kBearer.size(), kBearer) != 0) {
    return {JwtVerdict::kMissing, "Authorization is not a Bearer token"};
  }
  const Status status = protocol::verifyAppleJwt(std::string_view(authorizationHeader).substr(kBearer.size()), secret,
                                                 cspId, protocol::AppleJwtDirection::kToCsp, nowSeconds, windowSeconds);
  if (!status) return {JwtVerdict::kInvalid, status.message()};
  return {JwtVerdict::kValid, ""};
}

}  // namespace bcauth::http
