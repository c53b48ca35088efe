// The authenticate interactive message of Apple Messages for Business, as value types.
//   Outbound: AuthenticateRequest → AuthenticateMessage::create() → the JSON for /v1/authenticate.
//   Inbound:  parseInbound(body) → InboundMessage, with .authenticate set for replies.
// Pure: no I/O, no HTTP, no storage. Field names are the protocol's own.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <Poco/JSON/Object.h>

#include "bcauth/status.h"

namespace bcauth::protocol {

// Apple's built-in business extension; the device shows nothing for any other value.
inline constexpr std::string_view kBusinessExtensionBid =
    "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension";

// Legacy: the device exchanges the code and returns the token encrypted (capability AUTH).
// V2: iOS 16+; bcauth's redirect endpoint exchanges the code (capability AUTH2).
enum class Flow { kLegacy, kV2 };
std::string_view toString(Flow flow);
std::optional<Flow> parseFlow(std::string_view text);  // "legacy" | "v2"
inline std::ostream& operator<<(std::ostream& out, Flow flow) { return out << toString(flow); }

// receivedMessage / replyMessage (BCMessageInfo).
struct MessageInfo {
  std::string title;
  std::optional<std::string> subtitle;
  std::optional<std::string> style;  // "icon" (default) | "small" | "large"
  std::optional<std::string> imageIdentifier;
  std::optional<std::string> imageDescription;
  std::optional<std::string> alternateTitle;
};

struct Image {
  std::string identifier;
  std::string data;  // standard Base64 of a PNG or JPEG
  std::optional<std::string> description;
};

// authenticate.oauth2 for the legacy flow (spec §3.1).
struct LegacyOAuth2 {
  std::string responseType = "code";  // "code" | "token"
  std::vector<std::string> scope;
  std::string responseEncryptionKey;  // Base64 of the request's 97-byte P-384 point
  std::optional<std::string> state;
  std::optional<std::string> clientSecret;  // a secret: the device sends it to the token URL
};

// authenticate.oauth2 for the iOS 16+ flow (spec §3.2).
struct RedirectOAuth2 {
  std::string responseType = "code";
  std::vector<std::string> scope;
  std::string state;
  std::string redirectURI;
  std::optional<std::string> additionalParameters;  // query string without '?', e.g. PKCE
};

struct AuthenticateRequest {
  std::string id;             // message UUID; also the `id` header
  std::string sourceId;       // the business id
  std::string destinationId;  // the customer's opaque id, passed verbatim
  std::optional<std::string> locale;
  std::string version = "1.0";  // data.version; the device reads it as an integer ("1.0" → 1)
  std::string requestIdentifier;
  std::vector<Image> images;
  MessageInfo receivedMessage;
  MessageInfo replyMessage;
  std::optional<std::string> sessionIdentifier;
  std::variant<LegacyOAuth2, RedirectOAuth2> oauth2;

  Flow flow() const { return std::holds_alternative<LegacyOAuth2>(oauth2) ? Flow::kLegacy : Flow::kV2; }
};

// An authenticate message that the device will accept: it can only be made by create(),
// which refuses everything spec §3.3 lists, and more (see docs/protocol.md).
class AuthenticateMessage {
 public:
  static Result<AuthenticateMessage> create(AuthenticateRequest request);

  const AuthenticateRequest& request() const { return request_; }
  // The exact body for POST /v1/authenticate.
  Poco::JSON::Object::Ptr toJson() const;
  std::string toJsonString(bool pretty = false) const;
  // The same, compact, with a legacy clientSecret shown as "[redacted]": the message as stored
  // and read back through the API (the secret goes to Apple only).
  std::string toRedactedJsonString() const;

 private:
  explicit AuthenticateMessage(AuthenticateRequest request) : request_(std::move(request)) {}
  std::string render(bool redacted) const;
  AuthenticateRequest request_;
};

// The checks create() applies, for callers that want the Status alone.
Status validate(const AuthenticateRequest& request);

// --- Inbound ------------------------------------------------------------------

// One entry of authenticate.errors[] (AuthenticateResponseErrorCodes).
struct DeviceError {
  std::int64_t code = 0;
  std::string domain;
  std::string message;
};

// interactiveData.data.authenticate of a reply (spec §4).
struct AuthenticateReply {
  std::string requestIdentifier;
  std::optional<std::string> version;
  std::optional<std::string> sessionIdentifier;
  std::optional<MessageInfo> receivedMessage;  // found inside data or beside it
  std::optional<MessageInfo> replyMessage;
  std::string status;  // as sent: authenticated|failed|unknown (legacy), success|failure|cancel (v2)
  Flow flow = Flow::kLegacy;  // inferred from the status vocabulary
  std::optional<std::string> token;  // legacy: Base64 of the ECIES blob
  std::vector<DeviceError> errors;
  std::optional<std::int64_t> errorCode;  // v2: error_code from the messages-auth: URL
};

// Sent instead of interactiveData when that is larger than 10 KB; bcauth reports it.
struct InteractiveDataRef {
  std::optional<std::string> url;
  std::optional<std::string> bid;
  std::optional<std::int64_t> size;
};

struct InboundMessage {
  std::string id;
  std::string type;  // text, interactive, typing_start, typing_end, close, …
  std::optional<std::int64_t> v;
  std::string sourceId;       // the customer's opaque id
  std::string destinationId;  // the business id
  std::optional<std::string> locale;
  std::optional<std::string> body;
  std::optional<std::string> intent;
  std::optional<std::string> group;
  std::optional<AuthenticateReply> authenticate;
  std::optional<InteractiveDataRef> interactiveDataRef;
  Poco::JSON::Object::Ptr json;  // the whole payload: unknown fields are kept here
};

// Parses any inbound message body (already gunzipped). Unknown fields are kept; a missing or
// mistyped required field is an InvalidArgument whose field() is its dotted path.
Result<InboundMessage> parseInbound(std::string_view body);

// The capability-list header: comma-separated, case-insensitive → upper-case tokens.
std::vector<std::string> parseCapabilityList(std::string_view header);
bool hasCapability(const std::vector<std::string>& capabilities, std::string_view capability);

}  // namespace bcauth::protocol
