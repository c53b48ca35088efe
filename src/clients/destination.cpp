#include "clients/destination.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <sstream>

namespace bcauth::clients {
namespace {

using Poco::Net::IPAddress;
using Bytes = std::array<std::uint8_t, 16>;

Bytes bytesOf(const IPAddress& address) {
  Bytes bytes{};
  std::memcpy(bytes.data(), address.addr(), std::min<std::size_t>(address.length(), bytes.size()));
  return bytes;
}

bool samePrefix(const Bytes& a, const Bytes& b, unsigned bits) {
  for (unsigned i = 0; i < bits; ++i) {
    const unsigned shift = 7 - i % 8;
    if (((a[i / 8] >> shift) & 1) != ((b[i / 8] >> shift) & 1)) return false;
  }
  return true;
}

Cidr cidr(const char* network, unsigned bits) { return {IPAddress(network), bits}; }

struct Range {
  Cidr cidr;
  const char* label;
};

// RFC 6890's special-purpose ranges that must not be reachable from a URL a CSP stores.
const std::vector<Range>& ipv4Ranges() {
  static const std::vector<Range> ranges = {
      {cidr("0.0.0.0", 8), "an unspecified address"},     {cidr("127.0.0.0", 8), "a loopback address"},
      {cidr("10.0.0.0", 8), "a private address"},         {cidr("172.16.0.0", 12), "a private address"},
      {cidr("192.168.0.0", 16), "a private address"},     {cidr("169.254.0.0", 16), "a link-local address"},
      {cidr("100.64.0.0", 10), "a shared (CGNAT) address"}, {cidr("192.0.0.0", 24), "a reserved address"},
      {cidr("198.18.0.0", 15), "a reserved address"},     {cidr("224.0.0.0", 4), "a multicast address"},
      {cidr("240.0.0.0", 4), "a reserved address"},  // and the broadcast address
  };
  return ranges;
}

const std::vector<Range>& ipv6Ranges() {
  static const std::vector<Range> ranges = {
      {cidr("::", 128), "an unspecified address"}, {cidr("::1", 128), "a loopback address"},
      {cidr("fc00::", 7), "a private address"},    {cidr("fe80::", 10), "a link-local address"},
      {cidr("fec0::", 10), "a private address"},   {cidr("ff00::", 8), "a multicast address"},
  };
  return ranges;
}

// The IPv4 address an IPv6 one carries and a connection would reach: IPv4-mapped
// (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
std::optional<IPAddress> embeddedIpv4(const IPAddress& address) {
  if (address.family() != IPAddress::IPv6) return std::nullopt;
  const Bytes b = bytesOf(address);
  std::size_t offset = 16;
  if (samePrefix(b, bytesOf(IPAddress("::ffff:0:0")), 96) || samePrefix(b, bytesOf(IPAddress("::")), 96) ||
      samePrefix(b, bytesOf(IPAddress("64:ff9b::")), 96)) {
    offset = 12;
  } else if (samePrefix(b, bytesOf(IPAddress("2002::")), 16)) {
    offset = 2;
  }
  if (offset == 16) return std::nullopt;
  return IPAddress(b.data() + offset, 4);
}

std::string label(const IPAddress& address) {
  const auto& ranges = address.family() == IPAddress::IPv4 ? ipv4Ranges() : ipv6Ranges();
  for (const auto& range : ranges) {
    if (range.cidr.contains(address)) return range.label;
  }
  if (const auto v4 = embeddedIpv4(address)) return label(*v4);
  return {};
}

}  // namespace

bool Cidr::contains(const IPAddress& address) const {
  return address.family() == network.family() && samePrefix(bytesOf(address), bytesOf(network), prefixBits);
}

Result<std::vector<Cidr>> parseCidrList(const std::string& text) {
  std::string spaced = text;
  for (char& c : spaced) {
    if (c == ',') c = ' ';
  }
  std::istringstream in(spaced);
  std::vector<Cidr> out;
  for (std::string item; in >> item;) {
    const auto slash = item.find('/');
    const std::string addressText = item.substr(0, slash);
    IPAddress address;
    // inet_aton would read "10.1" as 10.0.0.1: an IPv4 network is written as a dotted quad.
    if (!IPAddress::tryParse(addressText, address) ||
        (address.family() == IPAddress::IPv4 && address.toString() != addressText)) {
      return Status::invalidArgument(item + " is not an address/prefix-length range");
    }
    const unsigned maxBits = address.family() == IPAddress::IPv4 ? 32 : 128;
    unsigned bits = maxBits;
    if (slash != std::string::npos) {
      const std::string digits = item.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(digits) > maxBits) {
        return Status::invalidArgument(item + " has an invalid prefix length");
      }
      bits = static_cast<unsigned>(std::stoul(digits));
    }
    const Cidr range{address, bits};
    for (unsigned i = bits; i < maxBits; ++i) {
      if ((bytesOf(address)[i / 8] >> (7 - i % 8)) & 1) {
        return Status::invalidArgument(item + " has address bits set beyond its prefix length");
      }
    }
    out.push_back(range);
  }
  return out;
}

std::string OutboundPolicy::refusal(const IPAddress& address) const {
  const auto v4 = embeddedIpv4(address);
  for (const auto& range : allow) {
    if (range.contains(address) || (v4 && range.contains(*v4))) return {};
  }
  const std::string what = label(address);
  if (what.empty() || (allowLoopback && what == "a loopback address")) return {};
  return "is " + what;
}

std::string refusedDestination(const IPAddress& address, const std::string& refusal) {
  return "destination address refused: " + address.toString() + " " + refusal;
}

}  // namespace bcauth::clients
