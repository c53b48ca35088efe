// The building blocks of Apple's ECIES, each a thin layer over one OpenSSL 3 EVP call.
// Internal to bcauth: exposed to the tests so every step can be checked against the
// intermediate values of test-vectors.md and against Wycheproof.
#pragma once

#include <cstdint>
#include <span>

#include "bcauth/crypto.h"

namespace bcauth::crypto::detail {

// Fills out with bytes of the kernel's CSPRNG (getrandom(2)); false if it fails, which it does
// not once the system has booted. Every random value of bcauth comes from here.
bool fillRandom(std::uint8_t* out, std::size_t count) noexcept;

// Random bytes for values that are public once made (ids, GCM nonces): served from a small
// per-thread pool that one getrandom call refills, instead of one system call per value. Each
// byte is served once and wiped from the pool as it goes; the pool's page is wiped in a forked
// child (MADV_WIPEONFORK), so a child never repeats its parent's values. Never for secrets
// (scalars, keys, states, verifiers): those come from fillRandom directly and leave nothing
// drawn ahead in memory. Throws std::runtime_error if the kernel's generator fails.
void fillPublicRandom(std::uint8_t* out, std::size_t count);

// Z = the 48-byte big-endian x-coordinate of d·E (fixed length: leading zeros kept).
Result<SecureBytes> ecdh(const PrivateKey& privateKey, const PublicKey& peer);

// ANSI X9.63 KDF with SHA-256: SHA256(Z || counter32 || sharedInfo) for counter = 1, 2, …
Result<SecureBytes> x963KdfSha256(std::span<const std::uint8_t> z,
                                  std::span<const std::uint8_t> sharedInfo, std::size_t length);

// AES-256-GCM with a 16-byte tag and a nonce of 1 to 128 bytes (Apple uses 16, OpenSSL
// defaults to 12: the length is always set explicitly; OpenSSL's GCM takes at most 128).
inline constexpr std::size_t kMaxGcmIvSize = 128;
Result<SecureBytes> aes256GcmDecrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                                     std::span<const std::uint8_t> aad, std::span<const std::uint8_t> ciphertext,
                                     std::span<const std::uint8_t> tag);
// Writes ciphertext || tag.
Result<std::vector<std::uint8_t>> aes256GcmEncrypt(std::span<const std::uint8_t> key,
                                                   std::span<const std::uint8_t> iv,
                                                   std::span<const std::uint8_t> aad,
                                                   std::span<const std::uint8_t> plaintext);

// decrypt() on raw bytes E || C || T, for vectors given in hex.
Result<Secret> decryptBlob(const PrivateKey& privateKey, std::span<const std::uint8_t> blob);

// encrypt() with a chosen ephemeral key, so a test can reproduce a known token exactly.
Result<std::vector<std::uint8_t>> encryptWithEphemeral(const PublicKey& recipient, const PrivateKey& ephemeral,
                                                       std::string_view plaintext);

}  // namespace bcauth::crypto::detail
