// Server settings: from a configuration file (Poco properties or INI), every key overridable
// by an environment variable; checked before anything starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Poco/Util/AbstractConfiguration.h>

#include "bcauth/status.h"
#include "clients/destination.h"

namespace bcauth::app {

struct Settings {
  std::string cspId;
  std::string appleSecret;  // decoded bytes of BCAUTH_APPLE_SECRET
  std::vector<std::string> apiKeys;
  std::string masterKey;  // Base64 of 32 bytes (from BCAUTH_MASTER_KEY or the key file)
  std::string dataDir = "data";
  std::string databaseUrl;  // libpq connection string: PostgreSQL instead of SQLite in dataDir
  std::int64_t sqliteMaxBytes = 0;  // the SQLite file's size limit; past it writes answer 503 (0: none)
  std::string publicUrl;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::size_t maxBodyBytes = 1 << 20;
  std::int64_t jwtWindowSeconds = 3600;
  std::int64_t defaultTtlSeconds = 900;
  std::int64_t sweepSeconds = 5;
  bool allowHttpLoopbackProviders = false;
  std::vector<clients::Cidr> outboundAllowCidrs;  // IdP and webhook calls may reach these ranges after all
  std::string v2MessageVersion = "1.0";
  int maxThreads = 16;            // workers for the CSP API and operations
  int appleThreads = 4;           // workers kept for Apple's POST /message
  int maxQueued = 256;            // requests waiting for a worker, per lane; more get 503
  int maxConnections = 4096;      // open connections in all; more get 503
  int maxConnectionsPerAddress = 128;  // open connections from one address (0: no cap); more get 429
  int headerTimeoutSeconds = 10;  // total time for a request head
  int bodyTimeoutSeconds = 30;    // total time for a request body after its head
  int maxHeaderBytes = 16384;     // request line and header fields together
  int idleTimeoutSeconds = 5;     // kept-alive connection without a new request
  int readTimeoutSeconds = 15;    // any single read or write on a connection
  int rateLimitPerKey = 200;      // CSP API requests per second per API key (0: off)
  int rateLimitPerKeyBurst = 400;
  int rateLimitPerConversation = 12;  // auth requests per minute per conversation (0: off)
  int rateLimitPerConversationBurst = 6;
  int keyPoolSize = 256;          // request keys generated ahead (0: none)
  int keyPoolRefillBelow = 0;     // refill when fewer are ready (0: whenever one is taken)
  int keyPoolThreads = 1;
  int eventsRecheckMs = 250;      // a waiting long-poll or stream re-reads the store this often
  std::string appleGatewayUrl = "https://mspgw.push.apple.com/v1";  // "" (none): delivery disabled
  int deliveryMaxAttempts = 6;
  std::int64_t deliveryRetryBaseMs = 1000;
  int webhookMaxAttempts = 8;
  std::int64_t webhookRetryBaseMs = 1000;
  std::string tlsCertificate;  // PEM file; with tlsPrivateKey, bcauth serves HTTPS
  std::string tlsPrivateKey;
};

// The environment variables and the configuration keys they override, for docs and --help.
struct SettingKey {
  const char* env;
  const char* key;
  const char* meaning;
};
const std::vector<SettingKey>& settingKeys();

// Copies every BCAUTH_* variable present in the environment over the configuration.
void applyEnvironment(Poco::Util::AbstractConfiguration& config);

// The master key (Base64) is 32 bytes and not all of them equal; the Status names setting.
Status checkMasterKey(const std::string& base64, const std::string& setting);

// Reads and checks everything; the Status names the setting at fault.
Result<Settings> loadSettings(const Poco::Util::AbstractConfiguration& config);

}  // namespace bcauth::app
