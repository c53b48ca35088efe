// The cryptography of Apple's authenticate message (spec §6): P-384 request keys and
// Apple's ECIES "eciesEncryptionCofactorVariableIVX963SHA256AESGCM".
//
// The API is deliberately small. There is one curve, one KDF, one cipher and no knobs:
//   auto key = PrivateKey::generate();                 // per request
//   key->publicKey().toBase64()                        // → responseEncryptionKey
//   auto token = decrypt(*key, replyToken);            // ← authenticate.token
// Malformed input (not Base64, too short) is reported as kInvalidArgument with a reason;
// every cryptographic failure (point not on the curve, wrong key, altered ciphertext or
// tag) is the one opaque kDecryptionFailed, so a caller cannot be turned into an oracle.
// The P-384 arithmetic is nettle's or OpenSSL's, chosen when bcauth is built (BCAUTH_P384);
// keys hold that backend's state opaquely, so nothing here names either library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "bcauth/secure.h"
#include "bcauth/status.h"

namespace bcauth::crypto {

namespace detail {
class P384Point;   // a backend's validated point (src/crypto/p384.h)
class P384Scalar;  // a backend's private scalar
}  // namespace detail

inline constexpr std::size_t kScalarSize = 48;        // P-384 private scalar, big-endian
inline constexpr std::size_t kPublicPointSize = 97;   // 0x04 || X(48) || Y(48)
inline constexpr std::size_t kPublicKeyBase64Size = 132;
inline constexpr std::size_t kTagSize = 16;           // AES-GCM tag
inline constexpr std::size_t kMinTokenSize = kPublicPointSize + kTagSize;  // empty plaintext

using PublicPoint = std::array<std::uint8_t, kPublicPointSize>;

// A point on P-384, held as the uncompressed X9.63 encoding Apple's device expects.
class PublicKey {
 public:
  // The responseEncryptionKey form: standard padded Base64 of 0x04||X||Y (132 characters).
  // SPKI/DER, PEM, compressed points, URL-safe Base64 and points off the curve are refused.
  static Result<PublicKey> fromBase64(std::string_view text);
  static Result<PublicKey> fromPoint(std::span<const std::uint8_t> point);

  const PublicPoint& point() const { return point_; }
  std::string toBase64() const;

  const detail::P384Point& state() const { return *state_; }  // for the crypto layer's own use

 private:
  friend class PrivateKey;
  PublicKey(PublicPoint point, std::shared_ptr<const detail::P384Point> state);
  PublicPoint point_;
  std::shared_ptr<const detail::P384Point> state_;
};

// A P-384 private key. Its scalar only leaves as a Secret.
class PrivateKey {
 public:
  static Result<PrivateKey> generate();

  // Accepts the forms integrators meet: standard Base64 of the big-endian scalar (48 bytes,
  // or shorter as Apple's sample stores it — left-padded), or a PKCS#8 / SEC1 PEM.
  static Result<PrivateKey> fromText(std::string_view text);
  static Result<PrivateKey> fromBase64Scalar(std::string_view text);
  static Result<PrivateKey> fromScalar(std::span<const std::uint8_t> scalar);
  static Result<PrivateKey> fromPem(std::string_view pem);

  const PublicKey& publicKey() const { return publicKey_; }
  // Standard padded Base64 of the 48-byte scalar.
  Secret toBase64Scalar() const;

  // The form bcauth seals between a request and its reply: Base64 of the scalar (48 bytes)
  // followed by the public point (97). Importing it skips the d·G a bare scalar needs (a
  // scalar multiplication, as costly as the decryption itself): the point is checked to be on
  // the curve but not to match d, so import only what bcauth exported and sealed itself.
  // importKeypair also takes a bare Base64 scalar (requests sealed before this form).
  Secret exportKeypair() const;
  static Result<PrivateKey> importKeypair(std::string_view text);

  const detail::P384Scalar& state() const { return *scalar_; }  // for the crypto layer's own use

 private:
  PrivateKey(std::shared_ptr<const detail::P384Scalar> scalar, PublicKey publicKey);
  std::shared_ptr<const detail::P384Scalar> scalar_;
  PublicKey publicKey_;
};

// Decrypts an authenticate.token (standard Base64 of E(97) || C || tag(16)) with the
// request's private key and returns the plaintext: the IdP's access token.
Result<Secret> decrypt(const PrivateKey& privateKey, std::string_view token);

// Checks what can be checked of a token without the private key: standard Base64, at least
// 113 bytes, and an ephemeral point E on P-384. decrypt() does all of this too.
Status checkTokenFormat(std::string_view token);

// The device side of the same scheme, with a fresh ephemeral key: for simulators, tests and
// the CLI. Returns the token as standard padded Base64.
Result<std::string> encrypt(const PublicKey& publicKey, std::string_view plaintext);

}  // namespace bcauth::crypto
