// Server settings: required values, malformed values, environment over file.
#define BOOST_TEST_MODULE settings
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <set>

#include <Poco/AutoPtr.h>
#include <Poco/String.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <fstream>

#include "app/runtime.h"
#include "app/settings.h"
#include "http/listener.h"
#include "http/server.h"
#include "service/auth_service.h"
#include "temp_dir.h"

using namespace bcauth;

namespace {

Poco::AutoPtr<Poco::Util::MapConfiguration> complete() {
  Poco::AutoPtr<Poco::Util::MapConfiguration> c = new Poco::Util::MapConfiguration();
  c->setString("bcauth.cspId", "csp-1");
  c->setString("bcauth.appleSecret", "c2VjcmV0LWJ5dGVz");
  c->setString("bcauth.apiKeys", "key-aaaaaaaaaaaaaaaa, key-bbbbbbbbbbbbbbbb");
  c->setString("bcauth.masterKey", "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=");
  return c;
}

void expectRefused(const std::string& key, const std::string& value, const std::string& field) {
  auto c = complete();
  if (value.empty()) c->remove(key);
  else c->setString(key, value);
  auto s = app::loadSettings(*c);
  BOOST_REQUIRE_MESSAGE(!s.isOk(), key << "=" << value << " accepted");
  BOOST_CHECK_EQUAL(s.status().field(), field);
}

}  // namespace

BOOST_AUTO_TEST_CASE(complete_settings_load) {
  auto s = app::loadSettings(*complete());
  BOOST_REQUIRE_MESSAGE(s.isOk(), s.status().toString());
  BOOST_TEST(s->cspId == "csp-1");
  BOOST_TEST(s->appleSecret == "secret-bytes");
  BOOST_TEST(s->apiKeys.size() == 2u);
  BOOST_TEST(s->port == 8080);
  BOOST_TEST(s->host == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(missing_or_malformed_settings_are_named) {
  expectRefused("bcauth.cspId", "", "BCAUTH_CSP_ID");
  expectRefused("bcauth.appleSecret", "", "BCAUTH_APPLE_SECRET");
  expectRefused("bcauth.appleSecret", "not base64!", "BCAUTH_APPLE_SECRET");
  expectRefused("bcauth.apiKeys", "", "BCAUTH_API_KEYS");
  expectRefused("bcauth.apiKeys", "short", "BCAUTH_API_KEYS");
  expectRefused("bcauth.masterKey", "", "BCAUTH_MASTER_KEY");
  expectRefused("bcauth.masterKey", "AAAA", "BCAUTH_MASTER_KEY");
  expectRefused("bcauth.port", "70000", "BCAUTH_PORT");
  expectRefused("bcauth.port", "http", "BCAUTH_PORT");
  expectRefused("bcauth.publicUrl", "ftp://x", "BCAUTH_PUBLIC_URL");
  expectRefused("bcauth.allowHttpLoopbackProviders", "yes", "BCAUTH_ALLOW_HTTP_LOOPBACK_PROVIDERS");
  expectRefused("bcauth.maxBodyBytes", "10", "BCAUTH_MAX_BODY_BYTES");
  expectRefused("bcauth.eventsRecheckMs", "0", "BCAUTH_EVENTS_RECHECK_MS");
  expectRefused("bcauth.eventsRecheckMs", "60001", "BCAUTH_EVENTS_RECHECK_MS");
  expectRefused("bcauth.sqliteMaxBytes", "1000", "BCAUTH_SQLITE_MAX_BYTES");
  expectRefused("bcauth.sqliteMaxBytes", "-1", "BCAUTH_SQLITE_MAX_BYTES");
  expectRefused("bcauth.sqliteMaxBytes", "lots", "BCAUTH_SQLITE_MAX_BYTES");
}

BOOST_AUTO_TEST_CASE(events_recheck_period) {
  BOOST_TEST(app::loadSettings(*complete())->eventsRecheckMs == 250);
  auto c = complete();
  c->setString("bcauth.eventsRecheckMs", "1000");
  BOOST_TEST(app::loadSettings(*c)->eventsRecheckMs == 1000);
}

BOOST_AUTO_TEST_CASE(sqlite_max_bytes) {
  BOOST_TEST(app::loadSettings(*complete())->sqliteMaxBytes == 0);
  auto c = complete();
  c->setString("bcauth.sqliteMaxBytes", "1073741824");
  BOOST_TEST(app::loadSettings(*c)->sqliteMaxBytes == 1073741824);
}

BOOST_AUTO_TEST_CASE(master_key_file) {
  auto c = complete();
  c->remove("bcauth.masterKey");
  c->setString("bcauth.masterKeyFile", "/nonexistent/master.key");
  auto s = app::loadSettings(*c);
  BOOST_REQUIRE(!s.isOk());
  BOOST_TEST(s.status().field() == "BCAUTH_MASTER_KEY_FILE");
}

// A master key of 32 equal bytes (zeros, a 0xAA placeholder) is no random key: refused, naming
// where it came from.
BOOST_AUTO_TEST_CASE(master_key_of_equal_bytes_is_refused) {
  for (const std::string& key : {std::string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                                 std::string("qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=")}) {
    auto c = complete();
    c->setString("bcauth.masterKey", key);
    auto s = app::loadSettings(*c);
    BOOST_REQUIRE_MESSAGE(!s.isOk(), key << " accepted");
    BOOST_TEST(s.status().field() == "BCAUTH_MASTER_KEY");
    BOOST_TEST(s.status().message().find("equal") != std::string::npos, s.status().message());

    const std::string file = bcauth::test::freshTempDir() + "/master.key";
    std::ofstream(file) << key << "\n";
    c->remove("bcauth.masterKey");
    c->setString("bcauth.masterKeyFile", file);
    s = app::loadSettings(*c);
    BOOST_REQUIRE_MESSAGE(!s.isOk(), key << " accepted from a file");
    BOOST_TEST(s.status().field() == "BCAUTH_MASTER_KEY_FILE");
  }
  // A key read from a file that is not 32 bytes of Base64 names the file's setting too.
  auto c = complete();
  const std::string file = bcauth::test::freshTempDir() + "/short.key";
  std::ofstream(file) << "AAAA\n";
  c->remove("bcauth.masterKey");
  c->setString("bcauth.masterKeyFile", file);
  BOOST_TEST(app::loadSettings(*c).status().field() == "BCAUTH_MASTER_KEY_FILE");

  // Runtime, for settings built in code, refuses it as well before opening anything.
  auto settings = app::loadSettings(*complete()).value();
  settings.masterKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  settings.dataDir = bcauth::test::freshTempDir();
  settings.port = 0;
  BOOST_CHECK_EXCEPTION(app::Runtime runtime(settings), std::invalid_argument, [](const std::invalid_argument& e) {
    return std::string(e.what()).find("BCAUTH_MASTER_KEY") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(environment_overrides) {
  setenv("BCAUTH_CSP_ID", "from-env", 1);
  auto c = complete();
  app::applyEnvironment(*c);
  unsetenv("BCAUTH_CSP_ID");
  BOOST_TEST(app::loadSettings(*c)->cspId == "from-env");
}

BOOST_AUTO_TEST_CASE(connection_bounds_are_settings_with_defaults_bounds_and_docs) {
  auto s = app::loadSettings(*complete());
  BOOST_REQUIRE(s.isOk());
  BOOST_TEST(s->appleThreads == 4);
  BOOST_TEST(s->maxConnections == 4096);
  BOOST_TEST(s->maxConnectionsPerAddress == 128);
  BOOST_TEST(s->headerTimeoutSeconds == 10);
  BOOST_TEST(s->bodyTimeoutSeconds == 30);
  BOOST_TEST(s->maxHeaderBytes == 16384);
  expectRefused("bcauth.appleThreads", "0", "BCAUTH_APPLE_THREADS");
  expectRefused("bcauth.maxConnections", "3", "BCAUTH_MAX_CONNECTIONS");
  expectRefused("bcauth.maxConnectionsPerAddress", "-1", "BCAUTH_MAX_CONNECTIONS_PER_ADDRESS");
  expectRefused("bcauth.headerTimeoutSeconds", "0", "BCAUTH_HEADER_TIMEOUT_SECONDS");
  expectRefused("bcauth.bodyTimeoutSeconds", "ten", "BCAUTH_BODY_TIMEOUT_SECONDS");
  expectRefused("bcauth.maxHeaderBytes", "100", "BCAUTH_MAX_HEADER_BYTES");
  // Each is in `bcauth serve --help` (the settings table) and in the operator's documentation.
  std::ifstream in(std::string(BCAUTH_SOURCE_DIR) + "/docs/operations.md");
  const std::string operations((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const std::string env : {"BCAUTH_MAX_THREADS", "BCAUTH_APPLE_THREADS", "BCAUTH_MAX_QUEUED", "BCAUTH_MAX_CONNECTIONS",
                                "BCAUTH_MAX_CONNECTIONS_PER_ADDRESS", "BCAUTH_HEADER_TIMEOUT_SECONDS",
                                "BCAUTH_BODY_TIMEOUT_SECONDS", "BCAUTH_MAX_HEADER_BYTES", "BCAUTH_IDLE_TIMEOUT_SECONDS",
                                "BCAUTH_READ_TIMEOUT_SECONDS"}) {
    bool inHelp = false;
    for (const auto& key : app::settingKeys()) inHelp = inHelp || env == key.env;
    BOOST_TEST(inHelp, env);
    BOOST_TEST(operations.find("`" + env + "`") != std::string::npos, env);
  }
}

BOOST_AUTO_TEST_CASE(outbound_allow_cidrs) {
  auto c = complete();
  BOOST_TEST(app::loadSettings(*c)->outboundAllowCidrs.empty());
  c->setString("bcauth.outboundAllowCidrs", "10.1.0.0/16, fd00:1::/32");
  auto s = app::loadSettings(*c);
  BOOST_REQUIRE_MESSAGE(s.isOk(), s.status().toString());
  BOOST_TEST(s->outboundAllowCidrs.size() == 2u);
  expectRefused("bcauth.outboundAllowCidrs", "10.1/16", "BCAUTH_OUTBOUND_ALLOW_CIDRS");
  expectRefused("bcauth.outboundAllowCidrs", "10.1.0.1/16", "BCAUTH_OUTBOUND_ALLOW_CIDRS");
  expectRefused("bcauth.outboundAllowCidrs", "private", "BCAUTH_OUTBOUND_ALLOW_CIDRS");
}

// Issue 13: each setting is declared once (settings.cpp's table). Every one has help text, shows
// its default and bounds in --help, has a default within its bounds that reads back as itself,
// and is documented; the config structs code builds start from the same defaults.
BOOST_AUTO_TEST_CASE(every_declared_setting_has_help_a_default_within_bounds_and_reads_it_back) {
  std::ifstream in(std::string(BCAUTH_SOURCE_DIR) + "/docs/operations.md");
  const std::string operations((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const app::Settings defaults;
  std::set<std::string> envs, keys;
  BOOST_TEST(app::settingKeys().size() >= 40u);
  for (const auto& setting : app::settingKeys()) {
    BOOST_TEST_CONTEXT(setting.env) {
      BOOST_TEST(envs.insert(setting.env).second);  // each declared once
      BOOST_TEST(keys.insert(setting.key).second);
      BOOST_TEST(std::string(setting.env).rfind("BCAUTH_", 0) == 0u);
      BOOST_TEST(std::string(setting.key).rfind("bcauth.", 0) == 0u);
      BOOST_TEST(std::string(setting.meaning).size() > 10u);
      BOOST_TEST(operations.find("`" + std::string(setting.env) + "`") != std::string::npos);
      BOOST_TEST(setting.defaultText == setting.value(defaults));
      if (!setting.defaultText.empty()) {
        // The default is written in one place: the help line shows it, the meaning does not repeat it.
        BOOST_TEST(std::string(setting.meaning).find("(default") == std::string::npos);
        BOOST_TEST(setting.help().find("(default " + setting.defaultText) != std::string::npos, setting.help());
      }
      if (setting.integer) {
        const long long value = std::stoll(setting.defaultText);
        BOOST_TEST(setting.min <= value);
        BOOST_TEST(value <= setting.max);
        BOOST_TEST(setting.help().find(std::to_string(setting.min) + " to " + std::to_string(setting.max)) !=
                       std::string::npos,
                   setting.help());
        // One past each bound is refused, naming the setting.
        expectRefused(setting.key, std::to_string(setting.min - 1), setting.env);
        expectRefused(setting.key, std::to_string(setting.max + 1), setting.env);
      }
      if (setting.defaultText.empty()) continue;
      // Written out as the default, the setting reads back as the default.
      auto c = complete();
      c->setString(setting.key, setting.defaultText);
      const auto loaded = app::loadSettings(*c);
      BOOST_REQUIRE_MESSAGE(loaded.isOk(), loaded.status().toString());
      BOOST_TEST(setting.value(*loaded) == setting.defaultText);
    }
  }
  // The commented example configuration sets defaults only, and only declared keys.
  Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> example =
      new Poco::Util::PropertyFileConfiguration(std::string(BCAUTH_SOURCE_DIR) + "/docs/bcauth.example.properties");
  Poco::Util::AbstractConfiguration::Keys exampleKeys;
  std::vector<std::string> pending = {""};
  while (!pending.empty()) {  // every leaf key, depth first
    const std::string prefix = pending.back();
    pending.pop_back();
    Poco::Util::AbstractConfiguration::Keys children;
    example->keys(prefix, children);
    if (children.empty() && !prefix.empty()) exampleKeys.push_back(prefix);
    for (const auto& child : children) pending.push_back(prefix.empty() ? child : prefix + "." + child);
  }
  BOOST_TEST(exampleKeys.size() >= 20u);  // the walk found them
  for (const auto& key : exampleKeys) {
    BOOST_TEST_CONTEXT(key) {
      BOOST_TEST(keys.count(key) == 1u);  // a declared setting
      for (const auto& setting : app::settingKeys()) {
        if (key == setting.key) BOOST_TEST(Poco::trim(example->getRawString(key)) == setting.defaultText);
      }
    }
  }
  // The structs code builds (tests, the demo) start from the same defaults as the settings.
  const http::HttpConfig http;
  BOOST_TEST(http.jwtWindowSeconds == defaults.jwtWindowSeconds);
  BOOST_TEST(http.maxBodyBytes == defaults.maxBodyBytes);
  BOOST_TEST(http.maxThreads == defaults.maxThreads);
  BOOST_TEST(http.appleThreads == defaults.appleThreads);
  BOOST_TEST(http.maxQueued == defaults.maxQueued);
  BOOST_TEST(http.maxConnections == defaults.maxConnections);
  BOOST_TEST(http.maxConnectionsPerAddress == defaults.maxConnectionsPerAddress);
  BOOST_TEST(http.headerTimeoutSeconds == defaults.headerTimeoutSeconds);
  BOOST_TEST(http.bodyTimeoutSeconds == defaults.bodyTimeoutSeconds);
  BOOST_TEST(http.maxHeaderBytes == static_cast<std::size_t>(defaults.maxHeaderBytes));
  BOOST_TEST(http.idleTimeoutSeconds == defaults.idleTimeoutSeconds);
  BOOST_TEST(http.readTimeoutSeconds == defaults.readTimeoutSeconds);
  const http::ListenerConfig listener;
  BOOST_TEST(listener.maxConnections == defaults.maxConnections);
  BOOST_TEST(listener.maxConnectionsPerAddress == defaults.maxConnectionsPerAddress);
  BOOST_TEST(listener.headerTimeout.count() == defaults.headerTimeoutSeconds * 1000);
  BOOST_TEST(listener.idleTimeout.count() == defaults.idleTimeoutSeconds * 1000);
  BOOST_TEST(listener.maxHeaderBytes == static_cast<std::size_t>(defaults.maxHeaderBytes));
  const service::ServiceConfig service;
  BOOST_TEST(service.gateway.baseUrl == defaults.appleGatewayUrl);
  BOOST_TEST(service.defaultTtlSeconds == defaults.defaultTtlSeconds);
  BOOST_TEST(service.v2MessageVersion == defaults.v2MessageVersion);
  BOOST_TEST(service.deliveryMaxAttempts == defaults.deliveryMaxAttempts);
  BOOST_TEST(service.deliveryRetryBaseMs == defaults.deliveryRetryBaseMs);
  BOOST_TEST(service.webhookMaxAttempts == defaults.webhookMaxAttempts);
  BOOST_TEST(service.webhookRetryBaseMs == defaults.webhookRetryBaseMs);
  BOOST_TEST(service.eventsRecheckMillis == defaults.eventsRecheckMs);
}
