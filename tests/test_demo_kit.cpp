// The demo's kit, which `bcauth demo`, the tests, the load benchmark and the fuzz seeds share:
// one temporary-directory helper, one way to play Apple's gateway towards bcauth, and the
// gateway double that plays Apple both ways.
#define BOOST_TEST_MODULE demo_kit
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <utility>

#include "bcauth/crypto.h"
#include "clients/http_call.h"
#include "demo/apple_sender.h"
#include "demo/gateway_double.h"
#include "demo/temp_dir.h"
#include "http/apple_jwt.h"
#include "http/body.h"
#include "protocol/apple_jwt.h"
#include "server_harness.h"
#include "test_support.h"

using namespace bcauth;
namespace fs = std::filesystem;

namespace {

const demo::AppleAccount kAccount{test::kCspId, test::kAppleSecret};

std::string textMessage(const std::string& id, const std::string& from) {
  return R"({"id":")" + id + R"(","type":"text","v":1,"sourceId":")" + from +
         R"(","destinationId":"biz-kit","body":"hello"})";
}

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// --- TempDir ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_temp_dir_is_new_and_empty_and_goes_with_everything_in_it) {
  std::string kept;
  {
    const demo::TempDir a("bcauth-kit-"), b("bcauth-kit-");
    BOOST_TEST(a.path() != b.path());
    BOOST_TEST(fs::is_directory(a.path()));
    BOOST_TEST(fs::is_empty(a.path()));
    BOOST_TEST(fs::path(a.path()).filename().string().rfind("bcauth-kit-", 0) == 0u);
    BOOST_TEST(((fs::status(a.path()).permissions() & fs::perms::others_all) == fs::perms::none));  // mkdtemp: 0700
    fs::create_directories(fs::path(a.path()) / "nested" / "deeper");
    std::ofstream(fs::path(a.path()) / "nested" / "deeper" / "file") << "data";
    kept = a.path();
  }
  BOOST_TEST(!fs::exists(kept));
}

BOOST_AUTO_TEST_CASE(a_temp_dir_goes_under_the_parent_and_moves_with_its_owner) {
  const demo::TempDir parent;
  std::string path;
  {
    demo::TempDir inner("x-", parent.path());
    path = inner.path();
    BOOST_TEST(fs::path(path).parent_path() == fs::path(parent.path()));
    demo::TempDir moved(std::move(inner));
    BOOST_TEST(moved.path() == path);
    demo::TempDir other("y-", parent.path());
    const std::string otherPath = other.path();
    other = std::move(moved);  // other's own directory goes at once
    BOOST_TEST(!fs::exists(otherPath));
    BOOST_TEST(fs::is_directory(path));
  }
  BOOST_TEST(!fs::exists(path));
  BOOST_CHECK_THROW(demo::TempDir("x-", parent.path() + "/no-such-dir"), std::runtime_error);
}

// --- playing Apple ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_apple_message_is_what_apples_gateway_posts) {
  const std::string json = textMessage("msg-0001", "urn:mbid:AQAAY+kit/customer=");
  const auto message = demo::appleMessage(kAccount, json, [] {
    demo::AppleMessageOptions options;
    options.capabilities = "QUICK,AUTH,AUTH2";
    return options;
  }());
  // A fresh JWT with aud = the CSP id, as bcauth's inbound check reads it.
  const auto check = http::verifyAppleJwt(message.headers.at("Authorization"), test::kAppleSecret, test::kCspId,
                                          nowSeconds(), 60);
  BOOST_TEST((check.verdict == http::JwtVerdict::kValid), check.reason);
  // The body gzipped; the message's ids repeated in headers.
  BOOST_TEST(message.body.substr(0, 2) == std::string("\x1f\x8b"));
  std::string body = message.body;
  BOOST_TEST((http::inflateIfGzip(body, 1 << 20) == http::BodyError::kNone));
  BOOST_TEST(body == json);
  BOOST_TEST(message.headers.at("id") == "msg-0001");
  BOOST_TEST(message.headers.at("source-id") == "urn:mbid:AQAAY+kit/customer=");
  BOOST_TEST(message.headers.at("destination-id") == "biz-kit");
  BOOST_TEST(message.headers.at("capability-list") == "QUICK,AUTH,AUTH2");
}

BOOST_AUTO_TEST_CASE(an_apple_message_can_be_made_wrong_on_purpose) {
  demo::AppleMessageOptions options;
  options.gzip = false;
  options.authorization = "";
  const auto plain = demo::appleMessage(kAccount, "not json", options);
  BOOST_TEST(plain.body == "not json");
  BOOST_TEST(plain.headers.count("Authorization") == 0u);
  BOOST_TEST(plain.headers.count("capability-list") == 0u);
  BOOST_TEST(plain.headers.count("id") == 0u);  // nothing to read the ids from
  // Ids no header could carry (a newline, hundreds of bytes) stay in the body only.
  for (const std::string& from : {std::string("urn:mbid:a\\nb"), std::string(300, 'c')}) {
    BOOST_TEST(demo::appleMessage(kAccount, textMessage("m-1", from)).headers.count("source-id") == 0u);
  }
  // A fixed iat and given ids (the fuzz seeds, the load generator).
  options.authorization.reset();
  options.issuedAt = 1'700'000'000;
  options.ids = demo::AppleMessageIds{"i", "s", "d"};
  const auto fixed = demo::appleMessage(kAccount, "{}", options);
  BOOST_TEST(fixed.headers.at("Authorization") ==
             "Bearer " + protocol::signAppleJwt(test::kAppleSecret, test::kCspId, 1'700'000'000,
                                                protocol::AppleJwtDirection::kToCsp));
  BOOST_TEST(fixed.headers.at("source-id") == "s");
}

// --- the gateway double -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_gateway_double_delivers_to_bcauth_as_apple) {
  test::TestServer server;
  const demo::GatewayDouble gateway(test::kCspId, test::kAppleSecret);
  const std::string bcauthUrl = "http://127.0.0.1:" + std::to_string(server.port());
  const auto answer = gateway.deliver(bcauthUrl, textMessage(crypto::randomUuid(), "urn:mbid:kit-deliver"), "AUTH");
  BOOST_TEST(answer.reached);
  BOOST_TEST(answer.status == 200, answer.body);
  const auto events = server.call("GET", "/v1/conversations/urn:mbid:kit-deliver/events").json()->getArray("events");
  BOOST_REQUIRE(events->size() == 1u);
  BOOST_TEST(events->getObject(0)->getValue<std::string>("type") == "message.received");
  // Another CSP's gateway account is refused.
  const demo::GatewayDouble stranger("another-csp", test::kAppleSecret);
  BOOST_TEST(stranger.deliver(bcauthUrl, textMessage(crypto::randomUuid(), "urn:mbid:kit-deliver"), "AUTH").status == 403);
}

// The double accepts what the gateway client signs (iss = the CSP id) and nothing else.
BOOST_AUTO_TEST_CASE(the_gateway_double_checks_the_csps_jwt) {
  demo::GatewayDouble gateway(test::kCspId, test::kAppleSecret);
  const auto post = [&](const std::string& jwt) {
    return clients::httpCall("POST", gateway.baseUrl() + "/authenticate",
                             {{"Authorization", "Bearer " + jwt}, {"Content-Type", "application/json"}}, "{}", 10)
        .status;
  };
  using protocol::AppleJwtDirection;
  BOOST_TEST(post(protocol::signAppleJwt(test::kAppleSecret, test::kCspId, nowSeconds(), AppleJwtDirection::kToApple)) == 200);
  BOOST_TEST(post(protocol::signAppleJwt(test::kAppleSecret, test::kCspId, nowSeconds(), AppleJwtDirection::kToCsp)) == 403);
  BOOST_TEST(post(protocol::signAppleJwt("wrong", test::kCspId, nowSeconds(), AppleJwtDirection::kToApple)) == 403);
  BOOST_TEST(post(protocol::signAppleJwt(test::kAppleSecret, test::kCspId, nowSeconds() - 3600, AppleJwtDirection::kToApple)) ==
             403);
  const auto received = gateway.received();
  BOOST_REQUIRE(received.size() == 4u);
  BOOST_TEST(received[0].jwtValid);
  BOOST_TEST(!received[1].jwtValid);
}
