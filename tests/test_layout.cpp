// The repository's shape, as the architecture (issue 13) states it: product code never reaches
// into tests/, and Apple's JWT is signed and verified in one module.
#define BOOST_TEST_MODULE layout
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace fs = std::filesystem;
using bcauth::test::kSourceDir;
using bcauth::test::readFile;

namespace {

std::vector<fs::path> sourcesUnder(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".cpp" || ext == ".h" || ext == ".in")) out.push_back(entry.path());
  }
  return out;
}

std::vector<std::string> quotedIncludes(const fs::path& file) {
  static const std::regex include(R"re(^\s*#\s*include\s+"([^"]+)")re");
  std::vector<std::string> out;
  std::istringstream lines(readFile(file.string()));
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, include)) out.push_back(m[1]);
  }
  return out;
}

}  // namespace

// Every header a product file includes is product code: under src/ or include/.
BOOST_AUTO_TEST_CASE(nothing_under_src_includes_from_tests) {
  const fs::path root = kSourceDir;
  for (const auto& file : sourcesUnder(root / "src")) {
    for (const auto& header : quotedIncludes(file)) {
      BOOST_TEST_CONTEXT(fs::relative(file, root).string() << " includes \"" << header << "\"") {
        const bool product = fs::exists(root / "src" / header) || fs::exists(root / "include" / header) ||
                             fs::exists(file.parent_path() / header);
        BOOST_TEST(product);
      }
    }
  }
}

// No CMake target makes tests/ part of what its users compile against, and no library outside
// tests/ builds a source from there.
BOOST_AUTO_TEST_CASE(no_target_publishes_tests) {
  const fs::path root = kSourceDir;
  for (const auto& cmake : {root / "CMakeLists.txt", root / "fuzz" / "targets.cmake", root / "fuzz" / "CMakeLists.txt"}) {
    const std::string text = readFile(cmake.string());
    static const std::regex call(R"re((target_include_directories|add_library)\s*\(([^)]*)\))re");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), call); it != std::sregex_iterator(); ++it) {
      const std::string command = (*it)[1], args = (*it)[2];
      BOOST_TEST_CONTEXT(cmake.filename().string() << ": " << command << "(" << args << ")") {
        if (command == "add_library") {
          BOOST_TEST(args.find("tests/") == std::string::npos);
        } else {
          // Only the PRIVATE part may name tests/.
          const auto privateAt = args.find("PRIVATE");
          const std::string published = args.substr(0, privateAt);
          BOOST_TEST(!std::regex_search(published, std::regex(R"re((PUBLIC|INTERFACE)[\s\S]*\btests\b)re")));
        }
      }
    }
  }
}

// Apple's JWT is made and checked in protocol/apple_jwt.cpp only: no other product file uses
// Poco's JWT classes, and the HTTP edge does not reach into the gateway client for them.
BOOST_AUTO_TEST_CASE(one_module_signs_and_verifies_apples_jwt) {
  const fs::path root = kSourceDir;
  for (const auto& file : sourcesUnder(root / "src")) {
    const std::string name = fs::relative(file, root).string();
    BOOST_TEST_CONTEXT(name) {
      const std::string text = readFile(file.string());
      if (name != "src/protocol/apple_jwt.cpp") BOOST_TEST(text.find("Poco/JWT/") == std::string::npos);
      if (name.rfind("src/http/", 0) == 0) BOOST_TEST(text.find("clients/apple_gateway.h") == std::string::npos);
    }
  }
}
