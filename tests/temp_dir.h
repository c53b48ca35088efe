// Fresh directories for tests.
#pragma once

#include <stdlib.h>

#include <stdexcept>
#include <string>

#include <Poco/Path.h>
#include <Poco/TemporaryFile.h>

namespace bcauth::test {

// A new, empty directory under parent (which ends in '/'), removed when the test process exits.
// Created here (mkdtemp) rather than only named: a name made from the PID could be one an
// earlier, aborted test process with the same PID left behind, store and all.
inline std::string freshTempDir(const std::string& parent = Poco::Path::temp()) {
  std::string pattern = parent + "bcauth-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + parent);
  Poco::TemporaryFile::registerForDeletion(pattern);
  return pattern;
}

}  // namespace bcauth::test
