#include "service/event_type.h"

#include <array>
#include <utility>

namespace bcauth::service {
namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 9> kNames = {{
    {EventType::kAuthRequested, "auth.requested"},
    {EventType::kAuthDelivered, "auth.delivered"},
    {EventType::kAuthDeliveryFailed, "auth.delivery_failed"},
    {EventType::kAuthSucceeded, "auth.succeeded"},
    {EventType::kAuthFailed, "auth.failed"},
    {EventType::kAuthCancelled, "auth.cancelled"},
    {EventType::kAuthExpired, "auth.expired"},
    {EventType::kAuthRejected, "auth.rejected"},
    {EventType::kMessageReceived, "message.received"},
}};

constexpr std::array<EventType, kNames.size()> kAll = [] {
  std::array<EventType, kNames.size()> all{};
  for (std::size_t i = 0; i < kNames.size(); ++i) all[i] = kNames[i].first;
  return all;
}();

}  // namespace

std::string_view name(EventType type) {
  for (const auto& [t, n] : kNames) {
    if (t == type) return n;
  }
  return "unknown";  // unreachable: every enumerator is in the table (test_kernel checks)
}

std::optional<EventType> parseEventType(std::string_view text) {
  for (const auto& [t, n] : kNames) {
    if (n == text) return t;
  }
  return std::nullopt;
}

std::span<const EventType> allEventTypes() { return kAll; }

}  // namespace bcauth::service
