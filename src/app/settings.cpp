#include "app/settings.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

#include <Poco/Environment.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include "bcauth/base64.h"
#include "bcauth/seal.h"

namespace bcauth::app {
namespace {

// Below this, not even the schema fits: the store would refuse every write from the start.
constexpr std::int64_t kMinSqliteMaxBytes = 256 * 1024;

Result<std::int64_t> integer(const Poco::Util::AbstractConfiguration& config, const std::string& key,
                             std::int64_t fallback, std::int64_t min, std::int64_t max, const std::string& env) {
  if (!config.has(key)) return fallback;
  Poco::Int64 value = 0;
  if (!Poco::NumberParser::tryParse64(Poco::trim(config.getRawString(key)), value) || value < min || value > max) {
    return Status::invalidArgument("must be an integer from " + std::to_string(min) + " to " + std::to_string(max), env);
  }
  return value;
}

}  // namespace

Status checkMasterKey(const std::string& base64, const std::string& setting) {
  const auto sealer = crypto::Sealer::fromBase64Key(base64);
  if (!sealer) return Status::invalidArgument(sealer.status().message(), setting);
  // 32 equal bytes (all zero, a 0xAA… placeholder) are a key someone typed, not a random one:
  // anyone could guess it and open every sealed secret.
  const auto bytes = crypto::base64DecodeSecret(base64);
  if (std::adjacent_find(bytes->begin(), bytes->end(), std::not_equal_to<>()) == bytes->end()) {
    return Status::invalidArgument("has all 32 bytes equal: not a random key; make one with `openssl rand -base64 32`",
                                   setting);
  }
  return Status::ok();
}

const std::vector<SettingKey>& settingKeys() {
  static const std::vector<SettingKey> keys = {
      {"BCAUTH_CSP_ID", "bcauth.cspId", "your CSP (MSP) id from Apple; the aud of Apple's JWTs (required)"},
      {"BCAUTH_APPLE_SECRET", "bcauth.appleSecret", "the Messaging API secret, Base64 as Apple issues it (required)"},
      {"BCAUTH_API_KEYS", "bcauth.apiKeys", "comma-separated API keys for the CSP API (required)"},
      {"BCAUTH_MASTER_KEY", "bcauth.masterKey", "Base64 of 32 random bytes sealing secrets at rest"},
      {"BCAUTH_MASTER_KEY_FILE", "bcauth.masterKeyFile", "a file holding the master key (instead of BCAUTH_MASTER_KEY)"},
      {"BCAUTH_DATA_DIR", "bcauth.dataDir", "where the SQLite store lives (default ./data)"},
      {"BCAUTH_DATABASE_URL", "bcauth.databaseUrl",
       "PostgreSQL connection string (host=… port=… dbname=… user=… password=…); unset: SQLite in the data dir"},
      {"BCAUTH_SQLITE_MAX_BYTES", "bcauth.sqliteMaxBytes",
       "largest size of the SQLite database file; past it writes answer 503 as on a full disk (default 0: no limit)"},
      {"BCAUTH_PUBLIC_URL", "bcauth.publicUrl", "bcauth's public https base URL; needed by the v2 flow"},
      {"BCAUTH_HOST", "bcauth.host", "address to listen on (default 127.0.0.1)"},
      {"BCAUTH_PORT", "bcauth.port", "port to listen on (default 8080; 0 picks a free one)"},
      {"BCAUTH_MAX_BODY_BYTES", "bcauth.maxBodyBytes", "largest accepted body, compressed or not (default 1048576)"},
      {"BCAUTH_JWT_WINDOW_SECONDS", "bcauth.jwtWindowSeconds", "accepted distance of a JWT's iat from now (default 3600)"},
      {"BCAUTH_DEFAULT_TTL_SECONDS", "bcauth.defaultTtlSeconds", "request lifetime when ttlSeconds is not given (default 900)"},
      {"BCAUTH_SWEEP_SECONDS", "bcauth.sweepSeconds", "how often expired requests are swept (default 5)"},
      {"BCAUTH_ALLOW_HTTP_LOOPBACK_PROVIDERS", "bcauth.allowHttpLoopbackProviders",
       "true lets provider and webhook URLs use http:// on 127.0.0.1/localhost and reach loopback (development only)"},
      {"BCAUTH_OUTBOUND_ALLOW_CIDRS", "bcauth.outboundAllowCidrs",
       "comma-separated ranges (10.1.2.0/24, fd00:1::/48) IdP and webhook calls may reach although private (default none)"},
      {"BCAUTH_V2_MESSAGE_VERSION", "bcauth.v2MessageVersion", "data.version of v2 messages (default 1.0, spec §3.6)"},
      {"BCAUTH_MAX_THREADS", "bcauth.maxThreads", "HTTP workers for the CSP API and operations (default 16)"},
      {"BCAUTH_APPLE_THREADS", "bcauth.appleThreads",
       "HTTP workers kept for Apple's POST /message alone, so API traffic cannot starve it (default 4)"},
      {"BCAUTH_MAX_QUEUED", "bcauth.maxQueued",
       "requests (head received) waiting for a worker, per lane (default 256); more get 503"},
      {"BCAUTH_MAX_CONNECTIONS", "bcauth.maxConnections", "open client connections in all (default 4096); more get 503"},
      {"BCAUTH_MAX_CONNECTIONS_PER_ADDRESS", "bcauth.maxConnectionsPerAddress",
       "open connections from one client address (default 128; 0: no cap); more get 429. Raise it behind a proxy"},
      {"BCAUTH_HEADER_TIMEOUT_SECONDS", "bcauth.headerTimeoutSeconds",
       "a request head must be complete this long after the connection (or its first byte) (default 10); else 408"},
      {"BCAUTH_BODY_TIMEOUT_SECONDS", "bcauth.bodyTimeoutSeconds",
       "a request body must be complete this long after its head (default 30); else the connection is closed"},
      {"BCAUTH_MAX_HEADER_BYTES", "bcauth.maxHeaderBytes",
       "largest request head: request line and header fields (default 16384); larger gets 431 (414 for the line)"},
      {"BCAUTH_IDLE_TIMEOUT_SECONDS", "bcauth.idleTimeoutSeconds", "a kept-alive connection idle this long is closed (default 5)"},
      {"BCAUTH_READ_TIMEOUT_SECONDS", "bcauth.readTimeoutSeconds", "longest wait for one read or write on a connection (default 15)"},
      {"BCAUTH_RATE_LIMIT_PER_KEY", "bcauth.rateLimitPerKey", "CSP API requests per second per API key (default 200; 0: off)"},
      {"BCAUTH_RATE_LIMIT_PER_KEY_BURST", "bcauth.rateLimitPerKeyBurst", "burst allowed above that rate (default 400)"},
      {"BCAUTH_RATE_LIMIT_PER_CONVERSATION", "bcauth.rateLimitPerConversation",
       "authenticate requests per minute per conversation (default 12; 0: off)"},
      {"BCAUTH_RATE_LIMIT_PER_CONVERSATION_BURST", "bcauth.rateLimitPerConversationBurst", "burst allowed above that rate (default 6)"},
      {"BCAUTH_KEY_POOL_SIZE", "bcauth.keyPoolSize", "request keys generated ahead in the background (default 256; 0: none)"},
      {"BCAUTH_KEY_POOL_REFILL_BELOW", "bcauth.keyPoolRefillBelow",
       "refill the pool when fewer keys are ready (default 0: as soon as one is taken)"},
      {"BCAUTH_KEY_POOL_THREADS", "bcauth.keyPoolThreads", "background threads refilling the pool at idle priority (default 1)"},
      {"BCAUTH_EVENTS_RECHECK_MS", "bcauth.eventsRecheckMs",
       "a waiting long-poll or event stream re-reads the store this often without a notification (default 250)"},
      {"BCAUTH_APPLE_GATEWAY_URL", "bcauth.appleGatewayUrl",
       "base URL of Apple's gateway (default https://mspgw.push.apple.com/v1); none disables delivery"},
      {"BCAUTH_DELIVERY_MAX_ATTEMPTS", "bcauth.deliveryMaxAttempts", "attempts before auth.delivery_failed (default 6)"},
      {"BCAUTH_DELIVERY_RETRY_BASE_MS", "bcauth.deliveryRetryBaseMs",
       "first retry delay; doubles per attempt with jitter, at most 5 minutes (default 1000)"},
      {"BCAUTH_WEBHOOK_MAX_ATTEMPTS", "bcauth.webhookMaxAttempts", "attempts before a webhook delivery is dead (default 8)"},
      {"BCAUTH_WEBHOOK_RETRY_BASE_MS", "bcauth.webhookRetryBaseMs",
       "first webhook retry delay; doubles per attempt with jitter, at most 1 hour (default 1000)"},
      {"BCAUTH_TLS_CERTIFICATE", "bcauth.tls.certificate", "PEM certificate (chain) file; with the key, serve HTTPS"},
      {"BCAUTH_TLS_PRIVATE_KEY", "bcauth.tls.privateKey", "PEM private key file of that certificate"},
  };
  return keys;
}

void applyEnvironment(Poco::Util::AbstractConfiguration& config) {
  for (const auto& k : settingKeys()) {
    if (Poco::Environment::has(k.env)) config.setString(k.key, Poco::Environment::get(k.env));
  }
}

Result<Settings> loadSettings(const Poco::Util::AbstractConfiguration& config) {
  Settings s;
  auto text = [&](const char* key) { return config.has(key) ? Poco::trim(config.getRawString(key)) : std::string(); };

  s.cspId = text("bcauth.cspId");
  if (s.cspId.empty()) return Status::invalidArgument("is required: your CSP id from Apple", "BCAUTH_CSP_ID");

  const std::string secret = text("bcauth.appleSecret");
  if (secret.empty()) return Status::invalidArgument("is required: Apple's Messaging API secret (Base64)", "BCAUTH_APPLE_SECRET");
  auto decoded = crypto::base64DecodeSecret(secret);
  if (!decoded || decoded->empty()) {
    return Status::invalidArgument("must be the Base64 secret Apple issued: " + decoded.status().message(),
                                   "BCAUTH_APPLE_SECRET");
  }
  s.appleSecret.assign(decoded->begin(), decoded->end());

  std::istringstream keys(text("bcauth.apiKeys"));
  for (std::string key; std::getline(keys, key, ',');) {
    key = Poco::trim(key);
    if (key.empty()) continue;
    if (key.size() < 16) return Status::invalidArgument("each API key needs at least 16 characters", "BCAUTH_API_KEYS");
    s.apiKeys.push_back(key);
  }
  if (s.apiKeys.empty()) return Status::invalidArgument("is required: at least one API key", "BCAUTH_API_KEYS");

  s.masterKey = text("bcauth.masterKey");
  const std::string keyFile = text("bcauth.masterKeyFile");
  if (s.masterKey.empty() && !keyFile.empty()) {
    std::ifstream in(keyFile);
    if (!in) return Status::invalidArgument("cannot read " + keyFile, "BCAUTH_MASTER_KEY_FILE");
    std::getline(in, s.masterKey);
    s.masterKey = Poco::trim(s.masterKey);
  }
  if (s.masterKey.empty()) {
    return Status::invalidArgument("is required (or BCAUTH_MASTER_KEY_FILE): Base64 of 32 random bytes, "
                                   "e.g. `openssl rand -base64 32`",
                                   "BCAUTH_MASTER_KEY");
  }
  // The setting named is the one the operator wrote: the variable, or the file it points to.
  const bool fromFile = text("bcauth.masterKey").empty();
  if (auto key = checkMasterKey(s.masterKey, fromFile ? "BCAUTH_MASTER_KEY_FILE" : "BCAUTH_MASTER_KEY"); !key) {
    return key;
  }

  if (!text("bcauth.dataDir").empty()) s.dataDir = text("bcauth.dataDir");
  s.databaseUrl = text("bcauth.databaseUrl");
  auto maxBytes =
      integer(config, "bcauth.sqliteMaxBytes", s.sqliteMaxBytes, 0, std::int64_t{1} << 50, "BCAUTH_SQLITE_MAX_BYTES");
  if (!maxBytes) return maxBytes.status();
  if (*maxBytes != 0 && *maxBytes < kMinSqliteMaxBytes) {
    return Status::invalidArgument("must be 0 (no limit) or at least " + std::to_string(kMinSqliteMaxBytes),
                                   "BCAUTH_SQLITE_MAX_BYTES");
  }
  s.sqliteMaxBytes = *maxBytes;
  s.publicUrl = text("bcauth.publicUrl");
  while (!s.publicUrl.empty() && s.publicUrl.back() == '/') s.publicUrl.pop_back();
  if (!s.publicUrl.empty()) {
    try {
      const Poco::URI uri(s.publicUrl);
      if ((uri.getScheme() != "https" && uri.getScheme() != "http") || uri.getHost().empty() || !uri.getQuery().empty()) {
        return Status::invalidArgument("must be an absolute http(s) URL without a query", "BCAUTH_PUBLIC_URL");
      }
    } catch (const std::exception&) {
      return Status::invalidArgument("is not a URL", "BCAUTH_PUBLIC_URL");
    }
  }
  if (!text("bcauth.host").empty()) s.host = text("bcauth.host");

  auto port = integer(config, "bcauth.port", s.port, 0, 65535, "BCAUTH_PORT");
  if (!port) return port.status();
  s.port = static_cast<int>(*port);
  auto body = integer(config, "bcauth.maxBodyBytes", static_cast<std::int64_t>(s.maxBodyBytes), 1024, 64 << 20,
                      "BCAUTH_MAX_BODY_BYTES");
  if (!body) return body.status();
  s.maxBodyBytes = static_cast<std::size_t>(*body);
  auto window = integer(config, "bcauth.jwtWindowSeconds", s.jwtWindowSeconds, 1, 86400, "BCAUTH_JWT_WINDOW_SECONDS");
  if (!window) return window.status();
  s.jwtWindowSeconds = *window;
  auto ttl = integer(config, "bcauth.defaultTtlSeconds", s.defaultTtlSeconds, 30, 86400, "BCAUTH_DEFAULT_TTL_SECONDS");
  if (!ttl) return ttl.status();
  s.defaultTtlSeconds = *ttl;
  auto sweep = integer(config, "bcauth.sweepSeconds", s.sweepSeconds, 1, 3600, "BCAUTH_SWEEP_SECONDS");
  if (!sweep) return sweep.status();
  s.sweepSeconds = *sweep;
  struct Bounded {
    const char* key;
    const char* env;
    int* target;
    int min, max;
  };
  for (const Bounded& b : {
           Bounded{"bcauth.maxThreads", "BCAUTH_MAX_THREADS", &s.maxThreads, 1, 512},
           Bounded{"bcauth.appleThreads", "BCAUTH_APPLE_THREADS", &s.appleThreads, 1, 512},
           Bounded{"bcauth.maxQueued", "BCAUTH_MAX_QUEUED", &s.maxQueued, 1, 100000},
           Bounded{"bcauth.maxConnections", "BCAUTH_MAX_CONNECTIONS", &s.maxConnections, 16, 1000000},
           Bounded{"bcauth.maxConnectionsPerAddress", "BCAUTH_MAX_CONNECTIONS_PER_ADDRESS", &s.maxConnectionsPerAddress, 0,
                   1000000},
           Bounded{"bcauth.headerTimeoutSeconds", "BCAUTH_HEADER_TIMEOUT_SECONDS", &s.headerTimeoutSeconds, 1, 600},
           Bounded{"bcauth.bodyTimeoutSeconds", "BCAUTH_BODY_TIMEOUT_SECONDS", &s.bodyTimeoutSeconds, 1, 3600},
           Bounded{"bcauth.maxHeaderBytes", "BCAUTH_MAX_HEADER_BYTES", &s.maxHeaderBytes, 1024, 1048576},
           Bounded{"bcauth.idleTimeoutSeconds", "BCAUTH_IDLE_TIMEOUT_SECONDS", &s.idleTimeoutSeconds, 1, 3600},
           Bounded{"bcauth.readTimeoutSeconds", "BCAUTH_READ_TIMEOUT_SECONDS", &s.readTimeoutSeconds, 1, 3600},
           Bounded{"bcauth.rateLimitPerKey", "BCAUTH_RATE_LIMIT_PER_KEY", &s.rateLimitPerKey, 0, 1000000},
           Bounded{"bcauth.rateLimitPerKeyBurst", "BCAUTH_RATE_LIMIT_PER_KEY_BURST", &s.rateLimitPerKeyBurst, 1, 1000000},
           Bounded{"bcauth.rateLimitPerConversation", "BCAUTH_RATE_LIMIT_PER_CONVERSATION", &s.rateLimitPerConversation, 0,
                   100000},
           Bounded{"bcauth.rateLimitPerConversationBurst", "BCAUTH_RATE_LIMIT_PER_CONVERSATION_BURST",
                   &s.rateLimitPerConversationBurst, 1, 100000},
           Bounded{"bcauth.keyPoolSize", "BCAUTH_KEY_POOL_SIZE", &s.keyPoolSize, 0, 100000},
           Bounded{"bcauth.keyPoolRefillBelow", "BCAUTH_KEY_POOL_REFILL_BELOW", &s.keyPoolRefillBelow, 0, 100000},
           Bounded{"bcauth.keyPoolThreads", "BCAUTH_KEY_POOL_THREADS", &s.keyPoolThreads, 1, 64},
           Bounded{"bcauth.eventsRecheckMs", "BCAUTH_EVENTS_RECHECK_MS", &s.eventsRecheckMs, 10, 60000},
       }) {
    auto value = integer(config, b.key, *b.target, b.min, b.max, b.env);
    if (!value) return value.status();
    *b.target = static_cast<int>(*value);
  }
  if (s.keyPoolRefillBelow > s.keyPoolSize) {
    return Status::invalidArgument("cannot exceed BCAUTH_KEY_POOL_SIZE", "BCAUTH_KEY_POOL_REFILL_BELOW");
  }
  const std::string loopback = text("bcauth.allowHttpLoopbackProviders");
  if (!loopback.empty() && loopback != "true" && loopback != "false") {
    return Status::invalidArgument("must be true or false", "BCAUTH_ALLOW_HTTP_LOOPBACK_PROVIDERS");
  }
  s.allowHttpLoopbackProviders = loopback == "true";
  auto allowed = clients::parseCidrList(text("bcauth.outboundAllowCidrs"));
  if (!allowed) return Status::invalidArgument(allowed.status().message(), "BCAUTH_OUTBOUND_ALLOW_CIDRS");
  s.outboundAllowCidrs = std::move(*allowed);
  if (!text("bcauth.v2MessageVersion").empty()) s.v2MessageVersion = text("bcauth.v2MessageVersion");
  if (config.has("bcauth.appleGatewayUrl")) {
    s.appleGatewayUrl = text("bcauth.appleGatewayUrl");
    if (s.appleGatewayUrl == "none") s.appleGatewayUrl.clear();
    while (!s.appleGatewayUrl.empty() && s.appleGatewayUrl.back() == '/') s.appleGatewayUrl.pop_back();
    if (!s.appleGatewayUrl.empty()) {
      try {
        const Poco::URI uri(s.appleGatewayUrl);
        if ((uri.getScheme() != "https" && uri.getScheme() != "http") || uri.getHost().empty()) {
          return Status::invalidArgument("must be an http(s) URL or none", "BCAUTH_APPLE_GATEWAY_URL");
        }
      } catch (const std::exception&) {
        return Status::invalidArgument("is not a URL", "BCAUTH_APPLE_GATEWAY_URL");
      }
    }
  }
  auto attempts = integer(config, "bcauth.deliveryMaxAttempts", s.deliveryMaxAttempts, 1, 50, "BCAUTH_DELIVERY_MAX_ATTEMPTS");
  if (!attempts) return attempts.status();
  s.deliveryMaxAttempts = static_cast<int>(*attempts);
  auto retryBase = integer(config, "bcauth.deliveryRetryBaseMs", s.deliveryRetryBaseMs, 10, 600000, "BCAUTH_DELIVERY_RETRY_BASE_MS");
  if (!retryBase) return retryBase.status();
  s.deliveryRetryBaseMs = *retryBase;
  auto webhookAttempts = integer(config, "bcauth.webhookMaxAttempts", s.webhookMaxAttempts, 1, 50, "BCAUTH_WEBHOOK_MAX_ATTEMPTS");
  if (!webhookAttempts) return webhookAttempts.status();
  s.webhookMaxAttempts = static_cast<int>(*webhookAttempts);
  auto webhookBase = integer(config, "bcauth.webhookRetryBaseMs", s.webhookRetryBaseMs, 10, 600000, "BCAUTH_WEBHOOK_RETRY_BASE_MS");
  if (!webhookBase) return webhookBase.status();
  s.webhookRetryBaseMs = *webhookBase;
  s.tlsCertificate = text("bcauth.tls.certificate");
  s.tlsPrivateKey = text("bcauth.tls.privateKey");
  if (s.tlsCertificate.empty() != s.tlsPrivateKey.empty()) {
    return Status::invalidArgument("TLS needs both a certificate and its private key",
                                   s.tlsCertificate.empty() ? "BCAUTH_TLS_CERTIFICATE" : "BCAUTH_TLS_PRIVATE_KEY");
  }
  for (const auto& [file, name] : {std::pair{s.tlsCertificate, "BCAUTH_TLS_CERTIFICATE"},
                                   std::pair{s.tlsPrivateKey, "BCAUTH_TLS_PRIVATE_KEY"}}) {
    if (!file.empty() && !std::ifstream(file)) return Status::invalidArgument("cannot read " + file, name);
  }
  return s;
}

}  // namespace bcauth::app
