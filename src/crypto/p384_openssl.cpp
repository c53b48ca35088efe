// The OpenSSL 3 EVP P-384 backend: the only one of an OpenSSL-only build (BCAUTH_P384=openssl).
// Only EVP and OSSL_PARAM are used; the deprecated EC_KEY API is compiled out.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "crypto/openssl_util.h"
#include "crypto/p384.h"

namespace bcauth::crypto::detail {
namespace {

constexpr const char* kGroup = "secp384r1";

// One EVP_PKEY per state: a public point, or a key pair whose EVP_PKEY_free clears d.
class OpenSslPoint final : public P384Point {
 public:
  OpenSslPoint(const P384Backend& backend, EVP_PKEY* key) : P384Point(backend), pkey(key) {}
  Owned<EVP_PKEY> pkey;
};

class OpenSslScalar final : public P384Scalar {
 public:
  OpenSslScalar(const P384Backend& backend, EVP_PKEY* key) : P384Scalar(backend), pkey(key) {}
  Owned<EVP_PKEY> pkey;
};

Result<PublicPoint> encodedPublicPoint(EVP_PKEY* pkey) {
  PublicPoint point{};
  std::size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(), point.size(),
                                      &length) != 1 ||
      length != kPublicPointSize || point[0] != 0x04) {
    return Status::internal("could not export the P-384 public point");
  }
  return point;
}

// A parameters-only P-384 key, made once: the template new public keys copy their group from.
EVP_PKEY* p384Parameters() {
  static EVP_PKEY* const parameters = [] {
    EVP_PKEY* pkey = nullptr;
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(kGroup), 0),
        OSSL_PARAM_construct_end()};
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEY_PARAMETERS, params) != 1) {
      return static_cast<EVP_PKEY*>(nullptr);
    }
    return pkey;
  }();
  return parameters;
}

class OpenSslP384 final : public P384Backend {
 public:
  std::string_view name() const override { return "openssl"; }
  std::string version() const override { return OpenSSL_version(OPENSSL_VERSION); }

  std::shared_ptr<const P384Point> importPoint(const PublicPoint& point) const override {
    // Setting the encoded point checks the coordinates are in range and satisfy the curve
    // equation. P-384's cofactor is 1, so a point on the curve that is not infinity (it cannot
    // be: 0x04) is valid. Copying the group from a template costs a third of EVP_PKEY_fromdata,
    // which builds the group from its name on every call.
    EVP_PKEY* group = p384Parameters();
    if (group == nullptr) return nullptr;
    auto state = std::make_shared<OpenSslPoint>(*this, EVP_PKEY_new());
    if (!state->pkey || EVP_PKEY_copy_parameters(state->pkey.get(), group) != 1 ||
        EVP_PKEY_set1_encoded_public_key(state->pkey.get(), point.data(), point.size()) != 1) {
      return nullptr;
    }
    return state;
  }

  Result<P384KeyPair> generate() const override {
    EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kGroup);
    if (raw == nullptr) return Status::internal("P-384 key generation failed");
    return pair(raw, Status::internal("generated an invalid P-384 public key"));
  }

  // Decodes a SEC1 ECPrivateKey without the optional public key: OpenSSL's decoder computes d·G
  // itself, which the OSSL_PARAM import does not.
  //   SEQUENCE { INTEGER 1, OCTET STRING d, [0] { OID secp384r1 } }
  Result<P384KeyPair> fromScalar(ScalarBytes d) const override {
    static constexpr std::uint8_t kPrefix[] = {0x30, 0x3E, 0x02, 0x01, 0x01, 0x04, 0x30};
    static constexpr std::uint8_t kSuffix[] = {0xA0, 0x07, 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};
    SecureBytes der;
    der.reserve(sizeof kPrefix + kScalarSize + sizeof kSuffix);
    der.insert(der.end(), std::begin(kPrefix), std::end(kPrefix));
    der.insert(der.end(), d.begin(), d.end());
    der.insert(der.end(), std::begin(kSuffix), std::end(kSuffix));
    const unsigned char* cursor = der.data();
    EVP_PKEY* raw = d2i_PrivateKey(EVP_PKEY_EC, nullptr, &cursor, static_cast<long>(der.size()));
    if (raw == nullptr) return Status::invalidArgument("not a valid P-384 private scalar");
    return pair(raw, Status::invalidArgument("is not a point on P-384"));
  }

  // OSSL_PARAM import of both halves: no d·G, and a fraction of what the DER decoder costs (it
  // searches the providers for a decoder). Setting the point checks it is on the curve.
  Result<P384KeyPair> fromKeypair(ScalarBytes d, const PublicPoint& q) const override {
    Owned<BIGNUM> scalar(BN_secure_new());
    if (!scalar || BN_bin2bn(d.data(), static_cast<int>(d.size()), scalar.get()) == nullptr) {
      return Status::internal("out of memory");
    }
    Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
    if (!builder || OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroup, 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar.get()) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, q.data(), q.size()) != 1) {
      return Status::internal("out of memory");
    }
    Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
      return Status::invalidArgument("not a valid P-384 private key");
    }
    return pair(raw, Status::invalidArgument("not a valid P-384 private key"));
  }

  bool writeScalar(const P384Scalar& d, std::span<std::uint8_t, kScalarSize> out) const override {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(own(d), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return false;
    Owned<BIGNUM> scalar(raw);
    return BN_bn2binpad(raw, out.data(), static_cast<int>(out.size())) >= 0;
  }

  Result<SecureBytes> ecdh(const P384Scalar& d, const P384Point& peer) const override {
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own(d), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return Status::decryptionFailed();
    // The peer was validated on import (coordinates in range, on the curve; cofactor 1), so
    // OpenSSL's second, full check of the same point would only repeat that work.
    if (EVP_PKEY_derive_set_peer_ex(ctx.get(), static_cast<const OpenSslPoint&>(peer).pkey.get(), 0) != 1) {
      return Status::decryptionFailed();
    }
    SecureBytes z(kScalarSize);
    std::size_t length = z.size();
    // OpenSSL returns the x-coordinate padded to the field size: leading zero bytes are kept.
    if (EVP_PKEY_derive(ctx.get(), z.data(), &length) != 1 || length != kScalarSize) {
      return Status::decryptionFailed();
    }
    return z;
  }

 private:
  static EVP_PKEY* own(const P384Scalar& d) { return static_cast<const OpenSslScalar&>(d).pkey.get(); }

  // The key pair's states from one EVP_PKEY holding d and Q; the public state is a separate,
  // public-only import of Q, so a PublicKey never keeps d alive.
  Result<P384KeyPair> pair(EVP_PKEY* raw, Status invalidPoint) const {
    auto scalar = std::make_shared<OpenSslScalar>(*this, raw);
    auto point = encodedPublicPoint(raw);
    if (!point) return point.status();
    auto publicState = importPoint(*point);
    if (!publicState) return invalidPoint;
    return P384KeyPair{std::move(scalar), std::move(publicState), *point};
  }
};

}  // namespace

const P384Backend& opensslP384() {
  static const OpenSslP384 backend;
  return backend;
}

}  // namespace bcauth::crypto::detail
