#include "clients/outbound_url.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/String.h>
#include <Poco/URI.h>

namespace bcauth::clients {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool allOf(std::string_view text, bool (*pred)(char)) {
  for (char c : text) {
    if (!pred(c)) return false;
  }
  return true;
}

// RFC 3986 §2: unreserved and reserved characters, and '%' for escapes. Anything else in a
// URL ("<>\^`{|} and bytes outside printable ASCII) is read differently by different parsers.
bool isUriChar(char c) {
  return isAlpha(c) || isDigit(c) || std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// WHATWG URL (what browsers and many HTTP libraries follow) reads a host whose last label is a
// number as IPv4, in decimal, octal or hex, with one to four parts; inet_aton does the same.
// Only the canonical dotted quad is accepted, so every parser agrees on the address.
Status checkIpv4Notation(std::string_view host, bool& isAddress) {
  auto labels = split(host, '.');
  if (!labels.empty() && labels.back().empty()) labels.pop_back();  // "example.com." is a name
  if (labels.empty()) return Status::ok();
  const std::string_view last = labels.back();
  const bool hexLast = last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') &&
                       allOf(last.substr(2), isHex);
  if (!hexLast && !allOf(last, isDigit)) return Status::ok();
  bool canonical = labels.size() == 4 && host.back() != '.';
  for (const auto label : labels) {
    canonical = canonical && !label.empty() && label.size() <= 3 && allOf(label, isDigit) &&
                (label.size() == 1 || label[0] != '0') && std::stoi(std::string(label)) <= 255;
  }
  if (!canonical) return Status::invalidArgument("uses an IPv4 notation other than the dotted quad a.b.c.d");
  isAddress = true;
  return Status::ok();
}

Status checkHostName(std::string_view host) {
  if (host.empty()) return Status::invalidArgument("has no host");
  if (host.size() > 253) return Status::invalidArgument("has a host name longer than 253 characters");
  auto labels = split(host, '.');
  if (labels.size() > 1 && labels.back().empty()) labels.pop_back();
  for (const auto label : labels) {
    const bool ok = !label.empty() && label.size() <= 63 &&
                    allOf(label, [](char c) { return isAlpha(c) || isDigit(c) || c == '-' || c == '_'; });
    if (!ok) return Status::invalidArgument("has an invalid host name (letters, digits, '-' and '.' only)");
  }
  return Status::ok();
}

Status checkCharacters(const std::string& url) {
  for (std::size_t i = 0; i < url.size(); ++i) {
    const char c = url[i];
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return Status::invalidArgument("must not contain control characters, whitespace or non-ASCII bytes "
                                     "(percent-encode them)");
    }
    if (!isUriChar(c)) return Status::invalidArgument(std::string("must not contain '") + c + "' (percent-encode it)");
    if (c == '%' && (i + 2 >= url.size() || !isHex(url[i + 1]) || !isHex(url[i + 2]))) {
      return Status::invalidArgument("has a malformed %-escape");
    }
  }
  if (url.find('#') != std::string::npos) return Status::invalidArgument("must not have a fragment (#…)");
  return Status::ok();
}

// host[:port] of the authority; IPv6 literals in brackets.
Status splitAuthority(std::string_view authority, OutboundUrl& out) {
  if (authority.find('@') != std::string_view::npos) {
    return Status::invalidArgument("must not contain user-info (user:password@)");
  }
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    const std::string literal(authority.substr(1, close == std::string_view::npos ? 0 : close - 1));
    Poco::Net::IPAddress address;
    if (close == std::string_view::npos || literal.find('%') != std::string::npos ||
        !Poco::Net::IPAddress::tryParse(literal, address) || address.family() != Poco::Net::IPAddress::IPv6) {
      return Status::invalidArgument("has an invalid IPv6 literal");
    }
    out.host = Poco::toLower(literal);
    out.hostIsAddress = true;
    rest = authority.substr(close + 1);
  } else {
    const auto colon = authority.find(':');
    out.host = Poco::toLower(std::string(authority.substr(0, colon)));
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    if (auto s = checkHostName(out.host); !s) return s;
    if (auto s = checkIpv4Notation(out.host, out.hostIsAddress); !s) return s;
  }
  out.port = out.scheme == "https" ? 443 : 80;
  if (!rest.empty()) {
    const auto digits = rest.substr(1);
    if (rest.front() != ':' || digits.empty() || digits.size() > 5 || !allOf(digits, isDigit) ||
        std::stoi(std::string(digits)) < 1 || std::stoi(std::string(digits)) > 65535) {
      return Status::invalidArgument("has an invalid port");
    }
    out.port = static_cast<std::uint16_t>(std::stoi(std::string(digits)));
  }
  return Status::ok();
}

}  // namespace

Result<OutboundUrl> parseOutboundUrl(const std::string& url) {
  if (auto s = checkCharacters(url); !s) return s;
  const auto schemeEnd = url.find("://");
  OutboundUrl out;
  out.scheme = Poco::toLower(url.substr(0, schemeEnd == std::string::npos ? 0 : schemeEnd));
  if (schemeEnd == std::string::npos || (out.scheme != "http" && out.scheme != "https")) {
    return Status::invalidArgument("must be an absolute http(s) URL");
  }
  const auto authorityStart = schemeEnd + 3;
  const auto authorityEnd = std::min(url.find_first_of("/?", authorityStart), url.size());
  out.authority = url.substr(authorityStart, authorityEnd - authorityStart);
  if (auto s = splitAuthority(out.authority, out); !s) return s;
  // The path is sent as written: Poco::URI decodes %2F on parsing, which would split an
  // encoded opaque id into two path segments.
  out.target = url.substr(authorityEnd);
  if (out.target.empty() || out.target.front() == '?') out.target = "/" + out.target;
  // Poco::URI must read the same URL: no parser differential between the check and the send.
  try {
    const Poco::URI uri(url);
    if (Poco::toLower(uri.getScheme()) != out.scheme || Poco::toLower(uri.getHost()) != out.host ||
        uri.getPort() != out.port || !uri.getUserInfo().empty() || !uri.getFragment().empty()) {
      return Status::invalidArgument("is not a URL every parser reads the same way");
    }
  } catch (const Poco::Exception&) {
    return Status::invalidArgument("is not a valid URL");
  }
  return out;
}

}  // namespace bcauth::clients
