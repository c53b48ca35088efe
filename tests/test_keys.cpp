#define BOOST_TEST_MODULE keys
#include <boost/test/unit_test.hpp>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "p384_backend.h"
#include "test_support.h"

using namespace bcauth;
using namespace bcauth::crypto;

BOOST_AUTO_TEST_CASE(generated_key_exports_apple_format) {
  for (int i = 0; i < 20; ++i) {
    auto key = PrivateKey::generate();
    BOOST_REQUIRE(key.isOk());
    const std::string publicKey = key->publicKey().toBase64();
    BOOST_TEST(publicKey.size() == 132u);
    BOOST_TEST(publicKey[0] == 'B');
    BOOST_TEST(publicKey.substr(130) == "==");
    const Secret scalar = key->toBase64Scalar();
    BOOST_TEST(scalar.size() == 64u);
    auto again = PrivateKey::fromBase64Scalar(scalar.view());
    BOOST_REQUIRE(again.isOk());
    BOOST_TEST(again->publicKey().toBase64() == publicKey);
  }
}

BOOST_AUTO_TEST_CASE(short_scalars_are_left_padded) {
  // Apple's sample stores int_to_bytes(d): a scalar with leading zero bytes gets shorter.
  std::vector<std::uint8_t> scalar(48, 0);
  scalar[47] = 7;
  auto padded = PrivateKey::fromScalar(scalar);
  auto shortForm = PrivateKey::fromScalar(std::vector<std::uint8_t>{7});
  BOOST_REQUIRE(padded.isOk());
  BOOST_REQUIRE(shortForm.isOk());
  BOOST_TEST(padded->publicKey().toBase64() == shortForm->publicKey().toBase64());
  auto fromShortBase64 = PrivateKey::fromBase64Scalar("Bw==");
  BOOST_REQUIRE(fromShortBase64.isOk());
  BOOST_TEST(fromShortBase64->publicKey().toBase64() == padded->publicKey().toBase64());
}

BOOST_AUTO_TEST_CASE(out_of_range_scalars_are_refused) {
  BOOST_TEST(!PrivateKey::fromScalar(std::vector<std::uint8_t>(48, 0)).isOk());
  BOOST_TEST(!PrivateKey::fromScalar(std::vector<std::uint8_t>(48, 0xFF)).isOk());
  BOOST_TEST(!PrivateKey::fromScalar(std::vector<std::uint8_t>(49, 0x01)).isOk());
  const auto order = bcauth::test::hex(
      "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973");
  BOOST_TEST(!PrivateKey::fromScalar(order).isOk());
  auto belowOrder = order;
  belowOrder.back() = static_cast<std::uint8_t>(belowOrder.back() - 1);
  BOOST_TEST(PrivateKey::fromScalar(belowOrder).isOk());
}

BOOST_AUTO_TEST_CASE(bad_private_key_text_is_refused) {
  BOOST_TEST(!PrivateKey::fromText("not base64!").isOk());
  BOOST_TEST(!PrivateKey::fromText("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n").isOk());
  // A P-256 key in PEM is not a request key.
  const std::string p256 =
      "-----BEGIN PRIVATE KEY-----\n"
      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4eSgzxefv1TF8LRy3M0DI5MkQ6+HCqVBxLtJOEovV3ChRANCAAQLKgQxt5HmRvEWTZ9j"
      "MvZTNT2ANsI74wv2U6kdR1l7KxAqOckjpgbrWGfmKvkOkIMy001gRSafMV/X6mOkxjXo\n"
      "-----END PRIVATE KEY-----\n";
  auto r = PrivateKey::fromText(p256);
  BOOST_REQUIRE(!r.isOk());
  BOOST_TEST(r.status().message().find("P-384") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(public_key_formats_apple_rejects_are_refused_with_reasons) {
  auto key = PrivateKey::generate().value();
  const std::string good = key.publicKey().toBase64();
  BOOST_TEST(PublicKey::fromBase64(good).isOk());

  auto spki = PublicKey::fromBase64("MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE" + good.substr(4));
  BOOST_TEST(spki.status().message().find("SPKI") != std::string::npos);

  auto pem = PublicKey::fromBase64("-----BEGIN PUBLIC KEY-----");
  BOOST_TEST(pem.status().message().find("PEM") != std::string::npos);

  // A random key's base64 holds a '+' or '/' only by chance: the URL-safe check uses a fixed key
  // that holds both (shared/spec/test-vectors.md §G, the static recipient's responseEncryptionKey).
  const std::string fixedKey =
      "BGjgKtd1N5NoluSM4H4cf3ko4a2kTvivFTrXR/mkFRRt6L+kmSjJbFuEKN1wI4V+ItJGFmjGGrZncbUsK+ZJrcdxxksx0jmFAbm+jycg+4KZH7XvBxWd1ip"
      "RGx7SrAEJNQ==";
  BOOST_REQUIRE(PublicKey::fromBase64(fixedKey).isOk());
  std::string urlSafe = fixedKey;
  for (char& ch : urlSafe) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  BOOST_REQUIRE(urlSafe != fixedKey);
  BOOST_TEST(!PublicKey::fromBase64(urlSafe).isOk());

  auto point = key.publicKey().point();
  std::vector<std::uint8_t> compressed(point.begin(), point.begin() + 49);
  compressed[0] = static_cast<std::uint8_t>(0x02 | (point[96] & 1));
  auto c = PublicKey::fromPoint(compressed);
  BOOST_TEST(c.status().message().find("compressed") != std::string::npos);

  auto offCurve = point;
  offCurve[96] ^= 0x01;
  auto off = PublicKey::fromPoint(offCurve);
  BOOST_TEST(off.status().message().find("not a point") != std::string::npos);

  auto wrongPrefix = point;
  wrongPrefix[0] = 0x05;
  BOOST_TEST(!PublicKey::fromPoint(wrongPrefix).isOk());
}

BOOST_AUTO_TEST_CASE(keypair_export_round_trips_and_decrypts) {
  const auto key = crypto::PrivateKey::generate().value();
  const auto exported = key.exportKeypair();
  BOOST_TEST(exported.view().size() == 196u);  // Base64 of 48 + 97 bytes
  const auto imported = crypto::PrivateKey::importKeypair(exported.view()).value();
  BOOST_TEST((imported.publicKey().point() == key.publicKey().point()));
  BOOST_TEST(std::string(imported.toBase64Scalar().view()) == std::string(key.toBase64Scalar().view()));
  const auto token = crypto::encrypt(key.publicKey(), "via the keypair form").value();
  BOOST_TEST(std::string(crypto::decrypt(imported, token).value().view()) == "via the keypair form");
  // A bare scalar (requests sealed before the keypair form) still imports.
  const auto bare = crypto::PrivateKey::importKeypair(key.toBase64Scalar().view()).value();
  BOOST_TEST((bare.publicKey().point() == key.publicKey().point()));
}

BOOST_AUTO_TEST_CASE(keypair_import_refuses_bad_input) {
  const auto key = crypto::PrivateKey::generate().value();
  auto bytes = crypto::base64Decode(key.exportKeypair().view()).value();
  auto offCurve = bytes;
  offCurve.back() ^= 0x01;  // Q no longer on the curve
  BOOST_TEST(!crypto::PrivateKey::importKeypair(crypto::base64Encode(offCurve)).isOk());
  auto zero = bytes;
  std::fill(zero.begin(), zero.begin() + 48, 0);
  BOOST_TEST(!crypto::PrivateKey::importKeypair(crypto::base64Encode(zero)).isOk());
  auto compressed = bytes;
  compressed[48] = 0x02;
  BOOST_TEST(!crypto::PrivateKey::importKeypair(crypto::base64Encode(compressed)).isOk());
  BOOST_TEST(!crypto::PrivateKey::importKeypair("not base64!").isOk());
}

// Full validation of a peer point, on every backend (tests/p384_backend.h): coordinates below p,
// on the curve, never the point at infinity, uncompressed only.
BOOST_AUTO_TEST_CASE(coordinates_at_or_above_p_and_infinity_are_refused) {
  const std::string p = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff";
  const std::string zero(96, '0');
  // (0, √b) is on P-384: x = 0 is a valid coordinate.
  const std::string y0 =
      "c306610fb0ae5a159cf45c06069f22a6c5eb3641c602d42dea2c4b4f75550793406d80d2b91ad54f9048bd487af1ade1";
  BOOST_TEST(PublicKey::fromPoint(bcauth::test::hex("04" + zero + y0)).isOk());
  // x = p is the same x modulo p: an implementation that reduced it would accept this point.
  auto xIsP = PublicKey::fromPoint(bcauth::test::hex("04" + p + y0));
  BOOST_TEST(!xIsP.isOk());
  BOOST_TEST(xIsP.status().message().find("not a point") != std::string::npos);
  BOOST_TEST(!PublicKey::fromPoint(bcauth::test::hex("04" + zero + p)).isOk());
  BOOST_TEST(!PublicKey::fromPoint(bcauth::test::hex("04" + std::string(192, 'f'))).isOk());
  // The point at infinity: its one-byte SEC1 encoding, and (0, 0) as a stand-in for it.
  BOOST_TEST(!PublicKey::fromPoint(std::vector<std::uint8_t>{0x00}).isOk());
  BOOST_TEST(!PublicKey::fromPoint(bcauth::test::hex("04" + zero + zero)).isOk());
  BOOST_TEST(!PublicKey::fromPoint(bcauth::test::hex("00" + zero + zero)).isOk());
  // The same refusals as the ephemeral point of a token: the opaque error.
  auto key = PrivateKey::generate().value();
  auto blob = bcauth::test::hex("04" + p + y0);
  blob.resize(blob.size() + 16, 0);
  BOOST_TEST(decrypt(key, base64Encode(blob)).status().code() == StatusCode::kDecryptionFailed);
}
