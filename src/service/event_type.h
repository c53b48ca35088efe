// The events bcauth records, by type. Their wire names ("auth.succeeded", …) live in one table
// (event_type.cpp): the store, the API and the webhooks all carry these names.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace bcauth::service {

enum class EventType {
  kAuthRequested,       // a request was created
  kAuthDelivered,       // Apple's gateway took the message
  kAuthDeliveryFailed,  // it did not, for good
  kAuthSucceeded,
  kAuthFailed,
  kAuthCancelled,
  kAuthExpired,
  kAuthRejected,     // a reply or callback that names no usable request
  kMessageReceived,  // any other message from the customer
};

std::string_view name(EventType type);
std::optional<EventType> parseEventType(std::string_view name);
// Every type, in the order of the table (the order webhook subscriptions list them in docs).
std::span<const EventType> allEventTypes();

}  // namespace bcauth::service
