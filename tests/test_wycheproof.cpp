// Wycheproof bulk vectors (tests/vectors/wycheproof, Apache-2.0): every ECDH secp384r1 ecpoint case
// and every AES-GCM case with a 256-bit key.
#define BOOST_TEST_MODULE wycheproof
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Array.h>

#include "bcauth/crypto.h"
#include "crypto/primitives.h"
#include "p384_backend.h"
#include "test_support.h"

using namespace bcauth;
using namespace bcauth::crypto;
using bcauth::test::hex;
using bcauth::test::toHex;

namespace {
Poco::JSON::Object::Ptr load(const std::string& name) {
  return bcauth::test::readJsonObject(bcauth::test::kSourceDir + "/tests/vectors/wycheproof/" + name);
}
}  // namespace

BOOST_AUTO_TEST_CASE(ecdh_secp384r1_ecpoint_all_cases) {
  auto root = load("ecdh_secp384r1_ecpoint_test.json");
  int total = 0, valid = 0, rejected = 0;
  for (const auto& groupVar : *root->getArray("testGroups")) {
    auto group = groupVar.extract<Poco::JSON::Object::Ptr>();
    BOOST_REQUIRE(group->getValue<std::string>("curve") == "secp384r1");
    for (const auto& testVar : *group->getArray("tests")) {
      auto t = testVar.extract<Poco::JSON::Object::Ptr>();
      ++total;
      const int id = t->getValue<int>("tcId");
      const std::string result = t->getValue<std::string>("result");
      auto key = PrivateKey::fromScalar(hex(t->getValue<std::string>("private")));
      BOOST_REQUIRE_MESSAGE(key.isOk(), "tcId " << id << ": private key: " << key.status().toString());
      auto peer = PublicKey::fromPoint(hex(t->getValue<std::string>("public")));
      Result<SecureBytes> shared = peer.isOk() ? detail::ecdh(*key, *peer) : Result<SecureBytes>(peer.status());
      if (result == "valid") {
        BOOST_REQUIRE_MESSAGE(shared.isOk(), "tcId " << id << " valid but refused: " << shared.status().toString());
        BOOST_CHECK_MESSAGE(toHex(*shared) == t->getValue<std::string>("shared"), "tcId " << id << " wrong secret");
        ++valid;
      } else {
        // "invalid" must be refused. The one "acceptable" case is a compressed point, which
        // Apple's format (uncompressed only) refuses as well.
        BOOST_CHECK_MESSAGE(!shared.isOk(), "tcId " << id << " (" << result << ") accepted: "
                                                    << t->getValue<std::string>("comment"));
        ++rejected;
      }
    }
  }
  BOOST_TEST(total == 790);
  BOOST_TEST_MESSAGE("wycheproof ECDH: " << valid << " valid computed, " << rejected << " refused");
}

BOOST_AUTO_TEST_CASE(aes_gcm_256_bit_key_cases) {
  auto root = load("aes_gcm_test.json");
  int checked = 0, with128BitIv = 0;
  for (const auto& groupVar : *root->getArray("testGroups")) {
    auto group = groupVar.extract<Poco::JSON::Object::Ptr>();
    if (group->getValue<int>("keySize") != 256 || group->getValue<int>("tagSize") != 128) continue;
    const int ivSize = group->getValue<int>("ivSize");
    for (const auto& testVar : *group->getArray("tests")) {
      auto t = testVar.extract<Poco::JSON::Object::Ptr>();
      const int id = t->getValue<int>("tcId");
      const auto key = hex(t->getValue<std::string>("key"));
      const auto iv = hex(t->getValue<std::string>("iv"));
      const auto aad = hex(t->getValue<std::string>("aad"));
      const auto msg = hex(t->getValue<std::string>("msg"));
      const auto ct = hex(t->getValue<std::string>("ct"));
      const auto tag = hex(t->getValue<std::string>("tag"));
      // An empty IV is invalid GCM; IVs over 128 bytes are outside what bcauth's primitive
      // (and OpenSSL's GCM) takes, so those must be refused too.
      const bool valid = t->getValue<std::string>("result") == "valid" && !iv.empty() &&
                         iv.size() <= detail::kMaxGcmIvSize;
      auto opened = detail::aes256GcmDecrypt(key, iv, aad, ct, tag);
      if (valid) {
        BOOST_REQUIRE_MESSAGE(opened.isOk(), "tcId " << id << " refused");
        BOOST_CHECK_MESSAGE(toHex(*opened) == toHex(msg), "tcId " << id << " wrong plaintext");
        auto sealed = detail::aes256GcmEncrypt(key, iv, aad, msg);
        BOOST_REQUIRE(sealed.isOk());
        BOOST_CHECK_MESSAGE(toHex(*sealed) == toHex(ct) + toHex(tag), "tcId " << id << " wrong ciphertext");
      } else {
        BOOST_CHECK_MESSAGE(!opened.isOk(), "tcId " << id << " invalid but accepted");
      }
      ++checked;
      if (ivSize == 128) ++with128BitIv;
    }
  }
  BOOST_TEST(with128BitIv == 19);
  BOOST_TEST_MESSAGE("wycheproof AES-GCM: " << checked << " cases with a 256-bit key, " << with128BitIv
                                            << " of them with a 128-bit IV");
}
