// Server settings: required values, malformed values, environment over file.
#define BOOST_TEST_MODULE settings
#include <boost/test/unit_test.hpp>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include "app/settings.h"

using namespace bcauth;

namespace {

Poco::AutoPtr<Poco::Util::MapConfiguration> complete() {
  Poco::AutoPtr<Poco::Util::MapConfiguration> c = new Poco::Util::MapConfiguration();
  c->setString("bcauth.cspId", "csp-1");
  c->setString("bcauth.appleSecret", "c2VjcmV0LWJ5dGVz");
  c->setString("bcauth.apiKeys", "key-aaaaaaaaaaaaaaaa, key-bbbbbbbbbbbbbbbb");
  c->setString("bcauth.masterKey", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
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
}

BOOST_AUTO_TEST_CASE(master_key_file) {
  auto c = complete();
  c->remove("bcauth.masterKey");
  c->setString("bcauth.masterKeyFile", "/nonexistent/master.key");
  auto s = app::loadSettings(*c);
  BOOST_REQUIRE(!s.isOk());
  BOOST_TEST(s.status().field() == "BCAUTH_MASTER_KEY_FILE");
}

BOOST_AUTO_TEST_CASE(environment_overrides) {
  setenv("BCAUTH_CSP_ID", "from-env", 1);
  auto c = complete();
  app::applyEnvironment(*c);
  unsetenv("BCAUTH_CSP_ID");
  BOOST_TEST(app::loadSettings(*c)->cspId == "from-env");
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
