// Fresh directories for tests.
#pragma once

#include <stdlib.h>

#include <stdexcept>
#include <string>

#include <Poco/Path.h>
#include <Poco/TemporaryFile.h>

namespace bcauth::test {

// A new, empty directory, removed when the test process exits. Created here (mkdtemp) rather
// than only named: a name made from the PID could be one an earlier, aborted test process with
// the same PID left behind, store and all.
inline std::string freshTempDir() {
  std::string pattern = Poco::Path::temp() + "bcauth-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + Poco::Path::temp());
  Poco::TemporaryFile::registerForDeletion(pattern);
  return pattern;
}

}  // namespace bcauth::test
