// Memory for secrets: buffers that are wiped before they are freed, and the few
// helpers every layer needs to handle key material safely.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bcauth::crypto {

// Overwrites memory in a way the optimiser cannot remove (OPENSSL_cleanse).
void cleanse(void* data, std::size_t size);

// An allocator that wipes every block it hands back, so reallocation and destruction
// never leave a copy of a key or token behind on the heap.
template <typename T>
struct ZeroingAllocator {
  using value_type = T;
  ZeroingAllocator() noexcept = default;
  template <typename U>
  ZeroingAllocator(const ZeroingAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)

  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    cleanse(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <typename U>
  bool operator==(const ZeroingAllocator<U>&) const noexcept { return true; }
};

using SecureBytes = std::vector<std::uint8_t, ZeroingAllocator<std::uint8_t>>;

// Text that must not linger: an access token, a private key's Base64. There is no implicit
// conversion to std::string, so a copy that escapes wiping is always written out on purpose.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string_view text) : bytes_(text.begin(), text.end()) {}
  explicit Secret(SecureBytes bytes) : bytes_(std::move(bytes)) {}

  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  std::span<const std::uint8_t> bytes() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  SecureBytes bytes_;
};

// Compares in time that depends only on the lengths, never on where the inputs differ.
bool constantTimeEquals(std::string_view a, std::string_view b);

// Bytes from the kernel's CSPRNG (getrandom). Throws std::runtime_error if it fails: a
// machine without randomness must not issue keys or nonces.
SecureBytes randomBytes(std::size_t count);

// `bytes` random bytes as unpadded Base64url: for state values, PKCE verifiers, ids.
std::string randomUrlToken(std::size_t bytes);

// A random RFC 4122 version-4 UUID in lowercase.
std::string randomUuid();

// An RFC 9562 version-7 UUID in lowercase: the 48-bit Unix time in milliseconds, then 74
// random bits. For row keys: ids made one after another sort together, so a B-tree takes
// them at its right edge instead of on a random page (fewer pages read, written and
// checkpointed per insert). Their creation time is visible in them, so they are never used
// where that must stay hidden.
std::string timeOrderedUuid(std::int64_t unixMillis);

// SHA-256 (EVP_Digest): for PKCE S256 challenges.
std::array<std::uint8_t, 32> sha256(std::string_view data);
// Lower-case hexadecimal, two digits per byte (digests in signatures and hashes, key ids).
std::string hexLower(std::span<const std::uint8_t> bytes);

// HMAC-SHA256 (EVP_Q_mac): for JWTs.
std::array<std::uint8_t, 32> hmacSha256(std::string_view key, std::string_view data);

// The PKCE S256 code_challenge of a verifier: Base64url(SHA-256(verifier)), no padding.
std::string pkceChallengeS256(std::string_view verifier);

}  // namespace bcauth::crypto
