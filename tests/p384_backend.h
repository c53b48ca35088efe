// Runs a crypto suite against the P-384 backend named by BCAUTH_TEST_P384 (nettle, openssl), or
// the configured default when it is unset. CTest runs each crypto suite once per backend built in
// (tests/CMakeLists.txt), so every case and every assertion holds for each backend. A name that
// is not built in fails the run rather than silently testing the default.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <boost/test/unit_test.hpp>

#include "crypto/p384.h"

namespace bcauth::test {

struct SelectP384Backend {
  SelectP384Backend() {
    if (const char* name = std::getenv("BCAUTH_TEST_P384"); name != nullptr && *name != '\0') {
      const auto* backend = crypto::detail::findP384(name);
      if (backend == nullptr) throw std::runtime_error(std::string("P-384 backend not built in: ") + name);
      crypto::detail::useP384(*backend);
    }
    BOOST_TEST_MESSAGE("P-384 backend: " << crypto::detail::p384().name());
  }
};

}  // namespace bcauth::test

using BcauthSelectP384Backend = bcauth::test::SelectP384Backend;
BOOST_TEST_GLOBAL_FIXTURE(BcauthSelectP384Backend);
