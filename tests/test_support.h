// Small helpers shared by the test suites: hex, files, bounded waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "service/principal.h"

namespace bcauth::test {

// Tests that call use cases directly act as an operator, as the CLI does.
inline const service::Principal kOperator = service::Principal::operatorNamed("test");


inline const std::string kSourceDir = BCAUTH_SOURCE_DIR;

// Polls until the condition holds: true as soon as it does, false when the bound passes first
// (the bound only ends a hang; sanitizer builds are slow).
inline bool waitUntil(std::chrono::milliseconds bound, const std::function<bool()>& condition) {
  for (const auto deadline = std::chrono::steady_clock::now() + bound; std::chrono::steady_clock::now() < deadline;) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

inline std::vector<std::uint8_t> hex(const std::string& text) {
  if (text.size() % 2 != 0) throw std::invalid_argument("odd hex length");
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(text.substr(i, 2), nullptr, 16)));
  }
  return out;
}

template <typename Bytes>
std::string toHex(const Bytes& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out.push_back(kHex[static_cast<std::uint8_t>(b) >> 4]);
    out.push_back(kHex[static_cast<std::uint8_t>(b) & 0x0F]);
  }
  return out;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path + "");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline Poco::JSON::Object::Ptr readJsonObject(const std::string& path) {
  Poco::JSON::Parser parser;
  return parser.parse(readFile(path)).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace bcauth::test
