// What a reply means for the CSP: the device-error catalogue of DESIGN.md kept as data, and
// the mapping of every reply to the chat event an agent desk or bot acts on.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <Poco/JSON/Object.h>

#include "bcauth/protocol.h"

namespace bcauth::protocol {

// Domains the device reports errors in (spec §5).
inline constexpr std::string_view kCryptorDomain = "com.apple.icloud.messages.business.cryptor";
inline constexpr std::string_view kAuthenticationDomain = "com.apple.icloud.messages.business.authentication.error";
inline constexpr std::string_view kUrlErrorDomain = "NSURLErrorDomain";
// v2: the error_code bcauth itself puts on the messages-auth: URL comes back in this domain.
inline constexpr std::string_view kRedirectDomain = "com.apple.messages.business.oauth2";

// Reasons carried by auth.failed.
namespace reason {
inline constexpr std::string_view kConfigurationError = "configuration_error";
inline constexpr std::string_view kDeviceError = "device_error";
inline constexpr std::string_view kProviderError = "provider_error";
inline constexpr std::string_view kServerDecryptError = "server_decrypt_error";
inline constexpr std::string_view kUnknown = "unknown";
}  // namespace reason

namespace event {
inline constexpr std::string_view kSucceeded = "auth.succeeded";
inline constexpr std::string_view kFailed = "auth.failed";
inline constexpr std::string_view kCancelled = "auth.cancelled";
inline constexpr std::string_view kMessageReceived = "message.received";
}  // namespace event

// One row of the catalogue. An absent code matches every code of the domain.
struct DeviceErrorRule {
  std::string_view domain;
  std::optional<std::int64_t> code;
  std::string_view reason;
  bool retryable;
  bool alertOps;
  std::string_view agentMessage;
  std::string_view customerMessage;
};

// The codes bcauth's redirect endpoint sends as messages-auth://?status=failure&error_code=N
// (documented in docs/redirect-error-codes.md). They return in kRedirectDomain.
struct RedirectErrorCode {
  std::int64_t code;
  std::string_view name;
  bool retryable;
  bool alertOps;
  std::string_view agentMessage;
  std::string_view customerMessage;
};

namespace redirect_error {
inline constexpr std::int64_t kStateInvalid = 1;
inline constexpr std::int64_t kProviderDenied = 2;
inline constexpr std::int64_t kTokenExchangeFailed = 3;
inline constexpr std::int64_t kTokenResponseInvalid = 4;
inline constexpr std::int64_t kMissingCode = 5;
inline constexpr std::int64_t kRequestNotPending = 6;
inline constexpr std::int64_t kInternalError = 7;
}  // namespace redirect_error

std::span<const DeviceErrorRule> deviceErrorCatalogue();
std::span<const RedirectErrorCode> redirectErrorCodes();
const RedirectErrorCode* findRedirectErrorCode(std::int64_t code);

struct Outcome {
  std::string eventType;  // auth.succeeded | auth.failed | auth.cancelled | message.received
  std::optional<Flow> flow;
  std::string reason;  // auth.failed only
  std::optional<DeviceError> deviceError;
  std::string agentMessage;
  std::string customerMessage;
  bool retryable = false;
  bool alertOps = false;
  std::string cancelledBy;  // auth.cancelled: "customer" | "agent"
  std::string messageType;  // message.received: the inbound message's type
  bool interactiveDataRef = false;  // message.received: the payload came as a reference

  // The event's data object (no secrets ever reach it).
  Poco::JSON::Object::Ptr toJson() const;
};

// The outcome of one device error. Unknown (domain, code) pairs keep their raw values.
Outcome outcomeForDeviceError(const DeviceError& error);

// The outcome of a sign-in that worked (e.g. a legacy success recorded once its profile is in).
Outcome outcomeForSuccess(Flow flow);

// The outcome of a reply. For a legacy `authenticated` reply the caller decrypts the token
// first and passes whether that worked: the protocol layer holds no keys.
Outcome outcomeForReply(const AuthenticateReply& reply, bool tokenDecrypted);

// The outcome of a whole inbound message: replies as above, anything else message.received.
Outcome outcomeForMessage(const InboundMessage& message, bool tokenDecrypted);

}  // namespace bcauth::protocol
