// What each event carries, as typed fields, and the one codec that turns them into the event's
// stored and wire form (a JSON object in Event::dataJson, read by the API and the webhooks).
// The order of the fields below is the order of the keys on the wire.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <Poco/JSON/Object.h>

#include "bcauth/outcome.h"
#include "service/event_type.h"
#include "store/store.h"

namespace bcauth::service {

// auth.requested
struct RequestedData {
  std::string flow;
  std::string providerId;
  std::vector<std::string> scopes;
};

// message.received: Apple's message as it came (unknown fields included).
struct MessageData {
  std::string type;
  std::string messageId;
  std::vector<std::string> capabilities;
  Poco::JSON::Object::Ptr payload;
};

// auth.rejected
struct RejectedData {
  std::string reason;
  std::optional<std::string> requestIdentifier;  // a device reply's
  std::optional<std::string> via;                // "oauth_callback"
};

// A request's end: auth.succeeded | auth.failed | auth.cancelled | auth.expired.
struct ConclusionData {
  std::optional<protocol::Outcome> outcome;  // its fields come first (without "event")
  std::optional<std::string> by;             // auth.cancelled without an outcome: "agent" | "customer"
  std::optional<std::string> flow;
  std::optional<std::string> providerId;
  std::optional<std::string> requestIdentifier;
  std::optional<bool> tokenAvailable;
  std::optional<bool> refreshTokenAvailable;
  std::optional<std::string> detail;          // the IdP's words, bounded
  Poco::JSON::Object::Ptr customer;           // the profile's mapped claims, when fetched
  std::optional<std::string> profileError;    // or why it was not
};

// auth.delivered | auth.delivery_failed
struct DeliveryData {
  int attempts = 0;
  std::optional<int> appleStatus;
  std::optional<std::string> reason;  // failed only
  std::optional<std::string> detail;  // failed without an answer: the network error
};

using EventData = std::variant<RequestedData, MessageData, RejectedData, ConclusionData, DeliveryData>;

struct EventRecord {
  EventType type;
  std::int64_t at = 0;
  std::string businessId;  // the business it concerns (the store keeps it when bcauth knows the business)
  std::string conversationId;
  std::string authRequestId;  // empty: the event names no request
  EventData data;
};

store::Event encodeEvent(const EventRecord& record);

// An event as the API and the webhooks show it: {seq, type, at, conversationId,
// authRequestId?, data}. The webhook body is eventJson; the HTTP views use eventObject.
Poco::JSON::Object::Ptr eventObject(const store::Event& event);
std::string eventJson(const store::Event& event);

// Unix milliseconds as ISO 8601 UTC with milliseconds ("2023-11-14T22:13:20.000Z").
std::string isoTime(std::int64_t millis);

}  // namespace bcauth::service
