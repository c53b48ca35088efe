// Every saved fuzz input, run through its target's entry function in the ordinary build (no
// clang, no libFuzzer): fuzz/regressions/<target>/ (inputs that once crashed, kept after the fix),
// fuzz/seeds/<target>/ and the seeds built from fixtures/. An exception escaping an entry is a
// failure, as it is a finding for the fuzzer. See docs/fuzzing.md.
#define BOOST_TEST_MODULE fuzz_regressions
#include <boost/test/unit_test.hpp>

#include <boost/core/demangle.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "../fuzz/targets.h"

namespace fs = std::filesystem;
using bcauth::fuzz::Seed;

namespace {

const fs::path kRoot = BCAUTH_SOURCE_DIR;

std::vector<Seed> savedInputs(const fs::path& dir) {
  std::vector<Seed> inputs;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return inputs;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    inputs.push_back({fs::relative(entry.path(), kRoot).generic_string(), bytes.str()});
  }
  std::sort(inputs.begin(), inputs.end(), [](const Seed& a, const Seed& b) { return a.name < b.name; });
  return inputs;
}

// An exception escaping an entry function is a finding: name the input, the type and what().
void checkNoThrow(const bcauth::fuzz::Target& target, const std::string& name, const std::string& bytes) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  try {
    target.run(data, bytes.size());
    BOOST_TEST(true);
  } catch (const std::exception& e) {
    BOOST_ERROR(target.name << ": " << name << ": " << boost::core::demangle(typeid(e).name()) << " escaped: " << e.what());
  } catch (...) {
    BOOST_ERROR(target.name << ": " << name << ": a non-standard exception escaped");
  }
}

// Runs every input of a target; returns how many ran.
std::size_t runAll(std::string_view name) {
  const auto* target = bcauth::fuzz::findTarget(name);
  BOOST_REQUIRE(target != nullptr);
  std::vector<Seed> inputs = savedInputs(kRoot / "fuzz" / "regressions" / std::string(name));
  for (auto& seed : savedInputs(kRoot / "fuzz" / "seeds" / std::string(name))) inputs.push_back(std::move(seed));
  for (auto& seed : bcauth::fuzz::fixtureSeeds(name, kRoot)) {
    seed.name = "fixtures → " + seed.name;
    inputs.push_back(std::move(seed));
  }
  for (const auto& input : inputs) {
    // Twice: the targets reset their state per input, so a second run must behave the same.
    for (int pass = 0; pass < 2; ++pass) checkNoThrow(*target, input.name, input.bytes);
  }
  return inputs.size();
}

}  // namespace

BOOST_AUTO_TEST_CASE(inbound_parser) { BOOST_TEST(runAll("inbound") >= 55u); }

BOOST_AUTO_TEST_CASE(token_decryption) { BOOST_TEST(runAll("decrypt") >= 10u); }

BOOST_AUTO_TEST_CASE(jwt_and_intake_pipeline) { BOOST_TEST(runAll("intake") >= 70u); }

BOOST_AUTO_TEST_CASE(api_bodies) { BOOST_TEST(runAll("api") >= 10u); }

// Edge inputs no corpus needs to hold.
BOOST_AUTO_TEST_CASE(empty_and_tiny_inputs) {
  for (const auto& target : bcauth::fuzz::targets()) {
    for (const std::string& input : {std::string(), std::string("\n"), std::string("\n\n"), std::string(1, '\0'),
                                    std::string("q{}"), std::string("\x1f\x8b")}) {
      checkNoThrow(target, std::to_string(input.size()) + " bytes", input);
    }
  }
}

// The JWT the intake seeds carry is the one its verification accepts.
BOOST_AUTO_TEST_CASE(seeds_carry_a_valid_jwt) {
  const auto seeds = bcauth::fuzz::fixtureSeeds("intake", kRoot);
  BOOST_REQUIRE(!seeds.empty());
  BOOST_TEST(seeds.front().bytes.rfind(bcauth::fuzz::validAuthorization() + "\n", 0) == 0u);
}
