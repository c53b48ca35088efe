// Sealing secrets at rest: AES-256-GCM under a master key, each sealed value bound to what it
// is (the context, e.g. "private_key:<request id>") so a sealed blob moved to another row
// does not open.
#pragma once

#include <string>
#include <string_view>

#include "bcauth/secure.h"
#include "bcauth/status.h"

namespace bcauth::crypto {

class Sealer {
 public:
  static constexpr std::size_t kKeySize = 32;

  // The master key as standard Base64 of 32 bytes.
  static Result<Sealer> fromBase64Key(std::string_view text);
  static Result<Sealer> fromKey(std::span<const std::uint8_t> key);

  // version(1) || nonce(12) || ciphertext || tag(16), as bytes.
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // The one opaque kDecryptionFailed for a wrong key, context or altered blob.
  Result<Secret> unseal(std::string_view sealed, std::string_view context) const;

 private:
  explicit Sealer(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

}  // namespace bcauth::crypto
