// The iOS 16+ flow end to end over real HTTP: bcauth, an IdP double and a device simulator,
// all on loopback.
#define BOOST_TEST_MODULE v2_flow
#include <boost/test/unit_test.hpp>

#include <Poco/URI.h>

#include "bcauth/crypto.h"
#include "demo/device_simulator.h"
#include "demo/idp_double.h"
#include "server_harness.h"

using namespace bcauth;
using bcauth::demo::DeviceRun;
using bcauth::demo::IdpDouble;
using bcauth::test::TestServer;

namespace {

struct Setup {
  IdpDouble idp;
  TestServer server;
  std::string conversation = "urn:mbid:AQAAY+v2/flow=";
  std::string bcauthUrl;

  explicit Setup(IdpDouble::Config config = {}, const std::string& authMethod = "client_secret_post") : idp(config) {
    bcauthUrl = "http://127.0.0.1:" + std::to_string(server.port());
    const std::string provider = R"({"name":"Example IdP","authorizationUrl":")" + idp.baseUrl() + R"(/authorize",)" +
                                 R"("tokenUrl":")" + idp.baseUrl() + R"(/token","userinfoUrl":")" + idp.baseUrl() +
                                 R"(/userinfo","clientId":")" + idp.config().clientId + R"(","clientSecret":")" +
                                 idp.config().clientSecret + R"(","tokenAuthMethod":")" + authMethod +
                                 R"(","scopes":["openid","email","profile"],"profileFields":{"email":"email","displayName":"name"}})";
    auto put = server.call("PUT", "/v1/providers/idp", provider);
    BOOST_REQUIRE_MESSAGE(put.status == 200, put.body);
    BOOST_REQUIRE(server.deliver(R"({"id":")" + crypto::randomUuid() + R"(","type":"text","sourceId":")" + conversation +
                                 R"(","destinationId":"biz","body":"hi"})",
                                 "QUICK,AUTH,AUTH2")
                      .status == 200);
  }

  Poco::JSON::Object::Ptr create() {
    auto r = server.call("POST", "/v1/auth-requests",
                         R"({"conversationId":")" + conversation + R"(","businessId":"biz","providerId":"idp"})");
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    auto created = r.json();
    BOOST_REQUIRE_EQUAL(created->getValue<std::string>("flow"), "v2");
    return created;
  }

  DeviceRun device(const Poco::JSON::Object::Ptr& created, bool deny = false, bool tamper = false) {
    return bcauth::demo::runV2Device(created->getObject("message"), idp.config().clientId, idp.baseUrl(),
                                     server.settings().publicUrl, bcauthUrl, {deny, tamper});
  }

  Poco::JSON::Array::Ptr events() {
    std::string encoded;
    Poco::URI::encode(conversation, "/+=:", encoded);
    return server.call("GET", "/v1/conversations/" + encoded + "/events").json()->getArray("events");
  }

  Poco::JSON::Object::Ptr lastEvent(const std::string& type) {
    auto list = events();
    Poco::JSON::Object::Ptr found;
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto e = list->getObject(static_cast<unsigned>(i));
      if (e->getValue<std::string>("type") == type) found = e;
    }
    return found;
  }

  int count(const std::string& type) {
    int n = 0;
    auto list = events();
    for (std::size_t i = 0; i < list->size(); ++i) n += list->getObject(static_cast<unsigned>(i))->getValue<std::string>("type") == type;
    return n;
  }

  int deviceReply(const Poco::JSON::Object::Ptr& created, const std::string& authenticate) {
    return server.deliver(R"({"id":")" + crypto::randomUuid() + R"(","type":"interactive","sourceId":")" + conversation +
                          R"(","destinationId":"biz","interactiveData":{"data":{"version":"1.0","requestIdentifier":")" +
                          created->getValue<std::string>("requestIdentifier") + R"(","authenticate":)" + authenticate + "}}}")
        .status;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(success_end_to_end) {
  Setup s;
  const auto created = s.create();
  const DeviceRun run = s.device(created);
  BOOST_TEST(run.loginPage.find(R"(autocomplete="username")") != std::string::npos);
  BOOST_TEST(run.loginPage.find(R"(autocomplete="current-password")") != std::string::npos);
  BOOST_TEST(run.finalLocation == "messages-auth://?status=success");

  const auto succeeded = s.lastEvent("auth.succeeded");
  BOOST_REQUIRE(succeeded);
  const auto customer = succeeded->getObject("data")->getObject("customer");
  BOOST_REQUIRE(customer);
  BOOST_TEST(customer->getValue<std::string>("email") == "customer@example.com");
  BOOST_TEST(customer->getValue<std::string>("displayName") == "Casey Customer");

  const std::string id = created->getValue<std::string>("id");
  auto token = s.server.call("GET", "/v1/auth-requests/" + id + "/token").json();
  BOOST_TEST(token->getValue<std::string>("accessToken").rfind("idp-access-", 0) == 0u);
  BOOST_TEST(token->getValue<bool>("refreshTokenAvailable"));
  BOOST_TEST(token->has("expiresAt"));

  // The device's later reply confirms: no second event.
  BOOST_TEST(s.deviceReply(created, R"({"status":"success"})") == 200);
  BOOST_TEST(s.count("auth.succeeded") == 1);
  BOOST_TEST(s.count("auth.rejected") == 0);

  // Refresh with the stored refresh token.
  auto refreshed = s.server.call("POST", "/v1/auth-requests/" + id + "/refresh");
  BOOST_REQUIRE_MESSAGE(refreshed.status == 200, refreshed.body);
  BOOST_TEST(refreshed.json()->getValue<std::string>("accessToken") != token->getValue<std::string>("accessToken"));

  // The state is single use: replaying the IdP's redirect fails and is recorded.
  BOOST_TEST(bcauth::demo::callCallback(s.bcauthUrl, run.callbackUrl.substr(run.callbackUrl.find('?') + 1)) ==
             "messages-auth://?status=failure&error_code=1");
  BOOST_TEST(s.count("auth.rejected") == 1);
}

BOOST_AUTO_TEST_CASE(client_secret_basic) {
  IdpDouble::Config config;
  config.basicAuth = true;
  Setup s(config, "client_secret_basic");
  BOOST_TEST(s.device(s.create()).finalLocation == "messages-auth://?status=success");
}

BOOST_AUTO_TEST_CASE(pkce_mismatch_fails_the_exchange) {
  Setup s;
  const auto created = s.create();
  BOOST_TEST(s.device(created, false, true).finalLocation == "messages-auth://?status=failure&error_code=3");
  BOOST_TEST(s.idp.lastTokenError() == "invalid_grant: PKCE");
  const auto failed = s.lastEvent("auth.failed");
  BOOST_REQUIRE(failed);
  BOOST_TEST(failed->getObject("data")->getValue<std::string>("reason") == "provider_error");
  BOOST_TEST(failed->getObject("data")->getObject("deviceError")->getValue<int>("code") == 3);
  // The device then reports failure with our code: reconciled, no second event.
  BOOST_TEST(s.deviceReply(created, R"({"status":"failure","error_code":3})") == 200);
  BOOST_TEST(s.count("auth.failed") == 1);
  BOOST_TEST(s.server.call("GET", "/v1/auth-requests/" + created->getValue<std::string>("id") + "/token").status == 409);
}

BOOST_AUTO_TEST_CASE(idp_500_and_token_without_access_token) {
  Setup s;
  s.idp.setTokenMode(IdpDouble::TokenMode::kHttp500);
  BOOST_TEST(s.device(s.create()).finalLocation == "messages-auth://?status=failure&error_code=3");
  s.idp.setTokenMode(IdpDouble::TokenMode::kNoAccessToken);
  BOOST_TEST(s.device(s.create()).finalLocation == "messages-auth://?status=failure&error_code=4");
  s.idp.setTokenMode(IdpDouble::TokenMode::kNotJson);
  BOOST_TEST(s.device(s.create()).finalLocation == "messages-auth://?status=failure&error_code=4");
  BOOST_TEST(s.count("auth.failed") == 3);
}

BOOST_AUTO_TEST_CASE(access_denied_is_a_cancel) {
  Setup s;
  BOOST_TEST(s.device(s.create(), true).finalLocation == "messages-auth://?status=cancel");
  const auto cancelled = s.lastEvent("auth.cancelled");
  BOOST_REQUIRE(cancelled);
  BOOST_TEST(cancelled->getObject("data")->getValue<std::string>("by") == "customer");
}

BOOST_AUTO_TEST_CASE(profile_failure_does_not_undo_the_success) {
  Setup s;
  s.idp.setUserinfoFails(true);
  BOOST_TEST(s.device(s.create()).finalLocation == "messages-auth://?status=success");
  const auto data = s.lastEvent("auth.succeeded")->getObject("data");
  BOOST_TEST(!data->has("customer"));
  BOOST_TEST(data->getValue<std::string>("profileError").find("500") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_state_and_missing_code) {
  Setup s;
  BOOST_TEST(bcauth::demo::callCallback(s.bcauthUrl, "code=abc&state=never-issued") ==
             "messages-auth://?status=failure&error_code=1");
  BOOST_TEST(bcauth::demo::callCallback(s.bcauthUrl, "code=abc") == "messages-auth://?status=failure&error_code=1");
  const auto created = s.create();
  const std::string state = created->getObject("message")->getObject("interactiveData")->getObject("data")
                                ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("state");
  BOOST_TEST(bcauth::demo::callCallback(s.bcauthUrl, "state=" + state) == "messages-auth://?status=failure&error_code=5");
  // A cancelled request's state no longer completes anything.
  const auto second = s.create();
  s.server.call("POST", "/v1/auth-requests/" + second->getValue<std::string>("id") + "/cancel");
  BOOST_TEST(s.device(second).finalLocation == "messages-auth://?status=failure&error_code=6");
}
