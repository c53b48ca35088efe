// Which addresses bcauth's outbound calls to IdPs and webhooks may connect to: none inside the
// operator's own network (loopback, private, link-local, CGNAT, unspecified, multicast,
// reserved, and those same ranges inside IPv4-mapped and NAT64 IPv6 forms), unless an
// operator range (BCAUTH_OUTBOUND_ALLOW_CIDRS) or the loopback development switch opens it.
#pragma once

#include <string>
#include <vector>

#include <Poco/Net/IPAddress.h>

#include "bcauth/status.h"

namespace bcauth::clients {

struct Cidr {
  Poco::Net::IPAddress network;
  unsigned prefixBits = 0;
  bool contains(const Poco::Net::IPAddress& address) const;
};

// "10.0.0.0/8, fd00::/8" (comma or whitespace separated; a bare address is a /32 or /128).
// Bits set below the prefix ("10.0.0.1/8") are refused: they usually mean a typo.
Result<std::vector<Cidr>> parseCidrList(const std::string& text);

struct OutboundPolicy {
  bool allowLoopback = false;  // BCAUTH_ALLOW_HTTP_LOOPBACK_PROVIDERS: tests and the demo
  std::vector<Cidr> allow;     // BCAUTH_OUTBOUND_ALLOW_CIDRS

  // Empty when the address may be connected to; else why not, as "is a private address".
  std::string refusal(const Poco::Net::IPAddress& address) const;
};

// "destination address refused: 10.0.0.1 is a private address": the reason an event or a
// dead letter carries.
std::string refusedDestination(const Poco::Net::IPAddress& address, const std::string& refusal);

}  // namespace bcauth::clients
