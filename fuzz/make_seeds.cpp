// bcauth_fuzz_seeds REPO_ROOT OUT_DIR [TARGET...]
// Writes each target's starting corpus to OUT_DIR/<target>/: the seeds built from fixtures/
// (fixtureSeeds), the seed files kept in fuzz/seeds/<target>/ and every saved regression input
// in fuzz/regressions/<target>/. scripts/fuzz runs the fuzzers on those directories, so the
// repository itself is never written to.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "targets.h"

namespace fs = std::filesystem;

namespace {

int copyFiles(const fs::path& from, const fs::path& to, const std::string& prefix) {
  int count = 0;
  std::error_code ec;
  if (!fs::is_directory(from, ec)) return 0;
  for (const auto& entry : fs::directory_iterator(from)) {
    if (!entry.is_regular_file()) continue;
    fs::copy_file(entry.path(), to / (prefix + entry.path().filename().string()), fs::copy_options::overwrite_existing);
    ++count;
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bcauth_fuzz_seeds REPO_ROOT OUT_DIR [TARGET...]\n";
    return 2;
  }
  const fs::path root = argv[1];
  const fs::path out = argv[2];
  std::vector<std::string> names(argv + 3, argv + argc);
  if (names.empty()) {
    for (const auto& target : bcauth::fuzz::targets()) names.emplace_back(target.name);
  }
  try {
    for (const auto& name : names) {
      if (bcauth::fuzz::findTarget(name) == nullptr) {
        std::cerr << "bcauth_fuzz_seeds: no target " << name << "\n";
        return 2;
      }
      const fs::path dir = out / name;
      fs::create_directories(dir);
      int fixtures = 0;
      for (const auto& seed : bcauth::fuzz::fixtureSeeds(name, root)) {
        std::ofstream file(dir / ("fixture-" + seed.name), std::ios::binary);
        file.write(seed.bytes.data(), static_cast<std::streamsize>(seed.bytes.size()));
        if (!file) throw std::runtime_error("cannot write " + (dir / seed.name).string());
        ++fixtures;
      }
      const int kept = copyFiles(root / "fuzz" / "seeds" / name, dir, "seed-");
      const int regressions = copyFiles(root / "fuzz" / "regressions" / name, dir, "regression-");
      std::cout << name << ": " << fixtures << " from fixtures/, " << kept << " from fuzz/seeds/, " << regressions
                << " from fuzz/regressions/\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bcauth_fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
