// Apple's Messaging-API JWT has one module (protocol/apple_jwt.h) that signs and verifies it in
// both directions; the inbound check at the HTTP edge and the gateway double verify with it.
#define BOOST_TEST_MODULE apple_jwt
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "http/apple_jwt.h"
#include "protocol/apple_jwt.h"

#include "bcauth/base64.h"
#include "bcauth/secure.h"

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

// The token's own parts, as RFC 7519 has them: aud a string or an array of strings, iat a
// number, the header an object naming HS256.
BOOST_AUTO_TEST_CASE(claims_are_read_as_the_rfc_writes_them) {
  const auto segment = [](const std::string& json) {
    return crypto::base64UrlEncode(std::span(reinterpret_cast<const std::uint8_t*>(json.data()), json.size()));
  };
  const auto signedWith = [&](const std::string& header, const std::string& claims) {
    const std::string input = header + "." + claims;
    return input + "." + crypto::base64UrlEncode(crypto::hmacSha256(kSecret, input));
  };
  const std::string hs256 = segment(R"({"alg":"HS256","typ":"JWT"})");
  const auto withClaims = [&](const std::string& claims) { return signedWith(hs256, segment(claims)); };
  const std::string iat = R"(,"iat":)" + std::to_string(kNow);

  BOOST_TEST(verify(withClaims(R"({"aud":["other",")" + kCsp + R"("])" + iat + "}"), AppleJwtDirection::kToCsp).isOk());
  BOOST_TEST(verify(withClaims(R"({"aud":["other"])" + iat + "}"), AppleJwtDirection::kToCsp).message() ==
             "JWT aud is not this CSP id");
  BOOST_TEST(verify(withClaims(R"({"aud":")" + kCsp + R"("})"), AppleJwtDirection::kToCsp).message() ==
             "JWT has no iat");
  BOOST_TEST(verify(withClaims("[1]"), AppleJwtDirection::kToCsp).message() == "JWT malformed");
  BOOST_TEST(verify(signedWith(segment(R"({"typ":"JWT"})"), segment(R"({"aud":")" + kCsp + "\"" + iat + "}")),
                    AppleJwtDirection::kToCsp)
                 .message() == "JWT algorithm is not HS256");
  BOOST_TEST(verify(signedWith(segment(R"({"alg":"none"})"), segment(R"({"aud":")" + kCsp + "\"" + iat + "}")),
                    AppleJwtDirection::kToCsp)
                 .message() == "JWT algorithm is not HS256");
  // NumericDate is a JSON number: a string of digits is not one.
  BOOST_TEST(verify(withClaims(R"({"aud":")" + kCsp + R"(","iat":")" + std::to_string(kNow) + "\"}"),
                    AppleJwtDirection::kToCsp)
                 .message() == "JWT iat is not a number");
  BOOST_TEST(verify(withClaims(R"({"aud":[42,null])" + iat + "}"), AppleJwtDirection::kToCsp).message() ==
             "JWT aud is not this CSP id");
  // The claims are read only under a valid signature; a segment that is not Base64url is malformed.
  const std::string forged = hs256 + "." + segment("not json") + ".c2lnbmF0dXJl";
  BOOST_TEST(verify(forged, AppleJwtDirection::kToCsp).message() == "JWT signature invalid");
  BOOST_TEST(verify(signedWith(hs256, "e30*"), AppleJwtDirection::kToCsp).message() == "JWT malformed");
  BOOST_TEST(verify(signedWith(hs256 + "=", segment("{}")), AppleJwtDirection::kToCsp).message() == "JWT malformed");
}

// The MAC under the JWT (and the webhook signatures): RFC 4231's HMAC-SHA256 test cases 1, 2
// and 6 (a key longer than the block), and an empty key, from several threads at once (each
// MAC copies one shared context).
BOOST_AUTO_TEST_CASE(hmac_sha256_matches_rfc_4231) {
  const auto hex = [](const std::array<std::uint8_t, 32>& mac) { return crypto::hexLower(mac); };
  const std::pair<std::string, std::string> cases[] = {
      {std::string(20, '\x0b'), "Hi There"},
      {"Jefe", "what do ya want for nothing?"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"}};
  const std::string want[] = {"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        for (std::size_t i = 0; i < 3; ++i) {
          if (hex(crypto::hmacSha256(cases[i].first, cases[i].second)) != want[i]) ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_TEST(wrong.load() == 0);
  BOOST_TEST(hex(crypto::hmacSha256("", "")) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}
