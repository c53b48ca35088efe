// Apple's eciesEncryptionCofactorVariableIVX963SHA256AESGCM on P-384 (spec §6.1):
//   token = E(97) || C || T(16)
//   Z     = x(d·E), 48 bytes
//   KM    = X9.63-KDF-SHA256(Z, sharedInfo = E, 48)
//   P     = AES-256-GCM-Decrypt(key = KM[0:32], iv = KM[32:48], aad = none, C, T)
#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "crypto/primitives.h"

namespace bcauth::crypto {
namespace {

constexpr std::size_t kAesKeySize = 32;
constexpr std::size_t kIvSize = 16;

struct SymmetricKeys {
  SecureBytes material;  // key || iv
  std::span<const std::uint8_t> key() const { return std::span(material).first(kAesKeySize); }
  std::span<const std::uint8_t> iv() const { return std::span(material).subspan(kAesKeySize, kIvSize); }
};

Result<SymmetricKeys> deriveKeys(const PrivateKey& ownKey, const PublicKey& peer,
                                 std::span<const std::uint8_t> ephemeralPoint) {
  auto z = detail::ecdh(ownKey, peer);
  if (!z) return z.status();
  auto material = detail::x963KdfSha256(*z, ephemeralPoint, kAesKeySize + kIvSize);
  if (!material) return material.status();
  return SymmetricKeys{std::move(*material)};
}

Status checkBlobLength(std::size_t size) {
  if (size < kMinTokenSize) {
    return Status::invalidArgument("token too short: " + std::to_string(size) +
                                   " bytes, an encrypted token has at least " + std::to_string(kMinTokenSize));
  }
  return Status::ok();
}

}  // namespace

namespace detail {

Result<Secret> decryptBlob(const PrivateKey& privateKey, std::span<const std::uint8_t> blob) {
  // Lengths are checked before any arithmetic.
  if (auto status = checkBlobLength(blob.size()); !status) return status;
  const auto ephemeralPoint = blob.first(kPublicPointSize);
  const auto ciphertext = blob.subspan(kPublicPointSize, blob.size() - kMinTokenSize);
  const auto tag = blob.last(kTagSize);

  auto ephemeral = PublicKey::fromPoint(ephemeralPoint);
  if (!ephemeral) return Status::decryptionFailed();
  auto keys = deriveKeys(privateKey, *ephemeral, ephemeralPoint);
  if (!keys) return Status::decryptionFailed();
  auto plaintext = aes256GcmDecrypt(keys->key(), keys->iv(), {}, ciphertext, tag);
  if (!plaintext) return Status::decryptionFailed();
  return Secret(std::move(*plaintext));
}

Result<std::vector<std::uint8_t>> encryptWithEphemeral(const PublicKey& recipient, const PrivateKey& ephemeral,
                                                       std::string_view plaintext) {
  const auto& ephemeralPoint = ephemeral.publicKey().point();
  auto keys = deriveKeys(ephemeral, recipient, ephemeralPoint);
  if (!keys) return keys.status();
  auto sealed = aes256GcmEncrypt(
      keys->key(), keys->iv(), {},
      std::span(reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size()));
  if (!sealed) return sealed.status();
  std::vector<std::uint8_t> blob;
  blob.reserve(kPublicPointSize + sealed->size());
  blob.insert(blob.end(), ephemeralPoint.begin(), ephemeralPoint.end());
  blob.insert(blob.end(), sealed->begin(), sealed->end());
  return blob;
}

}  // namespace detail

namespace {

Result<SecureBytes> decodeToken(std::string_view token) {
  // The shortest token (empty plaintext) is 113 bytes = 152 Base64 characters.
  if (token.size() < (kMinTokenSize + 2) / 3 * 4) {
    return Status::invalidArgument("token too short: " + std::to_string(token.size()) +
                                   " Base64 characters, an encrypted token has at least 152");
  }
  auto blob = base64Decode(token);
  if (!blob) return Status::invalidArgument("token is " + blob.status().message());
  return blob;
}

}  // namespace

Result<Secret> decrypt(const PrivateKey& privateKey, std::string_view token) {
  auto blob = decodeToken(token);
  if (!blob) return blob.status();
  return detail::decryptBlob(privateKey, *blob);
}

Status checkTokenFormat(std::string_view token) {
  auto blob = decodeToken(token);
  if (!blob) return blob.status();
  if (auto status = checkBlobLength(blob->size()); !status) return status;
  if (!PublicKey::fromPoint(std::span(*blob).first(kPublicPointSize))) return Status::decryptionFailed();
  return Status::ok();
}

Result<std::string> encrypt(const PublicKey& publicKey, std::string_view plaintext) {
  auto ephemeral = PrivateKey::generate();
  if (!ephemeral) return ephemeral.status();
  auto blob = detail::encryptWithEphemeral(publicKey, *ephemeral, plaintext);
  if (!blob) return blob.status();
  return base64Encode(*blob);
}

}  // namespace bcauth::crypto
