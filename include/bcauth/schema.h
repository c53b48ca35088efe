// JSON Schema validation of payloads against the schemas in schemas/ (compiled into bcauth).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <Poco/Dynamic/Var.h>

namespace bcauth::protocol {

enum class SchemaKind {
  kAuthenticateRequest,  // outbound, both flows
  kAuthenticateReply,    // inbound authenticate reply, both flows
  kInboundMessage,       // any inbound message envelope
};

std::string_view schemaName(SchemaKind kind);  // "authenticate-request", …
inline std::ostream& operator<<(std::ostream& out, SchemaKind kind) { return out << schemaName(kind); }
std::optional<SchemaKind> schemaKindFromName(std::string_view name);
std::string_view schemaText(SchemaKind kind);  // the JSON Schema document itself

// Which schema a payload is meant for: authenticate.oauth2 → request; authenticate without
// oauth2 → reply; anything else → inbound message.
SchemaKind detectSchema(const Poco::Dynamic::Var& payload);

struct SchemaViolation {
  std::string pointer;  // RFC 6901 JSON pointer of the offending value ("" = the root)
  std::string message;
};

// Every violation valijson reports, deepest first. Empty means valid.
std::vector<SchemaViolation> validateSchema(SchemaKind kind, const Poco::Dynamic::Var& payload);

}  // namespace bcauth::protocol
