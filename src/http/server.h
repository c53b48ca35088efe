// bcauth's HTTP surface on Poco's HTTPServer: the CSP API, Apple's /message webhook and the
// operations endpoints. Handlers are thin: parse, call the service, map the result.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Poco/Net/ServerSocket.h>

#include "bcauth/defaults.h"
#include "http/metrics.h"
#include "service/auth_service.h"

namespace bcauth::http {

struct HttpConfig {
  std::vector<std::string> apiKeys;  // Bearer keys for the CSP API
  std::string cspId;                 // expected JWT aud on /message
  std::string appleSecret;           // the Base64-decoded Messaging API secret (raw bytes)
  std::int64_t jwtWindowSeconds = defaults::kJwtWindowSeconds;  // accepted |now − iat|
  std::size_t maxBodyBytes = defaults::kMaxBodyBytes;  // larger bodies (compressed or not) → 413
  int maxThreads = defaults::kMaxThreads;              // workers for everything but Apple's POST /message
  int appleThreads = defaults::kAppleThreads;          // workers kept for Apple's POST /message alone
  int maxQueued = defaults::kMaxQueued;                // requests (head arrived) waiting for a worker, per lane
  int maxConnections = defaults::kMaxConnections;      // open connections in all; more are refused (503)
  // Open connections from one client address (429 beyond).
  int maxConnectionsPerAddress = defaults::kMaxConnectionsPerAddress;
  int headerTimeoutSeconds = defaults::kHeaderTimeoutSeconds;  // a request head must be whole this long after it began
  int bodyTimeoutSeconds = defaults::kBodyTimeoutSeconds;      // a request body must be whole this long after its head
  std::size_t maxHeaderBytes = defaults::kMaxHeaderBytes;      // request line and header fields together
  int idleTimeoutSeconds = defaults::kIdleTimeoutSeconds;      // a kept-alive connection with no new request is closed
  int readTimeoutSeconds = defaults::kReadTimeoutSeconds;      // longest wait for any single read or write
  // The rate limits are off in a config built in code (tests); the server's settings turn them
  // on (defaults::kRateLimitPerKey, …).
  double apiKeyRatePerSecond = 0;        // CSP API requests per API key (0: no limit) ...
  double apiKeyBurst = 0;                // ... with bursts up to this many
  double conversationRatePerMinute = 0;  // auth requests created per conversation (0: no limit) ...
  double conversationBurst = 0;          // ... with bursts up to this many
};

// Method and path pattern of every route, for the OpenAPI coverage test.
std::vector<std::pair<std::string, std::string>> registeredRoutes();

class Listener;
class Lane;

class Server {
 public:
  Server(service::AuthService& service, HttpConfig config, const Poco::Net::ServerSocket& socket);
  ~Server();
  void start();
  // Stops accepting, lets in-flight requests finish (up to a grace period), then returns.
  void stop();
  std::uint16_t port() const { return port_; }
  Metrics& metrics() { return *metrics_; }

 private:
  struct Parts;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Parts> parts_;  // the listener, the lanes and what their workers share
  std::uint16_t port_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace bcauth::http
