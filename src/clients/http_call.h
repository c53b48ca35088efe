// One outbound HTTP(S) request with a timeout, for the clients layer.
#pragma once

#include <map>
#include <string>

namespace bcauth::clients {

struct HttpAnswer {
  bool reached = false;  // false: connection, TLS or timeout failure (see error)
  int status = 0;
  std::string body;
  std::string error;
  std::map<std::string, std::string> headers;
};

// Percent-encodes everything but RFC 3986 unreserved characters: for form bodies and queries.
std::string urlEncode(const std::string& value);

HttpAnswer httpCall(const std::string& method, const std::string& url, const std::map<std::string, std::string>& headers,
                    const std::string& body, int timeoutSeconds);

}  // namespace bcauth::clients
