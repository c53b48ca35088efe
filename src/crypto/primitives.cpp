#include "crypto/primitives.h"

#include <openssl/core_names.h>

#include "crypto/openssl_util.h"
#include "crypto/p384.h"

namespace bcauth::crypto::detail {

Result<SecureBytes> ecdh(const PrivateKey& privateKey, const PublicKey& peer) {
  const P384Backend& backend = privateKey.state().backend();
  if (&peer.state().backend() == &backend) return backend.ecdh(privateKey.state(), peer.state());
  // A point imported by another backend (a test switched backends between the two imports):
  // import it again, with the same checks, into the key's own.
  auto converted = backend.importPoint(peer.point());
  if (!converted) return Status::decryptionFailed();
  return backend.ecdh(privateKey.state(), *converted);
}

namespace {

// Algorithm handles are fetched once: fetching looks the provider up under a lock on every
// call, a measurable share of a decrypt. They are immutable and safe to share across threads.
EVP_KDF* x963Kdf() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "X963KDF", nullptr);
  return kdf;
}

const EVP_CIPHER* aes256Gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

}  // namespace

Result<SecureBytes> x963KdfSha256(std::span<const std::uint8_t> z, std::span<const std::uint8_t> sharedInfo,
                                  std::size_t length) {
  EVP_KDF* kdf = x963Kdf();
  if (kdf == nullptr) return Status::internal("OpenSSL has no X963KDF");
  Owned<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return Status::internal("out of memory");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(z.data()), z.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(sharedInfo.data()),
                                        sharedInfo.size()),
      OSSL_PARAM_construct_end()};
  SecureBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) return Status::internal("X9.63 KDF failed");
  return out;
}

namespace {

Owned<EVP_CIPHER_CTX> gcmContext(bool encrypt, std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv) {
  if (key.size() != 32 || iv.empty() || iv.size() > kMaxGcmIvSize) return nullptr;
  Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return nullptr;
  const int enc = encrypt ? 1 : 0;
  // The IV length must be set before key and IV: OpenSSL assumes 12 bytes, Apple uses 16.
  if (aes256Gcm() == nullptr ||
      EVP_CipherInit_ex(ctx.get(), aes256Gcm(), nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data(), enc) != 1) {
    return nullptr;
  }
  return ctx;
}

bool addAad(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> aad) {
  int ignored = 0;
  return aad.empty() || EVP_CipherUpdate(ctx, nullptr, &ignored, aad.data(), static_cast<int>(aad.size())) == 1;
}

}  // namespace

Result<SecureBytes> aes256GcmDecrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                                     std::span<const std::uint8_t> aad, std::span<const std::uint8_t> ciphertext,
                                     std::span<const std::uint8_t> tag) {
  if (tag.size() != kTagSize) return Status::decryptionFailed();
  auto ctx = gcmContext(false, key, iv);
  if (!ctx || !addAad(ctx.get(), aad)) return Status::decryptionFailed();
  SecureBytes plaintext(ciphertext.size());
  int written = 0;
  if (!ciphertext.empty() && EVP_DecryptUpdate(ctx.get(), plaintext.data(), &written, ciphertext.data(),
                                               static_cast<int>(ciphertext.size())) != 1) {
    return Status::decryptionFailed();
  }
  int last = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          const_cast<std::uint8_t*>(tag.data())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plaintext.data() + written, &last) != 1) {
    return Status::decryptionFailed();  // the tag did not verify: nothing decrypted is returned
  }
  return plaintext;
}

Result<std::vector<std::uint8_t>> aes256GcmEncrypt(std::span<const std::uint8_t> key,
                                                   std::span<const std::uint8_t> iv,
                                                   std::span<const std::uint8_t> aad,
                                                   std::span<const std::uint8_t> plaintext) {
  auto ctx = gcmContext(true, key, iv);
  if (!ctx || !addAad(ctx.get(), aad)) return Status::internal("AES-256-GCM setup failed");
  std::vector<std::uint8_t> out(plaintext.size() + kTagSize);
  int written = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), out.data(), &written, plaintext.data(), static_cast<int>(plaintext.size())) != 1) {
    return Status::internal("AES-256-GCM encryption failed");
  }
  int last = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &last) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), out.data() + plaintext.size()) !=
          1) {
    return Status::internal("AES-256-GCM encryption failed");
  }
  return out;
}

}  // namespace bcauth::crypto::detail
