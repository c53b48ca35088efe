// The one reading of a URL bcauth will call (an IdP's, a webhook's): checked when it is stored
// and again when it is sent, so a stored value can never smuggle bytes into a request line or a
// header (docs/security.md, "Outbound URLs").
#pragma once

#include <cstdint>
#include <string>

#include "bcauth/status.h"

namespace bcauth::clients {

struct OutboundUrl {
  std::string scheme;     // "http" or "https", lower case
  std::string host;       // lower case; an IPv6 literal without its brackets
  std::string authority;  // host[:port] as written: the Host header
  std::uint16_t port = 0;
  std::string target;     // the request target as written: path and query, never empty
  bool hostIsAddress = false;  // an IPv4 dotted quad or a bracketed IPv6 literal
};

// Parses an absolute http(s) URL with Poco::URI and refuses what a request must not carry or
// what another parser could read differently: bytes outside RFC 3986's character set (control
// characters, whitespace, non-ASCII, "<>\^`{|}), malformed %-escapes, user-info, a fragment, an
// empty or out-of-range port, and any IPv4 notation but the canonical dotted quad (0x7f000001,
// 2130706433, 0177.0.0.1, 127.1 all reach 127.0.0.1 through inet_aton). The Status has no
// field: the caller names it.
Result<OutboundUrl> parseOutboundUrl(const std::string& url);

}  // namespace bcauth::clients
