// The nettle/hogweed P-384 backend (the default when the build finds nettle: BCAUTH_P384=nettle).
// Nettle's secp384r1 arithmetic is written to be side-channel silent (no branches or memory
// accesses that depend on a secret scalar) and is several times faster than OpenSSL 3.0's generic
// P-384 code. Only the public ecc_* interface is used, on limbs this file converts itself, so no
// secret ever passes through an mpz_t that GMP could reallocate.
//
// Wiping: nettle keeps scalars and result points in GMP-allocated limbs and its scratch space
// either on the heap (through GMP's allocator) or on the stack. This backend wipes
//   - the limbs of every scalar and every ECDH result point before they are freed;
//   - every block GMP frees or moves, by installing wiping memory functions before first use;
//   - the stack nettle's secret computations used, after each of them (scrubStack).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <array>

#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/version.h>
#include <openssl/crypto.h>

#include "crypto/p384.h"
#include "crypto/primitives.h"

namespace bcauth::crypto::detail {
namespace {

static_assert(GMP_NAIL_BITS == 0, "limbs are converted byte by byte");
constexpr std::size_t kLimbBytes = sizeof(mp_limb_t);
static_assert(kScalarSize % kLimbBytes == 0);
constexpr std::size_t kLimbs = kScalarSize / kLimbBytes;  // one coordinate or one scalar

const ecc_curve* curve() { return nettle_get_secp_384r1(); }

// --- wiping -------------------------------------------------------------------

void* wipingAllocate(std::size_t size) {
  void* block = std::malloc(size);
  if (block == nullptr) std::abort();  // GMP's own default: it cannot report a failure
  return block;
}

// Never realloc in place: the old block is copied, wiped, then freed.
void* wipingReallocate(void* old, std::size_t oldSize, std::size_t newSize) {
  void* block = wipingAllocate(newSize);
  if (old != nullptr) {
    std::memcpy(block, old, std::min(oldSize, newSize));
    OPENSSL_cleanse(old, oldSize);
    std::free(old);
  }
  return block;
}

void wipingFree(void* block, std::size_t size) {
  if (block == nullptr) return;
  OPENSSL_cleanse(block, size);
  std::free(block);
}

// Nettle's ecc_point_mul_g and ecc_scalar_random keep their scratch (intermediate points, the
// random bytes) on the stack. Called right after them from the same frame, this overwrites
// that region: 16 KiB is well past the few KiB nettle's P-384 calls use.
[[gnu::noinline]] void scrubStack() {
  unsigned char area[16 * 1024];
  OPENSSL_cleanse(area, sizeof area);
}

// --- limbs <-> big-endian bytes --------------------------------------------------

using Limbs = std::array<mp_limb_t, kLimbs>;

// Least significant limb first, as nettle stores them.
void toLimbs(std::span<const std::uint8_t> bytes, mp_limb_t* out) {
  for (std::size_t i = 0; i < kLimbs; ++i) {
    mp_limb_t limb = 0;
    for (std::size_t j = 0; j < kLimbBytes; ++j) limb = (limb << 8) | bytes[kScalarSize - (i + 1) * kLimbBytes + j];
    out[i] = limb;
  }
}

void fromLimbs(const mp_limb_t* limbs, std::span<std::uint8_t> out) {
  for (std::size_t i = 0; i < kLimbs; ++i) {
    for (std::size_t j = 0; j < kLimbBytes; ++j) {
      out[kScalarSize - 1 - (i * kLimbBytes + j)] = static_cast<std::uint8_t>(limbs[i] >> (8 * j));
    }
  }
}

// Random bytes for ecc_scalar_random from the kernel's CSPRNG (fillRandom). Nettle cannot be
// told of a failure: the context records it and the bytes are made a valid scalar so nettle's
// rejection loop ends; the caller then throws the key away.
struct RandomSource {
  bool failed = false;
};

void systemRandom(void* context, std::size_t length, std::uint8_t* out) {
  if (!fillRandom(out, length)) {
    static_cast<RandomSource*>(context)->failed = true;
    std::memset(out, 0x01, length);
  }
}

// --- states ----------------------------------------------------------------------

class NettlePoint final : public P384Point {
 public:
  explicit NettlePoint(const P384Backend& backend) : P384Point(backend) { ecc_point_init(&point, curve()); }
  ~NettlePoint() override { ecc_point_clear(&point); }
  ecc_point point;

  void encode(PublicPoint& out) const {
    out[0] = 0x04;
    fromLimbs(point.p, std::span(out).subspan(1, kScalarSize));
    fromLimbs(point.p + kLimbs, std::span(out).subspan(1 + kScalarSize, kScalarSize));
  }
};

class NettleScalar final : public P384Scalar {
 public:
  explicit NettleScalar(const P384Backend& backend) : P384Scalar(backend) { ecc_scalar_init(&scalar, curve()); }
  ~NettleScalar() override {
    OPENSSL_cleanse(scalar.p, kLimbs * kLimbBytes);
    ecc_scalar_clear(&scalar);
  }
  ecc_scalar scalar;
};

class NettleP384 final : public P384Backend {
 public:
  NettleP384() {
    // Before nettle's first allocation; nothing else in bcauth uses GMP. Blocks GMP allocated
    // earlier with its defaults (malloc/free) are still freed correctly by wipingFree.
    mp_set_memory_functions(wipingAllocate, wipingReallocate, wipingFree);
    if (ecc_size(curve()) != static_cast<mp_size_t>(kLimbs)) std::abort();
  }

  std::string_view name() const override { return "nettle"; }
  std::string version() const override {
    return "nettle " + std::to_string(nettle_version_major()) + "." + std::to_string(nettle_version_minor());
  }

  std::shared_ptr<const P384Point> importPoint(const PublicPoint& point) const override {
    Limbs x{}, y{};
    toLimbs(std::span(point).subspan(1, kScalarSize), x.data());
    toLimbs(std::span(point).subspan(1 + kScalarSize, kScalarSize), y.data());
    mpz_t mx, my;  // read-only views of x and y: no allocation
    mpz_roinit_n(mx, x.data(), static_cast<mp_size_t>(kLimbs));
    mpz_roinit_n(my, y.data(), static_cast<mp_size_t>(kLimbs));
    auto state = std::make_shared<NettlePoint>(*this);
    // ecc_point_set refuses x or y outside [0, p) and any (x, y) off y² = x³ − 3x + b. P-384's
    // cofactor is 1 and (0, 0), the usual stand-in for infinity, is not on the curve.
    if (ecc_point_set(&state->point, mx, my) != 1) return nullptr;
    return state;
  }

  Result<P384KeyPair> generate() const override {
    auto scalar = std::make_shared<NettleScalar>(*this);
    RandomSource random;
    // Uniform in [1, n−1]: nettle draws 384 random bits and retries until the value is in range.
    ecc_scalar_random(&scalar->scalar, &random, systemRandom);
    scrubStack();
    if (random.failed) return Status::internal("the random generator failed");
    return pairFor(std::move(scalar));
  }

  Result<P384KeyPair> fromScalar(ScalarBytes d) const override {
    auto scalar = scalarFrom(d);
    if (!scalar) return Status::invalidArgument("the private scalar is not below the order of P-384");
    return pairFor(std::move(scalar));
  }

  Result<P384KeyPair> fromKeypair(ScalarBytes d, const PublicPoint& q) const override {
    auto scalar = scalarFrom(d);
    auto publicState = importPoint(q);
    if (!scalar || !publicState) return Status::invalidArgument("not a valid P-384 private key");
    return P384KeyPair{std::move(scalar), std::move(publicState), q};
  }

  bool writeScalar(const P384Scalar& d, std::span<std::uint8_t, kScalarSize> out) const override {
    fromLimbs(static_cast<const NettleScalar&>(d).scalar.p, out);
    return true;
  }

  Result<SecureBytes> ecdh(const P384Scalar& d, const P384Point& peer) const override {
    ecc_point shared;
    ecc_point_init(&shared, curve());
    // d in [1, n−1] and a validated peer: d·E is never the point at infinity.
    ecc_point_mul(&shared, &static_cast<const NettleScalar&>(d).scalar, &static_cast<const NettlePoint&>(peer).point);
    SecureBytes z(kScalarSize);
    fromLimbs(shared.p, z);  // x, fixed length: leading zeros kept
    OPENSSL_cleanse(shared.p, 2 * kLimbs * kLimbBytes);
    ecc_point_clear(&shared);
    scrubStack();
    return z;
  }

 private:
  // nullptr unless d is in [1, n−1] (ecc_scalar_set checks it).
  std::shared_ptr<NettleScalar> scalarFrom(ScalarBytes d) const {
    Limbs limbs{};
    toLimbs(d, limbs.data());
    mpz_t view;
    mpz_roinit_n(view, limbs.data(), static_cast<mp_size_t>(kLimbs));
    auto scalar = std::make_shared<NettleScalar>(*this);
    const bool inRange = ecc_scalar_set(&scalar->scalar, view) == 1;
    OPENSSL_cleanse(limbs.data(), sizeof limbs);
    return inRange ? scalar : nullptr;
  }

  Result<P384KeyPair> pairFor(std::shared_ptr<NettleScalar> scalar) const {
    auto publicState = std::make_shared<NettlePoint>(*this);
    ecc_point_mul_g(&publicState->point, &scalar->scalar);
    scrubStack();
    P384KeyPair pair{std::move(scalar), nullptr, {}};
    publicState->encode(pair.point);
    pair.publicState = std::move(publicState);
    return pair;
  }
};

}  // namespace

const P384Backend* nettleP384() {
  static const NettleP384 backend;
  return &backend;
}

bool gmpMemoryIsWiped() {
  void* (*allocate)(std::size_t) = nullptr;
  void* (*reallocate)(void*, std::size_t, std::size_t) = nullptr;
  void (*release)(void*, std::size_t) = nullptr;
  mp_get_memory_functions(&allocate, &reallocate, &release);
  return allocate == wipingAllocate && reallocate == wipingReallocate && release == wipingFree;
}

}  // namespace bcauth::crypto::detail
