// A fresh directory for a throwaway store: `bcauth demo`, the tests, the load benchmark and the
// fuzz targets all make theirs with this one helper.
#pragma once

#include <string>

namespace bcauth::demo {

class TempDir {
 public:
  // A new, empty directory <parent>/<prefix>XXXXXX. Created (mkdtemp) rather than only named:
  // a name made from a PID or a clock could be one an earlier, aborted process left behind,
  // store and all. parent empty: the system's temporary directory ($TMPDIR, else /tmp).
  // Throws std::runtime_error when it cannot be created.
  explicit TempDir(const std::string& prefix = "bcauth-", const std::string& parent = "");
  // Removes the directory and everything in it (errors are ignored: nothing to do about them).
  ~TempDir();

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  void remove() noexcept;
  std::string path_;  // empty once moved from
};

}  // namespace bcauth::demo
