// Small JSON helpers for the service's API bodies.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Timestamp.h>

#include "store/store.h"

namespace bcauth::service::detail {

inline std::string isoTime(std::int64_t millis) {
  const Poco::Timestamp ts(static_cast<Poco::Timestamp::TimeVal>(millis) * 1000);
  return Poco::DateTimeFormatter::format(ts, "%Y-%m-%dT%H:%M:%S.%iZ");
}

// Lowercase hex of a SHA-256 or HMAC-SHA256.
inline std::string hex(const std::array<std::uint8_t, 32>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  return out;
}

inline Poco::JSON::Array::Ptr stringArray(const std::vector<std::string>& items) {
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array();
  for (const auto& item : items) array->add(item);
  return array;
}

inline Poco::JSON::Object::Ptr parseJsonObject(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

inline std::string toJsonString(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

inline store::Event makeEvent(const std::string& type, std::int64_t at, const std::string& conversationId,
                              const std::string& authRequestId, const Poco::JSON::Object::Ptr& data) {
  return store::Event{0, type, at, conversationId, authRequestId, toJsonString(data)};
}

// The customer{…} of auth.succeeded: the provider's profileFields (customer field → claim), or
// sub, email and name when it maps none.
inline Poco::JSON::Object::Ptr customerFrom(const store::Provider& provider, const Poco::JSON::Object::Ptr& claims) {
  auto customer = Poco::JSON::Object::Ptr(new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER));
  if (provider.profileFields.empty()) {
    for (const char* claim : {"sub", "email", "name"}) {
      if (claims->has(claim)) customer->set(claim, claims->get(claim));
    }
  }
  for (const auto& [field, claim] : provider.profileFields) {
    if (claims->has(claim)) customer->set(field, claims->get(claim));
  }
  return customer;
}

// Exponential backoff with ±25% jitter: base·2^(attempt−1), at most capMillis.
inline std::int64_t backoffMillis(std::int64_t base, int attempt, double capMillis) {
  const double exponential = static_cast<double>(base) * static_cast<double>(1LL << std::min(attempt - 1, 20));
  static thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  return static_cast<std::int64_t>(std::min(exponential, capMillis) * jitter(random));
}

}  // namespace bcauth::service::detail
