#include "bcauth/secure.h"

#include <cerrno>
#include <stdexcept>

#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bcauth/base64.h"
#include "crypto/primitives.h"

namespace bcauth::crypto {

void cleanse(void* data, std::size_t size) {
  if (data != nullptr && size > 0) OPENSSL_cleanse(data, size);
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  // The length is not secret (API keys and states have fixed, public lengths); the content is.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The kernel's generator rather than OpenSSL's DRBG: no generator state in the process to be
// duplicated by a fork or read from its memory, and for the short values bcauth draws (ids,
// nonces, states, scalars) a third of the cost per call under load (OpenSSL's DRBG also asks
// for the process id on every call, to notice a fork).
bool detail::fillRandom(std::uint8_t* out, std::size_t count) noexcept {
  while (count > 0) {
    const ssize_t got = getrandom(out, count, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out += got;
    count -= static_cast<std::size_t>(got);
  }
  return true;
}

SecureBytes randomBytes(std::size_t count) {
  SecureBytes out(count);
  if (!detail::fillRandom(out.data(), count)) throw std::runtime_error("the kernel random generator failed");
  return out;
}

std::string randomUrlToken(std::size_t bytes) { return base64UrlEncode(randomBytes(bytes)); }

std::string randomUuid() {
  SecureBytes b = randomBytes(16);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

std::string hexLower(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (const std::uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  return out;
}

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 || length != 32) {
    throw std::runtime_error("SHA-256 failed");
  }
  return digest;
}

std::array<std::uint8_t, 32> hmacSha256(std::string_view key, std::string_view data) {
  std::array<std::uint8_t, 32> mac{};
  std::size_t length = 0;
  // A zero-length key is legal HMAC; OpenSSL wants a non-null pointer for it.
  static const std::uint8_t kEmpty = 0;
  const void* keyData = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, keyData, key.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), mac.size(), &length) ==
          nullptr ||
      length != mac.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return mac;
}

std::string pkceChallengeS256(std::string_view verifier) { return base64UrlEncode(sha256(verifier)); }

}  // namespace bcauth::crypto
