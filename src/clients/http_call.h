// One outbound HTTP(S) request with a timeout, for the clients layer.
#pragma once

#include <map>
#include <string>

#include "clients/destination.h"

namespace bcauth::clients {

struct HttpAnswer {
  bool reached = false;  // false: refused, connection, TLS or timeout failure (see error)
  bool refused = false;  // bcauth would not send it: the URL, a header or the destination address
  int status = 0;
  std::string body;
  std::string error;
  std::map<std::string, std::string> headers;
};

// Percent-encodes everything but RFC 3986 unreserved characters: for form bodies and queries.
std::string urlEncode(const std::string& value);

// The URL is read by parseOutboundUrl (a URL it refuses is not sent: stored values are checked
// again here), the host is resolved once, and the connection goes to that resolved address
// while TLS (SNI, certificate) and the Host header keep the URL's host name: a second lookup
// cannot answer differently (DNS rebinding). With a policy, every resolved address must pass
// it; without one (operator-configured URLs such as Apple's gateway), any address may.
// Header names and values with CR, LF or NUL are refused.
HttpAnswer httpCall(const std::string& method, const std::string& url, const std::map<std::string, std::string>& headers,
                    const std::string& body, int timeoutSeconds, const OutboundPolicy* policy = nullptr);

}  // namespace bcauth::clients
