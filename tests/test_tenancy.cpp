// Tenancy over HTTP: businesses and API keys made and revoked by an operator, business keys
// kept off the operator's routes (404) and, until reads are scoped by business, off the data
// routes too (403), so a business key never sees another business's data.
#define BOOST_TEST_MODULE tenancy
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "server_harness.h"
#include "service/tenancy.h"

using bcauth::test::Response;
using bcauth::test::TestServer;

namespace {

std::map<std::string, std::string> bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

Response as(const TestServer& server, const std::string& key, const std::string& method, const std::string& path,
            const std::string& body = "") {
  return server.call(method, path, body, bearer(key), false);
}

std::string errorCode(const Response& r) { return r.json()->getObject("error")->getValue<std::string>("code"); }

}  // namespace

BOOST_AUTO_TEST_CASE(operators_make_businesses) {
  TestServer server;
  auto made = server.call("POST", "/v1/businesses", R"({"id":"biz-a","name":"Business A"})");
  BOOST_TEST_REQUIRE(made.status == 201, made.body);
  BOOST_TEST(made.json()->getValue<std::string>("id") == "biz-a");
  BOOST_TEST(made.json()->getValue<std::string>("name") == "Business A");
  BOOST_TEST(!made.json()->getValue<std::string>("createdAt").empty());
  BOOST_TEST(server.call("POST", "/v1/businesses", R"({"id":"biz-a"})").status == 409);
  const auto bad = server.call("POST", "/v1/businesses", R"({"id":"no spaces"})");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.json()->getObject("error")->getValue<std::string>("field") == "id");
  BOOST_TEST(server.call("POST", "/v1/businesses", R"({"name":"no id"})").status == 400);
  BOOST_TEST(server.call("POST", "/v1/businesses", R"({"id":"biz-b"})").status == 201);
  const auto list = server.call("GET", "/v1/businesses");
  BOOST_TEST_REQUIRE(list.status == 200);
  BOOST_TEST(list.json()->getArray("businesses")->size() == 2u);
  BOOST_TEST(server.call("GET", "/v1/businesses/biz-b").json()->getValue<std::string>("name") == "biz-b");
  BOOST_TEST(errorCode(server.call("GET", "/v1/businesses/biz-c")) == "not_found");
}

// A key is shown once; reads show its id, name, business and times, never the secret or its hash.
BOOST_AUTO_TEST_CASE(api_keys_are_shown_once_and_revoked_at_once) {
  TestServer server;
  BOOST_REQUIRE(server.call("POST", "/v1/businesses", R"({"id":"biz-a"})").status == 201);
  const auto made = server.call("POST", "/v1/api-keys", R"({"name":"ops"})");
  BOOST_TEST_REQUIRE(made.status == 201, made.body);
  const std::string opKey = made.json()->getValue<std::string>("key");
  const std::string opId = made.json()->getValue<std::string>("id");
  BOOST_TEST(opKey.rfind("bcak_" + opId + "_", 0) == 0u);
  BOOST_TEST(!made.json()->has("businessId"));

  // The new operator key works everywhere, including the tenancy routes.
  BOOST_TEST(as(server, opKey, "GET", "/v1/providers").status == 200);
  BOOST_TEST(as(server, opKey, "GET", "/v1/businesses").status == 200);

  const auto list = as(server, opKey, "GET", "/v1/api-keys");
  BOOST_TEST_REQUIRE(list.status == 200);
  // The secret is what follows bcak_<16 hex digits>_ (it may hold '_' itself, being Base64url).
  const auto secretPart = bcauth::service::parseApiKey(opKey);
  BOOST_REQUIRE(secretPart.has_value());
  BOOST_TEST(list.body.find(secretPart->secret) == std::string::npos);
  const auto first = list.json()->getArray("apiKeys")->getObject(0);
  BOOST_TEST(first->getValue<std::string>("id") == opId);
  BOOST_TEST(first->getValue<std::string>("name") == "ops");
  BOOST_TEST(!first->has("key"));
  BOOST_TEST(!first->has("secretHash"));
  BOOST_TEST(!first->getValue<std::string>("lastUsedAt").empty());  // it was just used

  BOOST_TEST(server.call("POST", "/v1/api-keys", R"({"name":"x","businessId":"nobody"})").status == 400);
  BOOST_TEST(server.call("POST", "/v1/api-keys", R"({"businessId":"biz-a"})").status == 400);

  BOOST_TEST(server.call("DELETE", "/v1/api-keys/" + opId).status == 204);
  BOOST_TEST(as(server, opKey, "GET", "/v1/providers").status == 403);
  const auto after = server.call("GET", "/v1/api-keys").json()->getArray("apiKeys")->getObject(0);
  BOOST_TEST(!after->getValue<std::string>("revokedAt").empty());
  BOOST_TEST(server.call("DELETE", "/v1/api-keys/0123456789abcdef").status == 404);
  // A key of the right form that was never made, and a wrong secret: refused alike.
  BOOST_TEST(as(server, "bcak_0123456789abcdef_" + std::string(43, 'A'), "GET", "/v1/providers").status == 403);
}

// A business key gets 404 on the operator's routes (as if they did not exist); the data routes
// answer it with its own business's data only (test_isolation holds that against a second
// business): a fresh business has none.
BOOST_AUTO_TEST_CASE(business_keys_see_only_their_business) {
  TestServer server;
  BOOST_REQUIRE(server.call("POST", "/v1/businesses", R"({"id":"biz-a"})").status == 201);
  const auto made = server.call("POST", "/v1/api-keys", R"({"name":"desk","businessId":"biz-a"})");
  BOOST_TEST_REQUIRE(made.status == 201, made.body);
  BOOST_TEST(made.json()->getValue<std::string>("businessId") == "biz-a");
  const std::string desk = made.json()->getValue<std::string>("key");
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/businesses"}, {"POST", "/v1/businesses"}, {"GET", "/v1/businesses/biz-a"},
           {"GET", "/v1/api-keys"}, {"POST", "/v1/api-keys"}, {"DELETE", "/v1/api-keys/x"}}) {
    BOOST_TEST(as(server, desk, method, path, method == "POST" ? "{}" : "").status == 404, method + " " + path);
  }
  // The operator's provider is shared: seen (to enable it), not enabled for biz-a.
  BOOST_REQUIRE(server.call("PUT", "/v1/providers/p", R"({"name":"P","authorizationUrl":"https://idp.example/a",)"
                                                      R"("tokenUrl":"https://idp.example/t","clientId":"c","scopes":["openid"]})")
                    .status == 200);
  const auto providers = as(server, desk, "GET", "/v1/providers", "");
  BOOST_TEST(providers.status == 200);
  BOOST_TEST(providers.body.find(R"("shared":true)") != std::string::npos, providers.body);
  BOOST_TEST(providers.body.find(R"("enabled":false)") != std::string::npos, providers.body);
  for (const auto& [path, empty] : std::vector<std::pair<std::string, std::string>>{
           {"/v1/events", R"("events":[])"}, {"/v1/webhooks", R"("webhooks":[])"},
           {"/v1/webhooks/dead-letters", R"("deadLetters":[])"}}) {
    const auto read = as(server, desk, "GET", path, "");
    BOOST_TEST(read.status == 200, path);
    BOOST_TEST(read.body.find(empty) != std::string::npos, path + ": " + read.body);
  }
  for (const auto& path : {"/v1/auth-requests/r", "/v1/auth-requests/r/token", "/v1/conversations/c/events"}) {
    BOOST_TEST(as(server, desk, "GET", path, "").status == 404, path);
  }
  // The operator's key from BCAUTH_API_KEYS still works as before.
  BOOST_TEST(server.call("GET", "/v1/providers").status == 200);
  // GET /v1/me: who each key is, never the key.
  const auto deskMe = as(server, desk, "GET", "/v1/me", "");
  BOOST_TEST_REQUIRE(deskMe.status == 200, deskMe.body);
  BOOST_TEST(deskMe.json()->getValue<bool>("operator") == false);
  BOOST_TEST(deskMe.json()->getValue<std::string>("businessId") == "biz-a");
  BOOST_TEST(deskMe.json()->getValue<std::string>("keyId") == made.json()->getValue<std::string>("id"));
  BOOST_TEST(deskMe.body.find(desk) == std::string::npos);
  const auto operatorMe = server.call("GET", "/v1/me");
  BOOST_TEST(operatorMe.json()->getValue<bool>("operator") == true);
  BOOST_TEST(!operatorMe.json()->has("businessId"));
  BOOST_TEST(operatorMe.json()->getValue<std::string>("keyId") == "env#0");
}

namespace {

struct Cli {
  int code;
  std::string out;
  std::string err;
};

Cli cli(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = bcauth::app::runCli(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

// `bcauth business` and `bcauth api-key` work on the configured store, next to a running server:
// a key made by the CLI is accepted by the server, and its revocation holds at the next call.
BOOST_AUTO_TEST_CASE(cli_manages_businesses_and_keys_of_the_store) {
  TestServer server;
  const std::string dir = server.settings().dataDir;
  auto added = cli({"business", "add", "biz-a", "--name", "Business A", "--data-dir", dir});
  BOOST_TEST_REQUIRE(added.code == 0, added.err);
  BOOST_TEST(cli({"business", "add", "biz-a", "--data-dir", dir}).code == 1);  // exists
  BOOST_TEST(cli({"business", "add", "bad id", "--data-dir", dir}).code == 1);
  const auto listed = cli({"business", "list", "--data-dir", dir});
  BOOST_TEST(listed.code == 0);
  BOOST_TEST(listed.out == "biz-a\tBusiness A\n");
  BOOST_TEST(server.call("GET", "/v1/businesses/biz-a").status == 200);

  const auto made = cli({"api-key", "create", "--name", "ops", "--data-dir", dir});
  BOOST_TEST_REQUIRE(made.code == 0, made.err);
  const std::string key = made.out.substr(0, made.out.find('\n'));
  BOOST_TEST(made.out == key + "\n");  // only the key on stdout, so it can be piped
  const auto parts = bcauth::service::parseApiKey(key);
  BOOST_REQUIRE(parts.has_value());
  BOOST_TEST(as(server, key, "GET", "/v1/providers").status == 200);

  const auto desk = cli({"api-key", "create", "--name", "desk", "--business-id", "biz-a", "--data-dir", dir});
  BOOST_TEST_REQUIRE(desk.code == 0, desk.err);
  BOOST_TEST(cli({"api-key", "create", "--name", "x", "--business-id", "nobody", "--data-dir", dir}).code == 1);

  const auto keys = cli({"api-key", "list", "--data-dir", dir});
  BOOST_TEST(keys.code == 0);
  BOOST_TEST(keys.out.find(parts->keyId + "\toperator\tops\tactive\n") != std::string::npos, keys.out);
  BOOST_TEST(keys.out.find("\tbiz-a\tdesk\tactive\n") != std::string::npos, keys.out);
  BOOST_TEST(keys.out.find(parts->secret) == std::string::npos);

  BOOST_TEST(cli({"api-key", "revoke", parts->keyId, "--data-dir", dir}).code == 0);
  BOOST_TEST(as(server, key, "GET", "/v1/providers").status == 403);
  BOOST_TEST(cli({"api-key", "list", "--data-dir", dir}).out.find(parts->keyId + "\toperator\tops\trevoked\n") !=
             std::string::npos);
  BOOST_TEST(cli({"api-key", "revoke", "0123456789abcdef", "--data-dir", dir}).code == 1);
  BOOST_TEST(cli({"api-key", "frobnicate", "--data-dir", dir}).code == 2);
  BOOST_TEST(cli({"business", "list"}).code == 2);  // no store named
}

// Each stored key has its own request-rate bucket, keyed by its id: one key over its rate does
// not hold back another, nor the operator's configured key.
BOOST_AUTO_TEST_CASE(each_key_has_its_own_rate_limit) {
  auto settings = bcauth::test::testSettings(TestServer::freshDir());
  settings.rateLimitPerKey = 1;
  settings.rateLimitPerKeyBurst = 3;
  TestServer server(settings);
  const auto first = server.call("POST", "/v1/api-keys", R"({"name":"one"})");
  BOOST_REQUIRE_EQUAL(first.status, 201);
  const auto second = server.call("POST", "/v1/api-keys", R"({"name":"two"})");
  BOOST_REQUIRE_EQUAL(second.status, 201);
  const std::string one = first.json()->getValue<std::string>("key");
  const std::string two = second.json()->getValue<std::string>("key");
  int refused = 0;
  for (int i = 0; i < 10 && refused == 0; ++i) refused += as(server, one, "GET", "/v1/providers").status == 429;
  BOOST_TEST(refused == 1);
  BOOST_TEST(as(server, two, "GET", "/v1/providers").status == 200);
}
