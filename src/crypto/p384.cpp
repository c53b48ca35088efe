// Which P-384 backend bcauth uses: the one chosen at configure time (BCAUTH_P384), which a test
// may switch to run the same cases against every backend built in.
#include "crypto/p384.h"

#include <atomic>

namespace bcauth::crypto::detail {

#if !BCAUTH_P384_NETTLE
const P384Backend* nettleP384() { return nullptr; }
bool gmpMemoryIsWiped() { return false; }
#endif

namespace {

const P384Backend& configured() {
#if BCAUTH_P384_NETTLE
  return *nettleP384();
#else
  return opensslP384();
#endif
}

std::atomic<const P384Backend*>& current() {
  static std::atomic<const P384Backend*> backend{&configured()};
  return backend;
}

}  // namespace

std::vector<const P384Backend*> p384Backends() {
  std::vector<const P384Backend*> all{&configured()};
  for (const P384Backend* backend : {nettleP384(), &opensslP384()}) {
    if (backend != nullptr && backend != all.front()) all.push_back(backend);
  }
  return all;
}

const P384Backend* findP384(std::string_view name) {
  for (const P384Backend* backend : p384Backends()) {
    if (backend->name() == name) return backend;
  }
  return nullptr;
}

const P384Backend& p384() { return *current().load(std::memory_order_relaxed); }

void useP384(const P384Backend& backend) { current().store(&backend, std::memory_order_relaxed); }

}  // namespace bcauth::crypto::detail
