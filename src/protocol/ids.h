// The one set of rules for ids that enter bcauth (docs/security.md, "Input bounds"): every entry
// point — the CSP API's paths, bodies and headers, and Apple's inbound messages — checks its ids
// here, so an id that is stored can always be named again in a URL and read back.
// Pure functions: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "bcauth/status.h"

namespace bcauth::protocol::ids {

// A kind of id: its longest length (bytes; every allowed character is one byte) and the
// characters it may hold besides ASCII letters and digits. "." and ".." are refused whatever
// the characters allow (they name a path's own directory or its parent).
struct Rule {
  std::size_t maxLength;
  std::string_view punctuation;
};

// Apple's opaque ids (conversation: urn:mbid:<Base64>, business: a UUID) and Apple message ids:
// Base64 needs + / =, a URN needs :.
inline constexpr Rule kOpaqueId{256, "-._~:+/=@"};
// bcauth's own resource ids chosen by the CSP (providers, webhooks) and the auth-request ids
// bcauth issues: URL-unreserved characters, so they sit in a path as they are.
inline constexpr Rule kResourceId{128, "-._~"};
// Idempotency-Key: any visible ASCII character (an HTTP header value, no spaces).
inline constexpr Rule kIdempotencyKey{200, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"};

// Ok, or invalid_argument naming `field` and saying what the rule allows.
Status check(std::string_view value, const Rule& rule, const std::string& field);

inline Status checkConversationId(std::string_view value, const std::string& field = "conversationId") {
  return check(value, kOpaqueId, field);
}
inline Status checkBusinessId(std::string_view value, const std::string& field = "businessId") {
  return check(value, kOpaqueId, field);
}
inline Status checkAppleMessageId(std::string_view value, const std::string& field = "id") {
  return check(value, kOpaqueId, field);
}
inline Status checkProviderId(std::string_view value, const std::string& field = "providerId") {
  return check(value, kResourceId, field);
}
inline Status checkWebhookId(std::string_view value) { return check(value, kResourceId, "webhookId"); }
inline Status checkAuthRequestId(std::string_view value) { return check(value, kResourceId, "authRequestId"); }
inline Status checkIdempotencyKey(std::string_view value) { return check(value, kIdempotencyKey, "Idempotency-Key"); }

}  // namespace bcauth::protocol::ids
