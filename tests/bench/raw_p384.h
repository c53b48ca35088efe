// The raw OpenSSL P-384 operations bcauth's targets are stated against, shared by the crypto
// benchmark and the load benchmark:
//   keygen: EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1")
//   ECDH:   what any decryptor must do with a received 97-byte point by OpenSSL's cheapest
//           checked path — copy the group from a parameters-only key, set the encoded point
//           (checks it is on the curve), EVP_PKEY_derive without a second peer check.
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <cstddef>
#include <stdexcept>

namespace bcauth::bench {

class RawP384 {
 public:
  RawP384() {
    ownKey_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp384r1");
    EVP_PKEY* peer = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp384r1");
    std::size_t length = 0;
    if (!ownKey_ || !peer ||
        EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, peerPoint_, sizeof peerPoint_,
                                        &length) != 1) {
      throw std::runtime_error("raw P-384 setup failed");
    }
    EVP_PKEY_free(peer);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("secp384r1"), 0),
        OSSL_PARAM_construct_end()};
    const bool ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
                    EVP_PKEY_fromdata(ctx, &groupOnly_, EVP_PKEY_KEY_PARAMETERS, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) throw std::runtime_error("raw P-384 setup failed");
  }
  ~RawP384() {
    EVP_PKEY_free(ownKey_);
    EVP_PKEY_free(groupOnly_);
  }
  RawP384(const RawP384&) = delete;
  RawP384& operator=(const RawP384&) = delete;

  EVP_PKEY* ownKey() const { return ownKey_; }
  EVP_PKEY* groupOnly() const { return groupOnly_; }
  const unsigned char* peerPoint() const { return peerPoint_; }

  static void keygen() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp384r1");
    if (!key) throw std::runtime_error("keygen failed");
    EVP_PKEY_free(key);
  }

  // Import the peer point and derive Z; returns the first byte of Z so the work is observable.
  unsigned char ecdh() const {
    EVP_PKEY* peer = EVP_PKEY_new();
    EVP_PKEY_CTX* ctx = nullptr;
    unsigned char z[48];
    std::size_t length = sizeof z;
    const bool ok = peer && EVP_PKEY_copy_parameters(peer, groupOnly_) == 1 &&
                    EVP_PKEY_set1_encoded_public_key(peer, peerPoint_, sizeof peerPoint_) == 1 &&
                    (ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, ownKey_, nullptr)) != nullptr &&
                    EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
                    EVP_PKEY_derive(ctx, z, &length) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    if (!ok) throw std::runtime_error("ECDH failed");
    return z[0];
  }

 private:
  EVP_PKEY* ownKey_ = nullptr;
  EVP_PKEY* groupOnly_ = nullptr;
  unsigned char peerPoint_[97] = {};
};

}  // namespace bcauth::bench
