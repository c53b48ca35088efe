// P-384 key handling: the formats (Base64, the keypair export, PEM through OpenSSL) and their
// checks. The arithmetic — generation, d·G, point validation — is the configured backend's
// (crypto/p384.h).
#include <algorithm>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "crypto/openssl_util.h"
#include "crypto/p384.h"

namespace bcauth::crypto {
namespace {

using detail::Owned;

// The order n of P-384: a private scalar must satisfy 0 < d < n.
constexpr std::uint8_t kOrder[kScalarSize] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF,
    0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73};

bool isP384(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "EC") != 1) return false;
  char group[64] = {0};
  std::size_t length = 0;
  return EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) == 1 &&
         std::string_view(group, length) == "secp384r1";
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

PublicKey::PublicKey(PublicPoint point, std::shared_ptr<const detail::P384Point> state)
    : point_(point), state_(std::move(state)) {}

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
  PublicPoint copy{};
  std::copy(point.begin(), point.end(), copy.begin());
  auto state = detail::p384().importPoint(copy);
  if (!state) return Status::invalidArgument("is not a point on P-384");
  return PublicKey(copy, std::move(state));
}

std::string PublicKey::toBase64() const { return base64Encode(point_); }

// --- PrivateKey --------------------------------------------------------------

PrivateKey::PrivateKey(std::shared_ptr<const detail::P384Scalar> scalar, PublicKey publicKey)
    : scalar_(std::move(scalar)), publicKey_(std::move(publicKey)) {}

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

detail::ScalarBytes scalarBytes(const SecureBytes& padded) { return detail::ScalarBytes(padded.data(), kScalarSize); }

// Base64 of secret bytes, without leaving the text behind in freed memory.
Secret base64Secret(const SecureBytes& bytes) {
  std::string text = base64Encode(bytes);
  Secret out(text);
  cleanse(text.data(), text.size());
  return out;
}

}  // namespace

Result<PrivateKey> PrivateKey::generate() {
  auto pair = detail::p384().generate();
  if (!pair) return pair.status();
  return PrivateKey(std::move(pair->scalar), PublicKey(pair->point, std::move(pair->publicState)));
}

Result<PrivateKey> PrivateKey::fromScalar(std::span<const std::uint8_t> scalar) {
  auto padded = paddedScalar(scalar);
  if (!padded) return padded.status();
  auto pair = detail::p384().fromScalar(scalarBytes(*padded));
  if (!pair) return pair.status();
  return PrivateKey(std::move(pair->scalar), PublicKey(pair->point, std::move(pair->publicState)));
}

Secret PrivateKey::exportKeypair() const {
  SecureBytes bytes(kScalarSize + kPublicPointSize);
  if (!scalar_->backend().writeScalar(*scalar_, std::span(bytes).first<kScalarSize>())) return Secret();
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
  if (point[0] != 0x04) return Status::invalidArgument("an uncompressed point starts with 0x04");
  auto pair = detail::p384().fromKeypair(scalarBytes(*padded), point);
  if (!pair) return pair.status();
  return PrivateKey(std::move(pair->scalar), PublicKey(pair->point, std::move(pair->publicState)));
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
  if (!scalar_->backend().writeScalar(*scalar_, std::span(bytes).first<kScalarSize>())) return Secret();
  return base64Secret(bytes);
}

}  // namespace bcauth::crypto
