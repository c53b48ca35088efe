// P-384 key handling. Only OpenSSL 3 EVP and OSSL_PARAM are used; the deprecated EC_KEY API
// is compiled out (OPENSSL_NO_DEPRECATED).
#include <algorithm>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "crypto/openssl_util.h"

namespace bcauth::crypto {
namespace {

using detail::Owned;

constexpr const char* kGroup = "secp384r1";

// The order n of P-384: a private scalar must satisfy 0 < d < n.
constexpr std::uint8_t kOrder[kScalarSize] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF,
    0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73};

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

bool isP384(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "EC") != 1) return false;
  char group[64] = {0};
  std::size_t length = 0;
  return EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) == 1 &&
         std::string_view(group, length) == kGroup;
}

// A refusal that tells an integrator which of the common wrong formats it was handed (spec §9.1).
Status explainPublicKeyText(std::string_view text) {
  if (text.starts_with("-----BEGIN")) {
    return Status::invalidArgument("is PEM; Apple wants Base64 of the raw 97-byte point 0x04||X||Y");
  }
  if (text.starts_with("MHYw") || text.starts_with("MFkw") || text.starts_with("MIIB")) {
    return Status::invalidArgument(
        "looks like an SPKI/DER public key; Apple wants Base64 of the raw 97-byte point 0x04||X||Y");
  }
  return Status::invalidArgument("must be " + std::to_string(kPublicKeyBase64Size) +
                                 " characters of standard Base64 (a 97-byte P-384 point), got " +
                                 std::to_string(text.size()));
}

}  // namespace

// --- PublicKey ---------------------------------------------------------------

PublicKey::PublicKey(PublicPoint point, std::shared_ptr<EVP_PKEY> pkey)
    : point_(point), pkey_(std::move(pkey)) {}

Result<PublicKey> PublicKey::fromBase64(std::string_view text) {
  if (text.size() != kPublicKeyBase64Size) return explainPublicKeyText(text);
  auto bytes = base64Decode(text);
  if (!bytes) return bytes.status();
  return fromPoint(*bytes);
}

Result<PublicKey> PublicKey::fromPoint(std::span<const std::uint8_t> point) {
  if (point.size() == 49 && (point[0] == 0x02 || point[0] == 0x03)) {
    return Status::invalidArgument("is a compressed point; Apple's device needs the uncompressed 0x04||X||Y form");
  }
  if (point.size() != kPublicPointSize) {
    return Status::invalidArgument("a P-384 point is 97 bytes (0x04||X||Y), got " + std::to_string(point.size()));
  }
  if (point[0] != 0x04) return Status::invalidArgument("an uncompressed point starts with 0x04");

  // Setting the encoded point checks the coordinates are in range and satisfy the curve
  // equation. P-384's cofactor is 1, so a point on the curve that is not infinity (it cannot
  // be: 0x04) is valid. Copying the group from a template costs a third of EVP_PKEY_fromdata,
  // which builds the group from its name on every call.
  EVP_PKEY* group = p384Parameters();
  if (group == nullptr) return Status::internal("OpenSSL has no P-384");
  EVP_PKEY* raw = EVP_PKEY_new();
  if (raw == nullptr) return Status::internal("out of memory");
  if (EVP_PKEY_copy_parameters(raw, group) != 1) {
    EVP_PKEY_free(raw);
    return Status::internal("OpenSSL EC key import unavailable");
  }
  if (EVP_PKEY_set1_encoded_public_key(raw, point.data(), point.size()) != 1) {
    EVP_PKEY_free(raw);
    return Status::invalidArgument("is not a point on P-384");
  }
  auto pkey = detail::sharePkey(raw);
  PublicPoint copy{};
  std::copy(point.begin(), point.end(), copy.begin());
  return PublicKey(copy, std::move(pkey));
}

std::string PublicKey::toBase64() const { return base64Encode(point_); }

// --- PrivateKey --------------------------------------------------------------

PrivateKey::PrivateKey(std::shared_ptr<EVP_PKEY> pkey, PublicKey publicKey)
    : pkey_(std::move(pkey)), publicKey_(std::move(publicKey)) {}

Result<PrivateKey> PrivateKey::generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kGroup);
  if (raw == nullptr) return Status::internal("P-384 key generation failed");
  auto pkey = detail::sharePkey(raw);
  auto point = encodedPublicPoint(raw);
  if (!point) return point.status();
  auto publicKey = PublicKey::fromPoint(*point);
  if (!publicKey) return Status::internal("generated an invalid P-384 public key");
  return PrivateKey(std::move(pkey), std::move(*publicKey));
}

namespace {

// The scalar as 48 big-endian bytes, or why it is not a P-384 private key. Apple's sample
// stores it without fixed-length padding; DER integers may carry a leading zero. Both are the
// same number: strip the zeros, then left-pad to 48 bytes.
Result<SecureBytes> paddedScalar(std::span<const std::uint8_t> scalar) {
  const auto first = std::find_if(scalar.begin(), scalar.end(), [](std::uint8_t b) { return b != 0; });
  const auto significant = static_cast<std::size_t>(scalar.end() - first);
  if (significant == 0) return Status::invalidArgument("a private scalar of zero is not a key");
  if (significant > kScalarSize) {
    return Status::invalidArgument("a P-384 private scalar has at most 48 bytes, got " + std::to_string(significant));
  }
  SecureBytes padded(kScalarSize, 0);
  std::copy(first, scalar.end(), padded.begin() + static_cast<std::ptrdiff_t>(kScalarSize - significant));
  if (std::lexicographical_compare(padded.begin(), padded.end(), std::begin(kOrder), std::end(kOrder)) == false) {
    return Status::invalidArgument("the private scalar is not below the order of P-384");
  }
  return padded;
}

// Decodes a SEC1 ECPrivateKey without the optional public key: OpenSSL's decoder computes d·G
// itself, which the OSSL_PARAM import does not.
//   SEQUENCE { INTEGER 1, OCTET STRING d, [0] { OID secp384r1 } }
Result<std::pair<std::shared_ptr<EVP_PKEY>, PublicPoint>> decodeSec1(const SecureBytes& scalar) {
  static constexpr std::uint8_t kPrefix[] = {0x30, 0x3E, 0x02, 0x01, 0x01, 0x04, 0x30};
  static constexpr std::uint8_t kSuffix[] = {0xA0, 0x07, 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};
  SecureBytes der;
  der.reserve(sizeof kPrefix + kScalarSize + sizeof kSuffix);
  der.insert(der.end(), std::begin(kPrefix), std::end(kPrefix));
  der.insert(der.end(), scalar.begin(), scalar.end());
  der.insert(der.end(), std::begin(kSuffix), std::end(kSuffix));
  const unsigned char* cursor = der.data();
  EVP_PKEY* raw = d2i_PrivateKey(EVP_PKEY_EC, nullptr, &cursor, static_cast<long>(der.size()));
  if (raw == nullptr) return Status::invalidArgument("not a valid P-384 private scalar");
  auto pkey = detail::sharePkey(raw);
  auto encoded = encodedPublicPoint(raw);
  if (!encoded) return encoded.status();
  return std::pair{std::move(pkey), *encoded};
}

// Writes the private scalar as 48 big-endian bytes at the front of out; false when OpenSSL
// cannot give it.
bool writeScalar(EVP_PKEY* pkey, SecureBytes& out) {
  BIGNUM* d = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) return false;
  Owned<BIGNUM> scalar(d);
  return BN_bn2binpad(d, out.data(), static_cast<int>(kScalarSize)) >= 0;
}

// Base64 of secret bytes, without leaving the text behind in freed memory.
Secret base64Secret(const SecureBytes& bytes) {
  std::string text = base64Encode(bytes);
  Secret out(text);
  cleanse(text.data(), text.size());
  return out;
}

}  // namespace

Result<PrivateKey> PrivateKey::fromScalar(std::span<const std::uint8_t> scalar) {
  auto padded = paddedScalar(scalar);
  if (!padded) return padded.status();
  auto decoded = decodeSec1(*padded);
  if (!decoded) return decoded.status();
  auto publicKey = PublicKey::fromPoint(decoded->second);
  if (!publicKey) return publicKey.status();
  return PrivateKey(std::move(decoded->first), std::move(*publicKey));
}

Secret PrivateKey::exportKeypair() const {
  SecureBytes bytes(kScalarSize + kPublicPointSize);
  if (!writeScalar(pkey_.get(), bytes)) return Secret();
  std::copy(publicKey_.point().begin(), publicKey_.point().end(), bytes.begin() + static_cast<std::ptrdiff_t>(kScalarSize));
  return base64Secret(bytes);
}

Result<PrivateKey> PrivateKey::importKeypair(std::string_view text) {
  auto bytes = base64DecodeSecret(text);
  if (!bytes) return bytes.status();
  if (bytes->size() != kScalarSize + kPublicPointSize) return fromScalar(*bytes);  // a bare scalar
  auto padded = paddedScalar(std::span(bytes->data(), kScalarSize));
  if (!padded) return padded.status();
  PublicPoint point{};
  std::copy(bytes->begin() + static_cast<std::ptrdiff_t>(kScalarSize), bytes->end(), point.begin());
  // OSSL_PARAM import of both halves: no d·G, and a fraction of what the DER decoder costs
  // (it searches the providers for a decoder). Setting the point checks it is on the curve.
  Owned<BIGNUM> d(BN_secure_new());
  if (!d || BN_bin2bn(padded->data(), static_cast<int>(padded->size()), d.get()) == nullptr) {
    return Status::internal("out of memory");
  }
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroup, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return Status::internal("out of memory");
  }
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return Status::invalidArgument("not a valid P-384 private key");
  }
  auto pkey = detail::sharePkey(raw);
  auto publicKey = PublicKey::fromPoint(point);
  if (!publicKey) return publicKey.status();
  return PrivateKey(std::move(pkey), std::move(*publicKey));
}

Result<PrivateKey> PrivateKey::fromBase64Scalar(std::string_view text) {
  auto bytes = base64DecodeSecret(text);
  if (!bytes) return bytes.status();
  return fromScalar(*bytes);
}

Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::internal("out of memory");
  // A password callback that always refuses: an encrypted PEM is an error, never a prompt.
  auto noPassword = [](char*, int, int, void*) -> int { return 0; };
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr);
  if (raw == nullptr) return Status::invalidArgument("not a readable unencrypted PEM private key");
  Owned<EVP_PKEY> pkey(raw);
  if (!isP384(raw)) return Status::invalidArgument("the PEM key is not a P-384 (secp384r1) EC key");
  BIGNUM* d = nullptr;
  if (EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) {
    return Status::invalidArgument("the PEM key holds no private scalar");
  }
  Owned<BIGNUM> scalar(d);
  SecureBytes bytes(kScalarSize);
  if (BN_bn2binpad(d, bytes.data(), static_cast<int>(bytes.size())) < 0) {
    return Status::invalidArgument("the PEM key's scalar is too large for P-384");
  }
  return fromScalar(bytes);
}

Result<PrivateKey> PrivateKey::fromText(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == '\n' || text.front() == '\r' || text.front() == ' ')) text.remove_prefix(1);
  if (text.starts_with("-----BEGIN")) return fromPem(text);
  return fromBase64Scalar(text);
}

Secret PrivateKey::toBase64Scalar() const {
  SecureBytes bytes(kScalarSize);
  if (!writeScalar(pkey_.get(), bytes)) return Secret();
  return base64Secret(bytes);
}

}  // namespace bcauth::crypto
