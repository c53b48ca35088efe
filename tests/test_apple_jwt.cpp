// Apple's Messaging-API JWT has one module (protocol/apple_jwt.h) that signs and verifies it in
// both directions; the inbound check at the HTTP edge and the gateway double verify with it.
#define BOOST_TEST_MODULE apple_jwt
#include <boost/test/unit_test.hpp>

#include <string>

#include "http/apple_jwt.h"
#include "protocol/apple_jwt.h"

using namespace bcauth;
using protocol::AppleJwtDirection;

namespace {

const std::string kSecret = "apple-secret-bytes-\x01\x02\x03";
const std::string kCsp = "csp-jwt-0001";
constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kWindow = 3600;

Status verify(const std::string& jwt, AppleJwtDirection direction, std::int64_t now = kNow) {
  return protocol::verifyAppleJwt(jwt, kSecret, kCsp, direction, now, kWindow);
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_direction_verifies_what_it_signs) {
  for (const auto direction : {AppleJwtDirection::kToCsp, AppleJwtDirection::kToApple}) {
    const std::string jwt = protocol::signAppleJwt(kSecret, kCsp, kNow, direction);
    const Status status = verify(jwt, direction);
    BOOST_TEST(status.isOk(), status.message());
    BOOST_TEST(!verify(jwt, direction, kNow + kWindow + 1).isOk());
    BOOST_TEST(verify(jwt, direction, kNow + kWindow + 1).message() == "JWT iat outside the accepted window");
    BOOST_TEST(!protocol::verifyAppleJwt(jwt, "another-secret", kCsp, direction, kNow, kWindow).isOk());
    BOOST_TEST(!protocol::verifyAppleJwt(jwt, kSecret, "another-csp", direction, kNow, kWindow).isOk());
  }
}

// Apple names the CSP as audience, the CSP names itself as issuer: a token going one way is
// never accepted as one going the other.
BOOST_AUTO_TEST_CASE(a_token_is_refused_the_other_way) {
  const std::string toCsp = protocol::signAppleJwt(kSecret, kCsp, kNow, AppleJwtDirection::kToCsp);
  const std::string toApple = protocol::signAppleJwt(kSecret, kCsp, kNow, AppleJwtDirection::kToApple);
  BOOST_TEST(verify(toCsp, AppleJwtDirection::kToApple).message() == "JWT iss is not this CSP id");
  BOOST_TEST(verify(toApple, AppleJwtDirection::kToCsp).message() == "JWT aud is not this CSP id");
  BOOST_TEST(verify("a.b", AppleJwtDirection::kToCsp).message() == "JWT is not three segments");
  BOOST_TEST(verify("a.b.c", AppleJwtDirection::kToCsp).message() == "JWT malformed");
}

// The HTTP edge reads the Authorization header and leaves the token to the module: the same
// verdict and the same reason for every token.
BOOST_AUTO_TEST_CASE(the_inbound_check_is_the_module_behind_a_bearer_header) {
  const std::string tokens[] = {protocol::signAppleJwt(kSecret, kCsp, kNow, AppleJwtDirection::kToCsp),
                                protocol::signAppleJwt(kSecret, kCsp, kNow, AppleJwtDirection::kToApple),
                                protocol::signAppleJwt("wrong", kCsp, kNow, AppleJwtDirection::kToCsp),
                                protocol::signAppleJwt(kSecret, kCsp, kNow - 2 * kWindow, AppleJwtDirection::kToCsp),
                                "a.b", "a.b.c", "..", ""};
  for (const auto& token : tokens) {
    BOOST_TEST_CONTEXT(token) {
      const Status module = verify(token, AppleJwtDirection::kToCsp);
      const http::JwtCheck edge = http::verifyAppleJwt("Bearer " + token, kSecret, kCsp, kNow, kWindow);
      BOOST_TEST((edge.verdict == (module.isOk() ? http::JwtVerdict::kValid : http::JwtVerdict::kInvalid)));
      BOOST_TEST(edge.reason == (module.isOk() ? std::string() : module.message()));
    }
  }
  BOOST_TEST((http::verifyAppleJwt("", kSecret, kCsp, kNow, kWindow).verdict == http::JwtVerdict::kMissing));
  BOOST_TEST((http::verifyAppleJwt("Basic abc", kSecret, kCsp, kNow, kWindow).verdict == http::JwtVerdict::kMissing));
}
