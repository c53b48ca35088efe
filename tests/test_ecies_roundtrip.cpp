#define BOOST_TEST_MODULE ecies_roundtrip
#include <boost/test/unit_test.hpp>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "p384_backend.h"
#include "test_support.h"

using namespace bcauth;
using namespace bcauth::crypto;

namespace {
bool isOpaqueFailure(const Status& s) { return s.code() == StatusCode::kDecryptionFailed; }
}  // namespace

BOOST_AUTO_TEST_CASE(one_thousand_random_round_trips) {
  for (int i = 0; i < 1000; ++i) {
    auto key = PrivateKey::generate();
    BOOST_REQUIRE(key.isOk());
    const auto lengthSource = randomBytes(2);
    const std::size_t length = (std::size_t{lengthSource[0]} << 8 | lengthSource[1]) % 4097;
    const auto plaintextBytes = randomBytes(length);
    const std::string plaintext(plaintextBytes.begin(), plaintextBytes.end());
    auto token = encrypt(key->publicKey(), plaintext);
    BOOST_REQUIRE(token.isOk());
    auto opened = decrypt(*key, *token);
    BOOST_REQUIRE_MESSAGE(opened.isOk(), "round trip " << i << ": " << opened.status().toString());
    BOOST_REQUIRE(opened->view() == plaintext);
  }
}

BOOST_AUTO_TEST_CASE(plaintexts_from_empty_to_4_kib) {
  auto key = PrivateKey::generate();
  BOOST_REQUIRE(key.isOk());
  for (std::size_t length : {0u, 1u, 15u, 16u, 17u, 31u, 32u, 33u, 255u, 256u, 1000u, 4095u, 4096u}) {
    const std::string plaintext(length, 'x');
    auto token = encrypt(key->publicKey(), plaintext);
    BOOST_REQUIRE(token.isOk());
    BOOST_TEST(base64Decode(*token)->size() == 97 + length + 16);
    auto opened = decrypt(*key, *token);
    BOOST_REQUIRE(opened.isOk());
    BOOST_TEST(opened->view() == plaintext);
  }
}

BOOST_AUTO_TEST_CASE(every_single_bit_flip_is_rejected) {
  auto key = PrivateKey::generate();
  BOOST_REQUIRE(key.isOk());
  auto token = encrypt(key->publicKey(), "ya29.a-realistic-access-token-value");
  BOOST_REQUIRE(token.isOk());
  const auto blob = base64Decode(*token).value();
  int flips = 0;
  for (std::size_t byte = 0; byte < blob.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto altered = blob;
      altered[byte] = static_cast<std::uint8_t>(altered[byte] ^ (1u << bit));
      auto result = decrypt(*key, base64Encode(altered));
      BOOST_REQUIRE_MESSAGE(!result.isOk(), "flip of byte " << byte << " bit " << bit << " was accepted");
      BOOST_REQUIRE_MESSAGE(isOpaqueFailure(result.status()), "flip gave a non-opaque error");
      ++flips;
    }
  }
  BOOST_TEST(flips == static_cast<int>(blob.size() * 8));
}

BOOST_AUTO_TEST_CASE(wrong_key_is_the_opaque_error) {
  auto key = PrivateKey::generate();
  auto other = PrivateKey::generate();
  auto token = encrypt(key->publicKey(), "secret");
  auto result = decrypt(*other, *token);
  BOOST_REQUIRE(!result.isOk());
  BOOST_TEST(isOpaqueFailure(result.status()));
}

BOOST_AUTO_TEST_CASE(malformed_tokens_get_clear_errors) {
  auto key = PrivateKey::generate();
  auto token = encrypt(key->publicKey(), "secret").value();

  auto empty = decrypt(*key, "");
  BOOST_TEST(!empty.isOk());
  BOOST_TEST(empty.status().message().find("too short") != std::string::npos);

  auto shortToken = decrypt(*key, token.substr(0, 100));
  BOOST_TEST(shortToken.status().message().find("too short") != std::string::npos);

  // A random token holds a '+' or '/' only by chance: the URL-safe check uses a fixed one that
  // holds both (shared/spec/test-vectors.md §G.2: the static recipient key, the ordinary token).
  const auto staticKey = PrivateKey::fromScalar(bcauth::test::hex(
      "6cc76e59a35ac9251ee42570270562bc3ebc396f709144963c93a08b9f1bb833d430918b76982b434417c73010b13c94"));
  BOOST_REQUIRE(staticKey.isOk());
  const std::string fixedToken =
      "BC7cNypc02td6NCBHB5afPN3ytl42860407Hb0IDY0LtCglEEND7JF5/zwWsiRv1hOl6ns4cVfw/ni37EeYrb84SDBA5oAK/psmPpXtiVcdinvr/tjk1pj57"
      "DObTYH+TUwF/uHsG9sx/W7Edl866cSJqISYiae/gqTm8xJewsqohGawwHLJLVWDSe7yOV4ZkaRTzUBc=";
  BOOST_REQUIRE(decrypt(*staticKey, fixedToken).value().view() == "sample-access-token-0123456789abcdef");
  std::string urlSafe = fixedToken;
  for (char& ch : urlSafe) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  BOOST_REQUIRE(urlSafe != fixedToken);
  {
    auto r = decrypt(*staticKey, urlSafe);
    BOOST_TEST(r.status().code() == StatusCode::kInvalidArgument);
    BOOST_TEST(r.status().message().find("URL-safe") != std::string::npos);
  }

  // "secret" makes a 119-byte token: its base64 always ends in one '='.
  std::string unpadded = token;
  while (unpadded.back() == '=') unpadded.pop_back();
  BOOST_REQUIRE(unpadded != token);
  BOOST_TEST(decrypt(*key, unpadded).status().code() == StatusCode::kInvalidArgument);

  // 113 bytes of zeros: long enough, but E is not a point: the opaque error.
  auto zeros = decrypt(*key, base64Encode(std::vector<std::uint8_t>(113, 0)));
  BOOST_TEST(isOpaqueFailure(zeros.status()));
}

BOOST_AUTO_TEST_CASE(off_curve_ephemeral_point_is_rejected) {
  auto key = PrivateKey::generate();
  auto blob = base64Decode(encrypt(key->publicKey(), "secret").value()).value();
  blob[96] ^= 0x01;  // last byte of Y: the point leaves the curve
  auto result = decrypt(*key, base64Encode(blob));
  BOOST_TEST(isOpaqueFailure(result.status()));
}
