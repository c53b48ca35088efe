// Master-key rotation: `bcauth rekey` re-seals everything, and a server on the new key still
// holds every secret; a wrong old key changes nothing.
#define BOOST_TEST_MODULE rekey
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "app/cli.h"
#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "server_harness.h"

using namespace bcauth;
using bcauth::test::TestServer;

namespace {

std::string writeKey(const std::string& dir, const std::string& name, const std::string& key) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << key << "\n";
  return path;
}

std::string keyOf(const Poco::JSON::Object::Ptr& created) {
  return created->getObject("message")->getObject("interactiveData")->getObject("data")->getObject("authenticate")
      ->getObject("oauth2")->getValue<std::string>("responseEncryptionKey");
}

std::string reply(const Poco::JSON::Object::Ptr& created, const std::string& token) {
  return R"({"id":")" + crypto::randomUuid() + R"(","type":"interactive","sourceId":"urn:mbid:rekey","destinationId":"b",)"
         R"("interactiveData":{"data":{"requestIdentifier":")" + created->getValue<std::string>("requestIdentifier") +
         R"(","authenticate":{"status":"authenticated","token":")" + token + R"("}}}})";
}

}  // namespace

BOOST_AUTO_TEST_CASE(rotation_keeps_every_secret) {
  const std::string dir = TestServer::freshDir();
  auto settings = bcauth::test::testSettings(dir + "/data");
  auto server = std::make_unique<TestServer>(settings);
  BOOST_REQUIRE_EQUAL(server->call("PUT", "/v1/providers/idp",
                                   R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t",)"
                                   R"("clientId":"c","clientSecret":"rotated-secret","scopes":["openid"]})").status,
                      200);
  BOOST_REQUIRE_EQUAL(server->call("PUT", "/v1/webhooks/desk",
                                   R"({"url":"http://127.0.0.1:9/hooks","secret":"webhook-secret-0123456789"})").status,
                      200);
  const std::string body = R"({"conversationId":"urn:mbid:rekey","businessId":"b","providerId":"idp","flow":"legacy"})";
  const auto done = server->call("POST", "/v1/auth-requests", body).json();
  const auto pending = server->call("POST", "/v1/auth-requests", body).json();
  BOOST_REQUIRE_EQUAL(server->deliver(reply(done, crypto::encrypt(crypto::PublicKey::fromBase64(keyOf(done)).value(), "token-before").value())).status, 200);
  server->stop();

  const std::string newKey = crypto::base64Encode(crypto::randomBytes(32));
  Poco::File(dir).createDirectories();
  const std::string oldFile = writeKey(dir, "old.key", settings.masterKey);
  const std::string newFile = writeKey(dir, "new.key", newKey);
  const std::string wrongFile = writeKey(dir, "wrong.key", crypto::base64Encode(crypto::randomBytes(32)));

  std::ostringstream out, err;
  BOOST_TEST(app::runCli({"rekey", "--old-key-file", wrongFile, "--new-key-file", newFile, "--data-dir", settings.dataDir}, out, err) == 1);
  BOOST_TEST(err.str().find("nothing was changed") != std::string::npos);
  // A new key of 32 equal bytes is refused (the old one may be anything: moving away is the point).
  const std::string zeroFile = writeKey(dir, "zero.key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  err.str("");
  BOOST_TEST(app::runCli({"rekey", "--old-key-file", oldFile, "--new-key-file", zeroFile, "--data-dir", settings.dataDir}, out, err) == 1);
  BOOST_TEST(err.str().find("new key: has all 32 bytes equal") != std::string::npos, err.str());
  out.str("");
  BOOST_TEST(app::runCli({"rekey", "--old-key-file", oldFile, "--new-key-file", newFile, "--data-dir", settings.dataDir}, out, err) == 0,
             err.str());
  BOOST_TEST(out.str().find("re-sealed") != std::string::npos);

  settings.masterKey = newKey;
  server = std::make_unique<TestServer>(settings);
  // The token sealed before the rotation opens under the new key.
  auto token = server->call("GET", "/v1/auth-requests/" + done->getValue<std::string>("id") + "/token");
  BOOST_REQUIRE_EQUAL(token.status, 200);
  BOOST_TEST(token.json()->getValue<std::string>("accessToken") == "token-before");
  // The pending request's private key too: its reply still decrypts.
  BOOST_TEST(server->deliver(reply(pending, crypto::encrypt(crypto::PublicKey::fromBase64(keyOf(pending)).value(), "token-after").value())).status == 200);
  BOOST_TEST(server->call("GET", "/v1/auth-requests/" + pending->getValue<std::string>("id") + "/token").json()->getValue<std::string>("accessToken") ==
             "token-after");
  // And the provider's client secret: a new legacy request unseals it.
  BOOST_TEST(server->call("POST", "/v1/auth-requests", body).status == 201);
  BOOST_TEST(app::runCli({"rekey", "--old-key-file", oldFile, "--new-key-file", newFile}, out, err) == 2);
}
