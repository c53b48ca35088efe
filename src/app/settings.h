// Server settings: from a configuration file (Poco properties or INI), every key overridable
// by an environment variable; checked before anything starts.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Poco/Util/AbstractConfiguration.h>

#include "bcauth/defaults.h"
#include "bcauth/status.h"
#include "clients/destination.h"

namespace bcauth::app {

// What the server runs with. Every member is one declared setting (the table in settings.cpp:
// its variable, key, bounds and help); defaults come from bcauth/defaults.h.
struct Settings {
  std::string cspId;
  std::string appleSecret;  // decoded bytes of BCAUTH_APPLE_SECRET
  std::vector<std::string> apiKeys;
  std::string masterKey;  // Base64 of 32 bytes (from BCAUTH_MASTER_KEY or the key file)
  std::string dataDir = defaults::kDataDir;
  std::string databaseUrl;  // libpq connection string: PostgreSQL instead of SQLite in dataDir
  std::int64_t sqliteMaxBytes = defaults::kSqliteMaxBytes;  // past it writes answer 503 (0: none)
  std::string publicUrl;
  std::string host = defaults::kHost;
  int port = defaults::kPort;
  std::size_t maxBodyBytes = defaults::kMaxBodyBytes;
  std::int64_t jwtWindowSeconds = defaults::kJwtWindowSeconds;
  std::int64_t defaultTtlSeconds = defaults::kDefaultTtlSeconds;
  std::int64_t sweepSeconds = defaults::kSweepSeconds;
  bool allowHttpLoopbackProviders = false;
  std::vector<clients::Cidr> outboundAllowCidrs;  // IdP and webhook calls may reach these ranges after all
  std::string v2MessageVersion = defaults::kV2MessageVersion;
  int maxThreads = defaults::kMaxThreads;      // workers for the CSP API and operations
  int appleThreads = defaults::kAppleThreads;  // workers kept for Apple's POST /message
  int maxQueued = defaults::kMaxQueued;        // requests waiting for a worker, per lane; more get 503
  int maxConnections = defaults::kMaxConnections;                      // open connections in all; more get 503
  int maxConnectionsPerAddress = defaults::kMaxConnectionsPerAddress;  // from one address (0: no cap); 429
  int headerTimeoutSeconds = defaults::kHeaderTimeoutSeconds;  // total time for a request head
  int bodyTimeoutSeconds = defaults::kBodyTimeoutSeconds;      // total time for a request body after its head
  int maxHeaderBytes = defaults::kMaxHeaderBytes;              // request line and header fields together
  int idleTimeoutSeconds = defaults::kIdleTimeoutSeconds;      // kept-alive connection without a new request
  int readTimeoutSeconds = defaults::kReadTimeoutSeconds;      // any single read or write on a connection
  int rateLimitPerKey = defaults::kRateLimitPerKey;  // CSP API requests per second per API key (0: off)
  int rateLimitPerKeyBurst = defaults::kRateLimitPerKeyBurst;
  int rateLimitPerConversation = defaults::kRateLimitPerConversation;  // per minute per conversation (0: off)
  int rateLimitPerConversationBurst = defaults::kRateLimitPerConversationBurst;
  int keyPoolSize = defaults::kKeyPoolSize;                // request keys generated ahead (0: none)
  int keyPoolRefillBelow = defaults::kKeyPoolRefillBelow;  // refill when fewer are ready (0: whenever one is taken)
  int keyPoolThreads = defaults::kKeyPoolThreads;
  int eventsRecheckMs = defaults::kEventsRecheckMs;  // a waiting long-poll or stream re-reads the store this often
  std::string appleGatewayUrl = defaults::kAppleGatewayUrl;  // "" (none): delivery disabled
  int deliveryMaxAttempts = defaults::kDeliveryMaxAttempts;
  std::int64_t deliveryRetryBaseMs = defaults::kDeliveryRetryBaseMs;
  int webhookMaxAttempts = defaults::kWebhookMaxAttempts;
  std::int64_t webhookRetryBaseMs = defaults::kWebhookRetryBaseMs;
  std::string tlsCertificate;  // PEM file; with tlsPrivateKey, bcauth serves HTTPS
  std::string tlsPrivateKey;
};

// One declared setting as the operator sees it: `bcauth serve --help`, the docs' checks.
struct SettingKey {
  const char* env;      // BCAUTH_…
  const char* key;      // bcauth.… in a configuration file
  const char* meaning;  // what it does; the default and bounds are shown from the fields below
  std::string defaultText;  // the default as an operator would write it; "" when there is none
  bool integer = false;     // an integer within [min, max]
  std::int64_t min = 0;
  std::int64_t max = 0;
  // The setting's value in a Settings as an operator would write it ("" for one its own rule
  // reads: a secret, a list).
  std::function<std::string(const Settings&)> value;
  std::string help() const;  // meaning, default and bounds: the line of --help
};
// Every setting, in the order they are read and checked.
const std::vector<SettingKey>& settingKeys();

// Copies every BCAUTH_* variable present in the environment over the configuration.
void applyEnvironment(Poco::Util::AbstractConfiguration& config);

// The master key (Base64) is 32 bytes and not all of them equal; the Status names setting.
Status checkMasterKey(const std::string& base64, const std::string& setting);

// Reads and checks everything; the Status names the setting at fault.
Result<Settings> loadSettings(const Poco::Util::AbstractConfiguration& config);

}  // namespace bcauth::app
