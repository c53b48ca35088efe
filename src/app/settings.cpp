#include "app/settings.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <type_traits>
#include <variant>

#include <Poco/Environment.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include "bcauth/base64.h"
#include "bcauth/seal.h"

namespace bcauth::app {
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

namespace {

// --- the table: each setting declared once ------------------------------------------------------

// The Settings member a setting fills. Custom: the setting's rule reads it (a decoded secret, a
// list, a key from a file), so there is no plain member to show a default of.
struct Custom {};
using Target = std::variant<Custom, std::string Settings::*, bool Settings::*, int Settings::*, std::int64_t Settings::*,
                            std::size_t Settings::*>;
// What more a value must satisfy, or how a Custom one is read: the trimmed text and whether the
// key was given at all. Runs after the member took the value, so it may also normalise it.
using Rule = Status (*)(Settings& s, const std::string& text, bool given);

struct Declared {
  const char* env;
  const char* key;
  const char* meaning;
  Target target;
  std::int64_t min = 0;  // integers only
  std::int64_t max = 0;
  Rule rule = nullptr;
};

Status required(const std::string& text, const char* what, const char* env) {
  return text.empty() ? Status::invalidArgument(std::string("is required: ") + what, env) : Status::ok();
}

// Strips trailing slashes; "" stays "" (not set). Else an absolute http(s) URL, with a query only
// when allowed.
Status httpUrl(std::string& url, bool queryAllowed, const char* invalid, const char* env) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.empty()) return Status::ok();
  try {
    const Poco::URI uri(url);
    if ((uri.getScheme() != "https" && uri.getScheme() != "http") || uri.getHost().empty() ||
        (!queryAllowed && !uri.getQuery().empty())) {
      return Status::invalidArgument(invalid, env);
    }
  } catch (const std::exception&) {
    return Status::invalidArgument("is not a URL", env);
  }
  return Status::ok();
}

Status readAppleSecret(Settings& s, const std::string& text, bool) {
  if (auto missing = required(text, "Apple's Messaging API secret (Base64)", "BCAUTH_APPLE_SECRET"); !missing) return missing;
  auto decoded = crypto::base64DecodeSecret(text);
  if (!decoded || decoded->empty()) {
    return Status::invalidArgument("must be the Base64 secret Apple issued: " + decoded.status().message(),
                                   "BCAUTH_APPLE_SECRET");
  }
  s.appleSecret.assign(decoded->begin(), decoded->end());
  return Status::ok();
}

Status readApiKeys(Settings& s, const std::string& text, bool) {
  std::istringstream keys(text);
  for (std::string key; std::getline(keys, key, ',');) {
    key = Poco::trim(key);
    if (key.empty()) continue;
    if (key.size() < 16) return Status::invalidArgument("each API key needs at least 16 characters", "BCAUTH_API_KEYS");
    s.apiKeys.push_back(key);
  }
  if (s.apiKeys.empty()) return Status::invalidArgument("is required: at least one API key", "BCAUTH_API_KEYS");
  return Status::ok();
}

// Runs after BCAUTH_MASTER_KEY was read: the file is read only when the variable is empty. The
// setting named is the one the operator wrote: the variable, or the file it points to.
Status readMasterKeyFile(Settings& s, const std::string& file, bool) {
  const bool fromFile = s.masterKey.empty() && !file.empty();
  if (fromFile) {
    std::ifstream in(file);
    if (!in) return Status::invalidArgument("cannot read " + file, "BCAUTH_MASTER_KEY_FILE");
    std::getline(in, s.masterKey);
    s.masterKey = Poco::trim(s.masterKey);
  }
  if (s.masterKey.empty()) {
    return Status::invalidArgument("is required (or BCAUTH_MASTER_KEY_FILE): Base64 of 32 random bytes, "
                                   "e.g. `openssl rand -base64 32`",
                                   "BCAUTH_MASTER_KEY");
  }
  return checkMasterKey(s.masterKey, fromFile ? "BCAUTH_MASTER_KEY_FILE" : "BCAUTH_MASTER_KEY");
}

// Below this, not even the schema fits: the store would refuse every write from the start.
constexpr std::int64_t kMinSqliteMaxBytes = 256 * 1024;

Status checkSqliteMaxBytes(Settings& s, const std::string&, bool) {
  if (s.sqliteMaxBytes != 0 && s.sqliteMaxBytes < kMinSqliteMaxBytes) {
    return Status::invalidArgument("must be 0 (no limit) or at least " + std::to_string(kMinSqliteMaxBytes),
                                   "BCAUTH_SQLITE_MAX_BYTES");
  }
  return Status::ok();
}

Status checkKeyPoolRefillBelow(Settings& s, const std::string&, bool) {
  if (s.keyPoolRefillBelow > s.keyPoolSize) {
    return Status::invalidArgument("cannot exceed BCAUTH_KEY_POOL_SIZE", "BCAUTH_KEY_POOL_REFILL_BELOW");
  }
  return Status::ok();
}

Status readCidrs(Settings& s, const std::string& text, bool) {
  auto allowed = clients::parseCidrList(text);
  if (!allowed) return Status::invalidArgument(allowed.status().message(), "BCAUTH_OUTBOUND_ALLOW_CIDRS");
  s.outboundAllowCidrs = std::move(*allowed);
  return Status::ok();
}

Status checkGatewayUrl(Settings& s, const std::string& text, bool given) {
  if (given && (text.empty() || text == "none")) s.appleGatewayUrl.clear();  // delivery disabled
  return httpUrl(s.appleGatewayUrl, true, "must be an http(s) URL or none", "BCAUTH_APPLE_GATEWAY_URL");
}

// Runs after both files were read: both or neither, and each readable.
Status checkTlsFiles(Settings& s, const std::string&, bool) {
  if (s.tlsCertificate.empty() != s.tlsPrivateKey.empty()) {
    return Status::invalidArgument("TLS needs both a certificate and its private key",
                                   s.tlsCertificate.empty() ? "BCAUTH_TLS_CERTIFICATE" : "BCAUTH_TLS_PRIVATE_KEY");
  }
  for (const auto& [file, name] : {std::pair{s.tlsCertificate, "BCAUTH_TLS_CERTIFICATE"},
                                   std::pair{s.tlsPrivateKey, "BCAUTH_TLS_PRIVATE_KEY"}}) {
    if (!file.empty() && !std::ifstream(file)) return Status::invalidArgument("cannot read " + file, name);
  }
  return Status::ok();
}

// Every setting, in the order they are read and checked. Defaults are Settings' member
// initialisers (bcauth/defaults.h); --help shows them with the bounds from here.
const std::vector<Declared>& declared() {
  using S = Settings;
  static const std::vector<Declared> table = {
      {"BCAUTH_CSP_ID", "bcauth.cspId", "your CSP (MSP) id from Apple; the aud of Apple's JWTs (required)", &S::cspId, 0, 0,
       [](Settings&, const std::string& text, bool) { return required(text, "your CSP id from Apple", "BCAUTH_CSP_ID"); }},
      {"BCAUTH_APPLE_SECRET", "bcauth.appleSecret", "the Messaging API secret, Base64 as Apple issues it (required)",
       Custom{}, 0, 0, readAppleSecret},
      {"BCAUTH_API_KEYS", "bcauth.apiKeys", "comma-separated API keys for the CSP API, 16 characters or more (required)",
       Custom{}, 0, 0, readApiKeys},
      {"BCAUTH_MASTER_KEY", "bcauth.masterKey", "Base64 of 32 random bytes sealing secrets at rest", &S::masterKey},
      {"BCAUTH_MASTER_KEY_FILE", "bcauth.masterKeyFile", "a file holding the master key (instead of BCAUTH_MASTER_KEY)",
       Custom{}, 0, 0, readMasterKeyFile},
      {"BCAUTH_DATA_DIR", "bcauth.dataDir", "where the SQLite store lives", &S::dataDir},
      {"BCAUTH_DATABASE_URL", "bcauth.databaseUrl",
       "PostgreSQL connection string (host=… port=… dbname=… user=… password=…); unset: SQLite in the data dir",
       &S::databaseUrl},
      {"BCAUTH_SQLITE_MAX_BYTES", "bcauth.sqliteMaxBytes",
       "largest size of the SQLite database file; past it writes answer 503 as on a full disk (0: no limit; else at least "
       "262144)",
       &S::sqliteMaxBytes, 0, std::int64_t{1} << 50, checkSqliteMaxBytes},
      {"BCAUTH_PUBLIC_URL", "bcauth.publicUrl", "bcauth's public https base URL; needed by the v2 flow", &S::publicUrl, 0, 0,
       [](Settings& s, const std::string&, bool) {
         return httpUrl(s.publicUrl, false, "must be an absolute http(s) URL without a query", "BCAUTH_PUBLIC_URL");
       }},
      {"BCAUTH_HOST", "bcauth.host", "address to listen on", &S::host},
      {"BCAUTH_PORT", "bcauth.port", "port to listen on (0 picks a free one)", &S::port, 0, 65535},
      {"BCAUTH_MAX_BODY_BYTES", "bcauth.maxBodyBytes", "largest accepted body, compressed or not", &S::maxBodyBytes, 1024,
       64 << 20},
      {"BCAUTH_JWT_WINDOW_SECONDS", "bcauth.jwtWindowSeconds", "accepted distance of a JWT's iat from now",
       &S::jwtWindowSeconds, 1, 86400},
      {"BCAUTH_DEFAULT_TTL_SECONDS", "bcauth.defaultTtlSeconds", "request lifetime when ttlSeconds is not given",
       &S::defaultTtlSeconds, 30, 86400},
      {"BCAUTH_SWEEP_SECONDS", "bcauth.sweepSeconds", "how often expired requests are swept", &S::sweepSeconds, 1, 3600},
      {"BCAUTH_MAX_THREADS", "bcauth.maxThreads", "HTTP workers for the CSP API and operations", &S::maxThreads, 1, 512},
      {"BCAUTH_APPLE_THREADS", "bcauth.appleThreads",
       "HTTP workers kept for Apple's POST /message alone, so API traffic cannot starve it", &S::appleThreads, 1, 512},
      {"BCAUTH_MAX_QUEUED", "bcauth.maxQueued", "requests (head received) waiting for a worker, per lane; more get 503",
       &S::maxQueued, 1, 100000},
      {"BCAUTH_MAX_CONNECTIONS", "bcauth.maxConnections", "open client connections in all; more get 503",
       &S::maxConnections, 16, 1000000},
      {"BCAUTH_MAX_CONNECTIONS_PER_ADDRESS", "bcauth.maxConnectionsPerAddress",
       "open connections from one client address (0: no cap); more get 429. Raise it behind a proxy",
       &S::maxConnectionsPerAddress, 0, 1000000},
      {"BCAUTH_HEADER_TIMEOUT_SECONDS", "bcauth.headerTimeoutSeconds",
       "a request head must be complete this long after the connection (or its first byte); else 408",
       &S::headerTimeoutSeconds, 1, 600},
      {"BCAUTH_BODY_TIMEOUT_SECONDS", "bcauth.bodyTimeoutSeconds",
       "a request body must be complete this long after its head; else the connection is closed", &S::bodyTimeoutSeconds,
       1, 3600},
      {"BCAUTH_MAX_HEADER_BYTES", "bcauth.maxHeaderBytes",
       "largest request head: request line and header fields; larger gets 431 (414 for the line)", &S::maxHeaderBytes,
       1024, 1048576},
      {"BCAUTH_IDLE_TIMEOUT_SECONDS", "bcauth.idleTimeoutSeconds", "a kept-alive connection idle this long is closed",
       &S::idleTimeoutSeconds, 1, 3600},
      {"BCAUTH_READ_TIMEOUT_SECONDS", "bcauth.readTimeoutSeconds", "longest wait for one read or write on a connection",
       &S::readTimeoutSeconds, 1, 3600},
      {"BCAUTH_RATE_LIMIT_PER_KEY", "bcauth.rateLimitPerKey", "CSP API requests per second per API key (0: off)",
       &S::rateLimitPerKey, 0, 1000000},
      {"BCAUTH_RATE_LIMIT_PER_KEY_BURST", "bcauth.rateLimitPerKeyBurst", "burst allowed above that rate",
       &S::rateLimitPerKeyBurst, 1, 1000000},
      {"BCAUTH_RATE_LIMIT_PER_CONVERSATION", "bcauth.rateLimitPerConversation",
       "authenticate requests per minute per conversation (0: off)", &S::rateLimitPerConversation, 0, 100000},
      {"BCAUTH_RATE_LIMIT_PER_CONVERSATION_BURST", "bcauth.rateLimitPerConversationBurst", "burst allowed above that rate",
       &S::rateLimitPerConversationBurst, 1, 100000},
      {"BCAUTH_KEY_POOL_SIZE", "bcauth.keyPoolSize", "request keys generated ahead in the background (0: none)",
       &S::keyPoolSize, 0, 100000},
      {"BCAUTH_KEY_POOL_REFILL_BELOW", "bcauth.keyPoolRefillBelow",
       "refill the pool when fewer keys are ready (0: as soon as one is taken); at most BCAUTH_KEY_POOL_SIZE",
       &S::keyPoolRefillBelow, 0, 100000, checkKeyPoolRefillBelow},
      {"BCAUTH_KEY_POOL_THREADS", "bcauth.keyPoolThreads", "background threads refilling the pool at idle priority",
       &S::keyPoolThreads, 1, 64},
      {"BCAUTH_EVENTS_RECHECK_MS", "bcauth.eventsRecheckMs",
       "a waiting long-poll or event stream re-reads the store this often without a notification", &S::eventsRecheckMs,
       10, 60000},
      {"BCAUTH_ALLOW_HTTP_LOOPBACK_PROVIDERS", "bcauth.allowHttpLoopbackProviders",
       "true lets provider and webhook URLs use http:// on 127.0.0.1/localhost and reach loopback (development only)",
       &S::allowHttpLoopbackProviders},
      {"BCAUTH_OUTBOUND_ALLOW_CIDRS", "bcauth.outboundAllowCidrs",
       "comma-separated ranges (10.1.2.0/24, fd00:1::/48) IdP and webhook calls may reach although private (default "
       "none)",
       Custom{}, 0, 0, readCidrs},
      {"BCAUTH_V2_MESSAGE_VERSION", "bcauth.v2MessageVersion", "data.version of v2 messages (spec §3.6)",
       &S::v2MessageVersion},
      {"BCAUTH_APPLE_GATEWAY_URL", "bcauth.appleGatewayUrl", "base URL of Apple's gateway; none disables delivery",
       &S::appleGatewayUrl, 0, 0, checkGatewayUrl},
      {"BCAUTH_DELIVERY_MAX_ATTEMPTS", "bcauth.deliveryMaxAttempts", "attempts before auth.delivery_failed",
       &S::deliveryMaxAttempts, 1, 50},
      {"BCAUTH_DELIVERY_RETRY_BASE_MS", "bcauth.deliveryRetryBaseMs",
       "first retry delay; doubles per attempt with jitter, at most 5 minutes", &S::deliveryRetryBaseMs, 10, 600000},
      {"BCAUTH_WEBHOOK_MAX_ATTEMPTS", "bcauth.webhookMaxAttempts", "attempts before a webhook delivery is dead",
       &S::webhookMaxAttempts, 1, 50},
      {"BCAUTH_WEBHOOK_RETRY_BASE_MS", "bcauth.webhookRetryBaseMs",
       "first webhook retry delay; doubles per attempt with jitter, at most 1 hour", &S::webhookRetryBaseMs, 10, 600000},
      {"BCAUTH_TLS_CERTIFICATE", "bcauth.tls.certificate", "PEM certificate (chain) file; with the key, serve HTTPS",
       &S::tlsCertificate},
      {"BCAUTH_TLS_PRIVATE_KEY", "bcauth.tls.privateKey", "PEM private key file of that certificate", &S::tlsPrivateKey, 0,
       0, checkTlsFiles},
  };
  return table;
}

bool isInteger(const Target& target) {
  return !std::holds_alternative<Custom>(target) && !std::holds_alternative<std::string Settings::*>(target) &&
         !std::holds_alternative<bool Settings::*>(target);
}

// A setting's value in s as an operator would write it ("" for a Custom one or an empty text).
std::string shown(const Settings& s, const Target& target) {
  return std::visit(
      [&s](const auto& member) -> std::string {
        using Member = std::decay_t<decltype(member)>;
        if constexpr (std::is_same_v<Member, Custom>) {
          return "";
        } else {
          const auto& value = s.*member;
          using Value = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<Value, std::string>) return value;
          else if constexpr (std::is_same_v<Value, bool>) return value ? "true" : "false";
          else return std::to_string(value);
        }
      },
      target);
}

// Reads one setting's text into its member: integers within bounds, true/false, or a non-empty
// text (an empty one keeps the default).
Status assign(Settings& s, const Declared& d, const std::string& text, bool given) {
  return std::visit(
      [&](const auto& member) -> Status {
        using Member = std::decay_t<decltype(member)>;
        if constexpr (!std::is_same_v<Member, Custom>) {
          auto& value = s.*member;
          using Value = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<Value, std::string>) {
            if (!text.empty()) value = text;
          } else if constexpr (std::is_same_v<Value, bool>) {
            if (!text.empty() && text != "true" && text != "false") {
              return Status::invalidArgument("must be true or false", d.env);
            }
            if (!text.empty()) value = text == "true";
          } else if (given) {
            Poco::Int64 parsed = 0;
            if (!Poco::NumberParser::tryParse64(text, parsed) || parsed < d.min || parsed > d.max) {
              return Status::invalidArgument(
                  "must be an integer from " + std::to_string(d.min) + " to " + std::to_string(d.max), d.env);
            }
            value = static_cast<Value>(parsed);
          }
        }
        return Status::ok();
      },
      d.target);
}

}  // namespace

std::string SettingKey::help() const {
  std::string line = meaning;
  if (!defaultText.empty()) line += " (default " + defaultText;
  if (integer) line += std::string(defaultText.empty() ? " (" : "; ") + std::to_string(min) + " to " + std::to_string(max);
  if (!defaultText.empty() || integer) line += ")";
  return line;
}

const std::vector<SettingKey>& settingKeys() {
  static const std::vector<SettingKey> keys = [] {
    const Settings defaults;
    std::vector<SettingKey> out;
    for (const Declared& d : declared()) {
      const Target target = d.target;
      out.push_back({d.env, d.key, d.meaning, shown(defaults, target), isInteger(target), d.min, d.max,
                     [target](const Settings& s) { return shown(s, target); }});
    }
    return out;
  }();
  return keys;
}

void applyEnvironment(Poco::Util::AbstractConfiguration& config) {
  for (const auto& k : settingKeys()) {
    if (Poco::Environment::has(k.env)) config.setString(k.key, Poco::Environment::get(k.env));
  }
}

Result<Settings> loadSettings(const Poco::Util::AbstractConfiguration& config) {
  Settings s;
  for (const Declared& d : declared()) {
    const bool given = config.has(d.key);
    const std::string text = given ? Poco::trim(config.getRawString(d.key)) : std::string();
    if (Status read = assign(s, d, text, given); !read) return read;
    if (d.rule != nullptr) {
      if (Status checked = d.rule(s, text, given); !checked) return checked;
    }
  }
  return s;
}

}  // namespace bcauth::app
