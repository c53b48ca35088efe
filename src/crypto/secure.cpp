#include "bcauth/secure.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/mman.h>
#include <sys/random.h>

#include <openssl/core_names.h>
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
// for the process id on every call, to notice a fork). Values that are public once made (ids,
// nonces) are drawn a kilobyte at a time into a per-thread pool below: bytes that will be
// public anyway are all that ever waits in memory, and a fork wipes them.
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

namespace {

// A zero-length key is legal HMAC; OpenSSL wants a non-null pointer for it.
constexpr std::uint8_t kEmptyKey = 0;

void fillOrThrow(std::uint8_t* out, std::size_t count) {
  if (!detail::fillRandom(out, count)) throw std::runtime_error("the kernel random generator failed");
}

// One page per thread, mapped on first use: [count of bytes left][bytes...]. A page of its own
// because MADV_WIPEONFORK works on whole pages; in a forked child it reads as zeros, so the
// count is 0 and the child's first value refills from the kernel.
class PublicPool {
 public:
  PublicPool() = default;
  PublicPool(const PublicPool&) = delete;
  PublicPool& operator=(const PublicPool&) = delete;
  ~PublicPool() {
    if (page_ != nullptr) {
      cleanse(page_, kPageSize);
      ::munmap(page_, kPageSize);
    }
  }

  void fill(std::uint8_t* out, std::size_t count) {
    if (count > kCapacity / 4) {  // a large draw goes straight to the kernel
      fillOrThrow(out, count);
      return;
    }
    Header& header = ensurePage();
    if (header.left < count) {
      fillOrThrow(bytes(), kCapacity);
      header.left = kCapacity;
    }
    std::uint8_t* from = bytes() + (kCapacity - header.left);
    std::memcpy(out, from, count);
    cleanse(from, count);
    header.left -= count;
  }

 private:
  struct Header {
    std::size_t left;
  };
  static constexpr std::size_t kPageSize = 4096;
  static constexpr std::size_t kCapacity = 1024;

  Header& ensurePage() {
    if (page_ == nullptr) {
      void* page = ::mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (page == MAP_FAILED) throw std::runtime_error("cannot map the random pool's page");
      if (::madvise(page, kPageSize, MADV_WIPEONFORK) != 0) {
        ::munmap(page, kPageSize);
        throw std::runtime_error("the kernel cannot wipe the random pool on fork (MADV_WIPEONFORK)");
      }
      page_ = static_cast<std::uint8_t*>(page);  // zero-filled: left = 0
    }
    return *reinterpret_cast<Header*>(page_);
  }
  std::uint8_t* bytes() { return page_ + sizeof(Header); }

  std::uint8_t* page_ = nullptr;
};

}  // namespace

void detail::fillPublicRandom(std::uint8_t* out, std::size_t count) {
  thread_local PublicPool pool;
  pool.fill(out, count);
}

SecureBytes randomBytes(std::size_t count) {
  SecureBytes out(count);
  fillOrThrow(out.data(), count);
  return out;
}

std::string randomUrlToken(std::size_t bytes) { return base64UrlEncode(randomBytes(bytes)); }

namespace {

// The 16 bytes in the 8-4-4-4-12 form, with the version and RFC 9562 variant bits set.
std::string uuidText(std::span<std::uint8_t, 16> b, std::uint8_t version) {
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | (version << 4));
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
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

}  // namespace

std::string randomUuid() {
  std::array<std::uint8_t, 16> b{};
  detail::fillPublicRandom(b.data(), b.size());
  return uuidText(b, 4);
}

std::string timeOrderedUuid(std::int64_t unixMillis) {
  std::array<std::uint8_t, 16> b{};
  detail::fillPublicRandom(b.data() + 6, b.size() - 6);
  for (std::size_t i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(unixMillis >> (40 - 8 * i));
  return uuidText(b, 7);
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

namespace {

// One HMAC-SHA256 context per thread, its digest set once: EVP_Q_mac fetched the MAC and the
// digest by name on every call (through the provider store's locks), a third of an inbound
// JWT check. After each MAC the context is re-keyed with the empty key, so it keeps nothing
// derived from the last key between calls.
class HmacSha256 {
 public:
  HmacSha256() {
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ctx_ = mac_ != nullptr ? EVP_MAC_CTX_new(mac_) : nullptr;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    ready_ = ctx_ != nullptr && EVP_MAC_CTX_set_params(ctx_, params) == 1 && forgetKey();
  }
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;
  ~HmacSha256() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
  }

  bool compute(std::string_view key, std::string_view data, std::array<std::uint8_t, 32>& mac) {
    if (!ready_) return false;
    const auto* keyData = key.empty() ? &kEmptyKey : reinterpret_cast<const unsigned char*>(key.data());
    std::size_t length = 0;
    const bool ok = EVP_MAC_init(ctx_, keyData, key.size(), nullptr) == 1 &&
                    EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
                    EVP_MAC_final(ctx_, mac.data(), &length, mac.size()) == 1 && length == mac.size();
    ready_ = forgetKey();
    return ok;
  }

 private:
  bool forgetKey() { return EVP_MAC_init(ctx_, &kEmptyKey, 0, nullptr) == 1; }

  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
  bool ready_ = false;
};

}  // namespace

std::array<std::uint8_t, 32> hmacSha256(std::string_view key, std::string_view data) {
  thread_local HmacSha256 hmac;
  std::array<std::uint8_t, 32> mac{};
  if (!hmac.compute(key, data, mac)) throw std::runtime_error("HMAC-SHA256 failed");
  return mac;
}

std::string pkceChallengeS256(std::string_view verifier) { return base64UrlEncode(sha256(verifier)); }

}  // namespace bcauth::crypto
