// Fresh directories for the suites that hand a path to something outliving the scope that made
// it (a TestServer's default store, a child process): demo::TempDir (src/demo/temp_dir.h), the
// one helper that makes temporary directories, kept until the test process exits. Where a
// scope owns the directory, use demo::TempDir itself.
#pragma once

#include <deque>
#include <mutex>
#include <string>

#include "demo/temp_dir.h"

namespace bcauth::test {

// A new, empty directory under parent (default: the system's temporary directory), removed
// with everything in it when the test process exits.
inline std::string freshTempDir(const std::string& parent = "") {
  static std::mutex mutex;
  static std::deque<demo::TempDir> dirs;
  std::lock_guard lock(mutex);
  return dirs.emplace_back("bcauth-test-", parent).path();
}

}  // namespace bcauth::test
