#include "bcauth/seal.h"

#include <array>

#include "bcauth/base64.h"
#include "crypto/primitives.h"

namespace bcauth::crypto {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kNonceSize = 12;

std::span<const std::uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace

Result<Sealer> Sealer::fromKey(std::span<const std::uint8_t> key) {
  if (key.size() != kKeySize) {
    return Status::invalidArgument("the master key must be 32 bytes, got " + std::to_string(key.size()));
  }
  return Sealer(SecureBytes(key.begin(), key.end()));
}

Result<Sealer> Sealer::fromBase64Key(std::string_view text) {
  auto key = base64DecodeSecret(text);
  if (!key) return Status::invalidArgument("the master key is " + key.status().message());
  return fromKey(*key);
}

std::string Sealer::seal(std::string_view plaintext, std::string_view context) const {
  // The nonce is stored beside the ciphertext: public, so it may come from the pool.
  std::array<std::uint8_t, kNonceSize> nonce{};
  detail::fillPublicRandom(nonce.data(), nonce.size());
  auto sealed = detail::aes256GcmEncrypt(key_, nonce, bytesOf(context), bytesOf(plaintext));
  if (!sealed) throw std::runtime_error("sealing failed: " + sealed.status().message());
  std::string out;
  out.reserve(1 + kNonceSize + sealed->size());
  out.push_back(static_cast<char>(kVersion));
  out.append(nonce.begin(), nonce.end());
  out.append(sealed->begin(), sealed->end());
  return out;
}

Result<Secret> Sealer::unseal(std::string_view sealed, std::string_view context) const {
  if (sealed.size() < 1 + kNonceSize + kTagSize || static_cast<std::uint8_t>(sealed[0]) != kVersion) {
    return Status::decryptionFailed();
  }
  const auto bytes = bytesOf(sealed);
  auto plaintext = detail::aes256GcmDecrypt(key_, bytes.subspan(1, kNonceSize), bytesOf(context),
                                            bytes.subspan(1 + kNonceSize, sealed.size() - 1 - kNonceSize - kTagSize),
                                            bytes.last(kTagSize));
  if (!plaintext) return Status::decryptionFailed();
  return Secret(std::move(*plaintext));
}

}  // namespace bcauth::crypto
