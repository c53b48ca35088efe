// The P-384 backend seam: key generation, point import with full validation and ECDH, behind
// one internal interface with two implementations — nettle/hogweed (p384_nettle.cpp, the default
// when the build finds it) and OpenSSL 3 EVP (p384_openssl.cpp, always built). The configure
// option BCAUTH_P384=nettle|openssl picks the default; everything else in src/crypto (the KDF,
// AES-GCM, sealing, PEM parsing) stays on OpenSSL and never sees which backend holds a key.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bcauth/crypto.h"

namespace bcauth::crypto::detail {

class P384Backend;

// What a backend keeps of a key: its own type for each, tied to the backend that made it.
class P384State {
 public:
  explicit P384State(const P384Backend& backend) : backend_(backend) {}
  virtual ~P384State() = default;
  P384State(const P384State&) = delete;
  P384State& operator=(const P384State&) = delete;
  const P384Backend& backend() const { return backend_; }

 private:
  const P384Backend& backend_;
};

// A validated public point (an EVP_PKEY, a nettle ecc_point).
class P384Point : public P384State {
 public:
  using P384State::P384State;
};

// A private scalar d in [1, n−1]; its destructor wipes it.
class P384Scalar : public P384State {
 public:
  using P384State::P384State;
};

struct P384KeyPair {
  std::shared_ptr<const P384Scalar> scalar;
  std::shared_ptr<const P384Point> publicState;
  PublicPoint point;  // 0x04 || X || Y of d·G
};

using ScalarBytes = std::span<const std::uint8_t, kScalarSize>;

class P384Backend {
 public:
  virtual ~P384Backend() = default;
  virtual std::string_view name() const = 0;
  virtual std::string version() const = 0;  // the library's, for benchmarks and logs

  // The caller has checked the length (97) and the 0x04 prefix, so the point at infinity (0x00)
  // and compressed forms never get here. nullptr when X or Y ≥ p or the point is off the curve.
  virtual std::shared_ptr<const P384Point> importPoint(const PublicPoint& point) const = 0;
  // d uniform in [1, n−1] from a CSPRNG (nettle: getrandom; OpenSSL: its DRBG), and Q = d·G.
  virtual Result<P384KeyPair> generate() const = 0;
  // d: 48 big-endian bytes, refused unless in [1, n−1]; computes Q = d·G.
  virtual Result<P384KeyPair> fromScalar(ScalarBytes d) const = 0;
  // d and the Q bcauth exported with it: Q is validated like any point, d·G is not recomputed.
  virtual Result<P384KeyPair> fromKeypair(ScalarBytes d, const PublicPoint& q) const = 0;
  // d as 48 big-endian bytes; false if the backend cannot give it.
  virtual bool writeScalar(const P384Scalar& d, std::span<std::uint8_t, kScalarSize> out) const = 0;
  // Z = x(d·E), 48 bytes with its leading zeros. Both states come from this backend.
  virtual Result<SecureBytes> ecdh(const P384Scalar& d, const P384Point& peer) const = 0;
};

const P384Backend& opensslP384();
const P384Backend* nettleP384();  // nullptr in an OpenSSL-only build (BCAUTH_P384=openssl)
// Whether every block GMP (and so nettle) frees or moves is wiped first: true once the nettle
// backend exists, false in an OpenSSL-only build.
bool gmpMemoryIsWiped();

// Every backend built in, the configured default first.
std::vector<const P384Backend*> p384Backends();
const P384Backend* findP384(std::string_view name);

// The backend new keys and imported points use: the configured one unless a test chose another.
const P384Backend& p384();
void useP384(const P384Backend& backend);

}  // namespace bcauth::crypto::detail
