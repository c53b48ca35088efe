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
// True when the input ran to the end.
bool runsClean(const bcauth::fuzz::Target& target, const std::string& name, const std::string& bytes) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  try {
    target.run(data, bytes.size());
    return true;
  } catch (const std::exception& e) {
    BOOST_ERROR(target.name << ": " << name << ": " << boost::core::demangle(typeid(e).name()) << " escaped: " << e.what());
  } catch (...) {
    BOOST_ERROR(target.name << ": " << name << ": a non-standard exception escaped");
  }
  return false;
}

struct Ran {
  std::size_t inputs = 0;       // every input of the target
  std::size_t regressions = 0;  // of which from fuzz/regressions/<target>/
};

// Runs every input of a target, twice each, and checks that every run ended normally.
Ran runAll(std::string_view name) {
  const auto* target = bcauth::fuzz::findTarget(name);
  BOOST_REQUIRE(target != nullptr);
  std::vector<Seed> inputs = savedInputs(kRoot / "fuzz" / "regressions" / std::string(name));
  const std::size_t regressions = inputs.size();
  for (auto& seed : savedInputs(kRoot / "fuzz" / "seeds" / std::string(name))) inputs.push_back(std::move(seed));
  for (auto& seed : bcauth::fuzz::fixtureSeeds(name, kRoot)) {
    seed.name = "fixtures → " + seed.name;
    inputs.push_back(std::move(seed));
  }
  std::size_t clean = 0;
  for (const auto& input : inputs) {
    // Twice: the targets reset their state per input, so a second run must behave the same.
    for (int pass = 0; pass < 2; ++pass) {
      if (runsClean(*target, input.name, input.bytes)) ++clean;
    }
  }
  BOOST_TEST(clean == 2 * inputs.size());
  BOOST_TEST_MESSAGE(name << ": " << inputs.size() << " inputs, " << regressions << " of them saved regressions");
  return {inputs.size(), regressions};
}

}  // namespace

// The regression counts are those saved so far: an input that once crashed is never dropped.
BOOST_AUTO_TEST_CASE(inbound_parser) {
  const Ran ran = runAll("inbound");
  BOOST_TEST(ran.inputs >= 55u);
  BOOST_TEST(ran.regressions >= 2u);
}

BOOST_AUTO_TEST_CASE(token_decryption) { BOOST_TEST(runAll("decrypt").inputs >= 10u); }

BOOST_AUTO_TEST_CASE(jwt_and_intake_pipeline) {
  const Ran ran = runAll("intake");
  BOOST_TEST(ran.inputs >= 70u);
  BOOST_TEST(ran.regressions >= 1u);
}

BOOST_AUTO_TEST_CASE(api_bodies) {
  const Ran ran = runAll("api");
  BOOST_TEST(ran.inputs >= 10u);
  BOOST_TEST(ran.regressions >= 5u);
}

// Edge inputs no corpus needs to hold.
BOOST_AUTO_TEST_CASE(empty_and_tiny_inputs) {
  std::size_t runs = 0, clean = 0;
  for (const auto& target : bcauth::fuzz::targets()) {
    for (const std::string& input : {std::string(), std::string("\n"), std::string("\n\n"), std::string(1, '\0'),
                                    std::string("q{}"), std::string("\x1f\x8b")}) {
      ++runs;
      if (runsClean(target, std::to_string(input.size()) + " bytes", input)) ++clean;
    }
  }
  BOOST_TEST(runs >= 4u * 6u);  // the four targets, six inputs each
  BOOST_TEST(clean == runs);
}

// The JWT the intake seeds carry is the one its verification accepts.
BOOST_AUTO_TEST_CASE(seeds_carry_a_valid_jwt) {
  const auto seeds = bcauth::fuzz::fixtureSeeds("intake", kRoot);
  BOOST_REQUIRE(!seeds.empty());
  BOOST_TEST(seeds.front().bytes.rfind(bcauth::fuzz::validAuthorization() + "\n", 0) == 0u);
}
