// Every P-384 vector of the protocol's test vectors (shared/spec/test-vectors.md, copied here inline), step by step (§C, §D, §G), plus the
// Apple-made vectors that must NOT decrypt under the Messages for Business algorithm.
#define BOOST_TEST_MODULE crypto_vectors
#include <boost/test/unit_test.hpp>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "crypto/primitives.h"
#include "p384_backend.h"
#include "test_support.h"

using namespace bcauth;
using namespace bcauth::crypto;
using bcauth::test::hex;
using bcauth::test::toHex;

namespace {

PrivateKey keyFromHex(const std::string& scalarHex) {
  auto key = PrivateKey::fromScalar(hex(scalarHex));
  BOOST_REQUIRE_MESSAGE(key.isOk(), key.status().toString());
  return *key;
}

PublicKey pointFromHex(const std::string& pointHex) {
  auto key = PublicKey::fromPoint(hex(pointHex));
  BOOST_REQUIRE_MESSAGE(key.isOk(), key.status().toString());
  return *key;
}

std::string decryptOk(const PrivateKey& key, const std::string& token) {
  auto plaintext = decrypt(key, token);
  BOOST_REQUIRE_MESSAGE(plaintext.isOk(), plaintext.status().toString());
  return std::string(plaintext->view());
}

// §C — self-generated vector for the exact algorithm, with intermediate values.
namespace c {
const std::string kRecipientScalar =
    "6ee931aa03201a6e9b05ef8342d668aeda3bb52b68c4135bf7a1c399c20c09f54a7fd90b6248d4497282e3519d21c0b7";
const std::string kRecipientBase64 = "bukxqgMgGm6bBe+DQtZorto7tStoxBNb96HDmcIMCfVKf9kLYkjUSXKC41GdIcC3";
const std::string kRecipientSec1 =
    "MIGkAgEBBDBu6TGqAyAabpsF74NC1miu2ju1K2jEE1v3ocOZwgwJ9Up/2QtiSNRJcoLjUZ0hwLegBwYFK4EEACKhZANiAARoK6qchhBVowE4mhnb1xK5W9"
    "ceQCHJOOSOj6x5az109PEh8sUFUSZ4TL5oJ16eArQ8DDjIm9vhYmz/Y3g3o4JvHgQkG0pJPqWKXrhb/KCByH7zFwSIdZanUmjR5S3Oc2M=";
const std::string kRecipientPkcs8Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDBu6TGqAyAabpsF74NC\n"
    "1miu2ju1K2jEE1v3ocOZwgwJ9Up/2QtiSNRJcoLjUZ0hwLehZANiAARoK6qchhBV\n"
    "owE4mhnb1xK5W9ceQCHJOOSOj6x5az109PEh8sUFUSZ4TL5oJ16eArQ8DDjIm9vh\n"
    "Ymz/Y3g3o4JvHgQkG0pJPqWKXrhb/KCByH7zFwSIdZanUmjR5S3Oc2M=\n"
    "-----END PRIVATE KEY-----\n";
const std::string kResponseEncryptionKey =
    "BGgrqpyGEFWjATiaGdvXErlb1x5AIck45I6PrHlrPXT08SHyxQVRJnhMvmgnXp4CtDwMOMib2+FibP9jeDejgm8eBCQbSkk+pYpeuFv8oIHIfvMXBIh1lqd"
    "SaNHlLc5zYw==";
const std::string kEphemeralScalar =
    "660c7533b3a91cdfd8074d2872885e7fee4df8e37469de301b67495082f09e85029ffeb70cc0666e2f7056a50db26de6";
const std::string kEphemeralPoint =
    "0425750dcf1e052c569d61235fa209211de59ed5995109ec4fbfea4a0876ebc17cc8b6f7cb3063b74123b3e6aea10896089e92f9b30a816741cdb0e4"
    "950967bdffb922e7a0772373fc2b985eeda527561fadbeedfbbdd5bfc51eac7c966c83c5e6";
const std::string kZ = "096cb47741b60b0d34ff0e57ae23681e26372140e8739792340d48a3326555dbd85eaf0fb59272b63a6993ea182c33da";
const std::string kKdf = "543aa6b31d710233055ea57904cd993d031ba3f91ea8a1a35ea2bd581f33652f3cb14d3cba5496cb479002bf6e02bef3";
const std::string kPlaintext = "ya29.EXAMPLE-not-a-real-access-token";
const std::string kCiphertext = "29b2e4c9543ba5c06cace7199a782e96ffb4629331a482d823b780fc23d9d30a290a5a93";
const std::string kTag = "d9b52d7f39f791558e3aa432c98c2ddf";
const std::string kToken =
    "BCV1Dc8eBSxWnWEjX6IJIR3lntWZUQnsT7/qSgh268F8yLb3yzBjt0Ejs+auoQiWCJ6S+bMKgWdBzbDklQlnvf+5IuegdyNz/CuYXu2lJ1Yfrb7t+73Vv8UerH"
    "yWbIPF5imy5MlUO6XAbKznGZp4Lpb/tGKTMaSC2CO3gPwj2dMKKQpak9m1LX8595FVjjqkMsmMLd8=";
const std::string kTamperedToken =
    "BCV1Dc8eBSxWnWEjX6IJIR3lntWZUQnsT7/qSgh268F8yLb3yzBjt0Ejs+auoQiWCJ6S+bMKgWdBzbDklQlnvf+5IuegdyNz/CuYXu2lJ1Yfrb7t+73Vv8UerH"
    "yWbIPF5imy5MlUO6XAbKznGZp4Lpb/tGKTMaSC2CO3gPwj2dMKKQpak9m1LX8595FVjjqkMsmMLd4=";
}  // namespace c

// §G — edge cases against one static recipient key.
namespace g {
const std::string kStaticScalar =
    "6cc76e59a35ac9251ee42570270562bc3ebc396f709144963c93a08b9f1bb833d430918b76982b434417c73010b13c94";
const std::string kStaticBase64 = "bMduWaNaySUe5CVwJwVivD68OW9wkUSWPJOgi58buDPUMJGLdpgrQ0QXxzAQsTyU";
const std::string kResponseEncryptionKey =
    "BGjgKtd1N5NoluSM4H4cf3ko4a2kTvivFTrXR/mkFRRt6L+kmSjJbFuEKN1wI4V+ItJGFmjGGrZncbUsK+ZJrcdxxksx0jmFAbm+jycg+4KZH7XvBxWd1ip"
    "RGx7SrAEJNQ==";
struct Vector {
  std::string ephemeralScalar, ephemeralPoint, z, kdf, plaintext, ciphertext, tag, token;
};
const Vector kLeadingZero{
    "498ed16515d5d4fa2cdb14ba238ea631d1c6b0e6371c12abcd54bc9fe03750b526d8099631cb2839b00f38ab9d4591c3",
    "046bdd94c60cacea4ef374d47f01611e6d40d49278275aa6f52bbcdcf7f2efd6ed7a40aa6aa3dc1d446c45b06fc46d03f6ffd8f94b8379e5712f702e"
    "5b5d01d12cd5f2a170fd3981db4d1c4ba82d79dfb260e2062e6b2cd45a601d2c219741402b",
    "00e6037d2a3ccd44fc5f6226729e2832b894cd16695a61b12784eace63f1e80c8357527d5e65e1d55adb92bfcaefaf2a",
    "235f4e145200a16a44d2bd7b1b5c3496aaefcdb803b072652ceacc3646bd0792c64413bcae6563d5acccafd80836a864",
    R"({"access_token":"x","token_type":"Bearer"})",
    "6527a3ff8f10b58502407ab6ec125111e0d9fd6ef64f36072cf196f95f65d340a2cced6575d32a6bb1d3",
    "237fbe70b55c6a65166a7479d072af9d",
    "BGvdlMYMrOpO83TUfwFhHm1A1JJ4J1qm9Su83Pfy79btekCqaqPcHURsRbBvxG0D9v/Y+UuDeeVxL3AuW10B0SzV8qFw/TmB200cS6gted+yYOIGLmss1Fpg"
    "HSwhl0FAK2Uno/+PELWFAkB6tuwSURHg2f1u9k82ByzxlvlfZdNAosztZXXTKmux0yN/vnC1XGplFmp0edByr50="};
const Vector kOrdinary{
    "721cdaf44482b212036b002aa4c89acae47c20a8ab0d0aee0bbb5eba3ba3f98464983a26da6043ab879555065a3d502b",
    "042edc372a5cd36b5de8d0811c1e5a7cf377cad978dbceb4e34ec76f42036342ed0a094410d0fb245e7fcf05ac891bf584e97a9ece1c55fc3f9e2dfb"
    "11e62b6fce120c1039a002bfa6c98fa57b6255c7629efaffb63935a63e7b0ce6d3607f9353",
    "08c85af57740011c7ac2f1f1f3ff6b6128014adca42a0de34ced2ba3a961737b432b7bf895a0d9c5a2969d21e5907fe7",
    "56bbade5258da1b7e1d03f6eafa98ef309cd5aac3dcac2708d09065f464a9c067dc075d3a730c9f4da65cc4954951db1",
    "sample-access-token-0123456789abcdef",
    "017fb87b06f6cc7f5bb11d97ceba71226a21262269efe0a939bcc497b0b2aa2119ac301c",
    "b24b5560d27bbc8e5786646914f35017",
    "BC7cNypc02td6NCBHB5afPN3ytl42860407Hb0IDY0LtCglEEND7JF5/zwWsiRv1hOl6ns4cVfw/ni37EeYrb84SDBA5oAK/psmPpXtiVcdinvr/tjk1pj57"
    "DObTYH+TUwF/uHsG9sx/W7Edl866cSJqISYiae/gqTm8xJewsqohGawwHLJLVWDSe7yOV4ZkaRTzUBc="};
const Vector kEmpty{
    kOrdinary.ephemeralScalar, kOrdinary.ephemeralPoint, kOrdinary.z, kOrdinary.kdf, "", "",
    "6e0efaf9056dddedc662989dcf4cd4eb",
    "BC7cNypc02td6NCBHB5afPN3ytl42860407Hb0IDY0LtCglEEND7JF5/zwWsiRv1hOl6ns4cVfw/ni37EeYrb84SDBA5oAK/psmPpXtiVcdinvr/tjk1pj57"
    "DObTYH+TU24O+vkFbd3txmKYnc9M1Os="};
}  // namespace g

void checkEveryStep(const PrivateKey& recipient, const g::Vector& v) {
  const PrivateKey ephemeral = keyFromHex(v.ephemeralScalar);
  BOOST_TEST(toHex(ephemeral.publicKey().point()) == v.ephemeralPoint);

  const PublicKey ephemeralPublic = pointFromHex(v.ephemeralPoint);
  auto z = detail::ecdh(recipient, ephemeralPublic);
  BOOST_REQUIRE(z.isOk());
  BOOST_TEST(toHex(*z) == v.z);
  // ECDH is symmetric: the device's side computes the same Z.
  auto zDevice = detail::ecdh(ephemeral, recipient.publicKey());
  BOOST_REQUIRE(zDevice.isOk());
  BOOST_TEST(toHex(*zDevice) == v.z);

  auto kdf = detail::x963KdfSha256(*z, hex(v.ephemeralPoint), 48);
  BOOST_REQUIRE(kdf.isOk());
  BOOST_TEST(toHex(*kdf) == v.kdf);

  auto blob = detail::encryptWithEphemeral(recipient.publicKey(), ephemeral, v.plaintext);
  BOOST_REQUIRE(blob.isOk());
  BOOST_TEST(toHex(*blob) == v.ephemeralPoint + v.ciphertext + v.tag);
  BOOST_TEST(base64Encode(*blob) == v.token);

  BOOST_TEST(decryptOk(recipient, v.token) == v.plaintext);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(section_c)

BOOST_AUTO_TEST_CASE(recipient_key_in_every_form) {
  const PrivateKey fromHex = keyFromHex(c::kRecipientScalar);
  BOOST_TEST(fromHex.publicKey().toBase64() == c::kResponseEncryptionKey);
  BOOST_TEST(std::string(fromHex.toBase64Scalar().view()) == c::kRecipientBase64);

  auto fromBase64 = PrivateKey::fromText(c::kRecipientBase64);
  BOOST_REQUIRE(fromBase64.isOk());
  BOOST_TEST(fromBase64->publicKey().toBase64() == c::kResponseEncryptionKey);

  auto fromPkcs8 = PrivateKey::fromText(c::kRecipientPkcs8Pem);
  BOOST_REQUIRE_MESSAGE(fromPkcs8.isOk(), fromPkcs8.status().toString());
  BOOST_TEST(fromPkcs8->publicKey().toBase64() == c::kResponseEncryptionKey);

  std::string sec1Pem = "-----BEGIN EC PRIVATE KEY-----\n";
  for (std::size_t i = 0; i < c::kRecipientSec1.size(); i += 64) sec1Pem += c::kRecipientSec1.substr(i, 64) + "\n";
  sec1Pem += "-----END EC PRIVATE KEY-----\n";
  auto fromSec1 = PrivateKey::fromText(sec1Pem);
  BOOST_REQUIRE_MESSAGE(fromSec1.isOk(), fromSec1.status().toString());
  BOOST_TEST(fromSec1->publicKey().toBase64() == c::kResponseEncryptionKey);

  auto publicKey = PublicKey::fromBase64(c::kResponseEncryptionKey);
  BOOST_REQUIRE(publicKey.isOk());
  BOOST_TEST(publicKey->toBase64() == c::kResponseEncryptionKey);
}

BOOST_AUTO_TEST_CASE(every_intermediate_value) {
  checkEveryStep(keyFromHex(c::kRecipientScalar),
                 g::Vector{c::kEphemeralScalar, c::kEphemeralPoint, c::kZ, c::kKdf, c::kPlaintext, c::kCiphertext,
                           c::kTag, c::kToken});
}

BOOST_AUTO_TEST_CASE(key_and_iv_split) {
  const auto kdf = hex(c::kKdf);
  const auto key = std::span(kdf).first(32);
  const auto iv = std::span(kdf).subspan(32, 16);
  BOOST_TEST(toHex(key) == "543aa6b31d710233055ea57904cd993d031ba3f91ea8a1a35ea2bd581f33652f");
  BOOST_TEST(toHex(iv) == "3cb14d3cba5496cb479002bf6e02bef3");
  auto plaintext = detail::aes256GcmDecrypt(key, iv, {}, hex(c::kCiphertext), hex(c::kTag));
  BOOST_REQUIRE(plaintext.isOk());
  BOOST_TEST(std::string(plaintext->begin(), plaintext->end()) == c::kPlaintext);
}

BOOST_AUTO_TEST_CASE(tampered_tag_is_the_opaque_error) {
  auto result = decrypt(keyFromHex(c::kRecipientScalar), c::kTamperedToken);
  BOOST_REQUIRE(!result.isOk());
  BOOST_TEST(static_cast<int>(result.status().code()) == static_cast<int>(StatusCode::kDecryptionFailed));
}

// The mistakes spec §C lists all fail with a tag error, never with garbage output.
BOOST_AUTO_TEST_CASE(each_documented_mistake_fails_the_tag) {
  const auto z = hex(c::kZ);
  const auto e = hex(c::kEphemeralPoint);
  const auto ct = hex(c::kCiphertext);
  const auto tag = hex(c::kTag);
  const auto right = hex(c::kKdf);

  // Zero IV instead of the KDF's.
  const std::vector<std::uint8_t> zeroIv(16, 0);
  BOOST_TEST(!detail::aes256GcmDecrypt(std::span(right).first(32), zeroIv, {}, ct, tag).isOk());
  // IV cut to 12 bytes.
  BOOST_TEST(!detail::aes256GcmDecrypt(std::span(right).first(32), std::span(right).subspan(32, 12), {}, ct, tag)
                  .isOk());
  // No sharedInfo in the KDF.
  auto noInfo = detail::x963KdfSha256(z, {}, 48);
  BOOST_REQUIRE(noInfo.isOk());
  BOOST_TEST(!detail::aes256GcmDecrypt(std::span(*noInfo).first(32), std::span(*noInfo).subspan(32, 16), {}, ct, tag)
                  .isOk());
  // The recipient's public key as AAD (the wrong reading of SecKey.h).
  const auto recipientPoint = keyFromHex(c::kRecipientScalar).publicKey().point();
  BOOST_TEST(!detail::aes256GcmDecrypt(std::span(right).first(32), std::span(right).subspan(32, 16), recipientPoint, ct,
                                       tag)
                  .isOk());
  (void)e;
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(section_d)

BOOST_AUTO_TEST_CASE(x963_kdf_nist_cavs_count_0) {
  const std::string expected =
      "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e52a13d9c7c6fc878c50c5ea0bc7b00e0da2447cfd874f6cf92f30d"
      "0097111485500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269142d43525a78e5bc79a17f59676a5706dc54d54d4d1f"
      "0bd7e386128ec26afc21";
  const auto z = hex("22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d");
  const auto info = hex("75eef81aa3041e33b80971203d2c0c52");
  auto full = detail::x963KdfSha256(z, info, 128);
  BOOST_REQUIRE(full.isOk());
  BOOST_TEST(toHex(*full) == expected);
  // A shorter request is a prefix of the same stream, not a re-hash.
  auto prefix = detail::x963KdfSha256(z, info, 48);
  BOOST_REQUIRE(prefix.isOk());
  BOOST_TEST(toHex(*prefix) == expected.substr(0, 96));
}

BOOST_AUTO_TEST_CASE(aes_256_gcm_with_16_byte_nonce) {
  const auto key = hex("0000000000000000000000000000000000000000000000000000000000000000");
  const auto nonce = hex("f3e1ba810d2c8900b11312b7c725565f");
  auto plaintext = detail::aes256GcmDecrypt(key, nonce, {}, hex("02d2ffed93b856f148b9"),
                                            hex("ec3b71e17c11dbe31484da9450edcf6c"));
  BOOST_REQUIRE(plaintext.isOk());
  BOOST_TEST(std::string(plaintext->begin(), plaintext->end()) == "helloworld");
  auto sealed = detail::aes256GcmEncrypt(key, nonce, {}, hex(toHex(std::string("helloworld"))));
  BOOST_REQUIRE(sealed.isOk());
  BOOST_TEST(toHex(*sealed) == "02d2ffed93b856f148b9ec3b71e17c11dbe31484da9450edcf6c");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(section_g)

BOOST_AUTO_TEST_CASE(static_key) {
  const PrivateKey key = keyFromHex(g::kStaticScalar);
  BOOST_TEST(key.publicKey().toBase64() == g::kResponseEncryptionKey);
  BOOST_TEST(std::string(key.toBase64Scalar().view()) == g::kStaticBase64);
}

BOOST_AUTO_TEST_CASE(g1_shared_secret_with_leading_zero_byte) {
  checkEveryStep(keyFromHex(g::kStaticScalar), g::kLeadingZero);
}

BOOST_AUTO_TEST_CASE(g2_ordinary_token) { checkEveryStep(keyFromHex(g::kStaticScalar), g::kOrdinary); }

BOOST_AUTO_TEST_CASE(g3_empty_plaintext) {
  checkEveryStep(keyFromHex(g::kStaticScalar), g::kEmpty);
  BOOST_TEST(hex(toHex(base64Decode(g::kEmpty.token).value())).size() == 113u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(section_a_negative)

// Apple-made P384-SHA384-VIV: same layout but a SHA-384 KDF. A SHA-256 decryptor must refuse
// it with the opaque error, never return a plaintext.
BOOST_AUTO_TEST_CASE(p384_sha384_variable_iv_does_not_decrypt) {
  const std::string keyDer =
      "MIGkAgEBBDC5Lt6wBRiiEC2O71i3lv8Jtgg+YP4Y3gCj7B7nOtdQO/5PQPRjpFPJ3ft0yjbzHEagBwYFK4EEACKhZANiAAToVnztZKN1KVhot+MoN3Ci"
      "PDZ0PoCDXrdP1uHQ61nz4XVrNdxgxyNUJC6cd0gsbujme66wxrq28zqWYBKvrFtIlS4W+NkuyCi5nABkHno7alAWv/fD7aQ8A3ZmWZohsaU=";
  const std::string token =
      "BM45TREbxELfwpTVBmltz+sB3vhkM85m/yiAsE8JSNmXVOeeUGzmxP5Z2jegApPxtOS8ilfhTN/m2XkOoJWGw3MKuekq5V5PcdvAi5xKcoOEynkS7uAK"
      "S3nhBH/+g+9/iNoTcRSrEpbgm8dOCGe+VRQ7hK8vI0ZRw74kernlNDw=";
  std::string pem = "-----BEGIN EC PRIVATE KEY-----\n";
  for (std::size_t i = 0; i < keyDer.size(); i += 64) pem += keyDer.substr(i, 64) + "\n";
  pem += "-----END EC PRIVATE KEY-----\n";
  auto key = PrivateKey::fromText(pem);
  BOOST_REQUIRE_MESSAGE(key.isOk(), key.status().toString());
  auto result = decrypt(*key, token);
  BOOST_REQUIRE(!result.isOk());
  BOOST_TEST(static_cast<int>(result.status().code()) == static_cast<int>(StatusCode::kDecryptionFailed));
}

BOOST_AUTO_TEST_SUITE_END()

// PKCE S256 (RFC 7636 §4.2), with the RFC's own example, Appendix B.
BOOST_AUTO_TEST_CASE(pkce_s256_rfc7636_appendix_b) {
  BOOST_TEST(pkceChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}
