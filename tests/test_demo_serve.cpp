// `bcauth demo --serve` without a browser: the phone server's endpoints as the phone page calls
// them (state, the sheet, the legacy capture, the iOS 16+ callback, closing the sheet), the IdP
// double's login form in between, and what bcauth records for each. The same flows in a real
// browser are tests/browser/.
#define BOOST_TEST_MODULE demo_serve
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

#include "app/cli.h"
#include "clients/http_call.h"
#include "demo/demo_serve.h"
#include "test_support.h"

using bcauth::clients::HttpAnswer;
using bcauth::clients::httpCall;
using bcauth::demo::ServedDemo;

namespace {

const std::string kLegacy = "urn:mbid:AQAAYdemo+phone/legacy=";
const std::string kIos16 = "urn:mbid:AQAAYdemo+phone/ios16=";

Poco::JSON::Object::Ptr json(const HttpAnswer& answer) {
  Poco::JSON::Parser parser;
  return parser.parse(answer.body).extract<Poco::JSON::Object::Ptr>();
}

std::string phoneBase(const ServedDemo& demo) { return demo.phoneUrl().substr(0, demo.phoneUrl().size() - 7); }

HttpAnswer api(const ServedDemo& demo, const std::string& method, const std::string& path, const std::string& body = "") {
  return httpCall(method, demo.bcauthUrl() + path,
                  {{"Authorization", "Bearer " + ServedDemo::apiKey()}, {"Content-Type", "application/json"}}, body, 30);
}

// The phone's thread of one device.
Poco::JSON::Array::Ptr thread(const ServedDemo& demo, const std::string& device) {
  const auto devices = json(httpCall("GET", phoneBase(demo) + "/phone/api/state", {}, "", 10))->getArray("devices");
  for (std::size_t i = 0; i < devices->size(); ++i) {
    const auto d = devices->getObject(static_cast<unsigned>(i));
    if (d->getValue<std::string>("id") == device) return d->getArray("thread");
  }
  throw std::runtime_error("no device " + device);
}

// The agent asks; returns the requestIdentifier once the bubble is on the phone.
std::string agentAsks(const ServedDemo& demo, const std::string& customer, const std::string& device) {
  const auto created = api(demo, "POST", "/v1/auth-requests",
                           R"({"conversationId":")" + customer + R"(","businessId":"demo-business","providerId":"example"})");
  BOOST_REQUIRE_EQUAL(created.status, 201);
  const std::string rid = json(created)->getValue<std::string>("requestIdentifier");
  BOOST_REQUIRE(bcauth::test::waitUntil(std::chrono::seconds(20), [&] {
    const auto t = thread(demo, device);
    for (std::size_t i = 0; i < t->size(); ++i) {
      const auto e = t->getObject(static_cast<unsigned>(i));
      if (e->has("requestIdentifier") && e->getValue<std::string>("requestIdentifier") == rid) return true;
    }
    return false;
  }));
  return rid;
}

// The customer taps the bubble and submits the IdP's form; returns where the IdP redirected.
std::string customerSignsIn(const ServedDemo& demo, const std::string& rid, const std::string& password) {
  const auto sheet = httpCall("GET", phoneBase(demo) + "/phone/sheet?rid=" + bcauth::clients::urlEncode(rid), {}, "", 10);
  BOOST_REQUIRE_EQUAL(sheet.status, 302);
  const std::string authorize = sheet.headers.at("Location");
  const auto page = httpCall("GET", authorize, {}, "", 10);
  BOOST_REQUIRE_EQUAL(page.status, 200);
  BOOST_TEST(page.body.find(R"(autocomplete="current-password")") != std::string::npos);
  std::string form = "username=casey&password=" + password;
  for (const auto& [name, value] : Poco::URI(authorize).getQueryParameters()) {
    if (name == "redirect_uri" || name == "state" || name == "scope" || name == "code_challenge" || name == "code_challenge_method") {
      form += "&" + name + "=" + bcauth::clients::urlEncode(value);
    }
  }
  const auto login = httpCall("POST", authorize.substr(0, authorize.find("/authorize")) + "/login",
                              {{"Content-Type", "application/x-www-form-urlencoded"}}, form, 10);
  BOOST_REQUIRE_EQUAL(login.status, 302);
  return login.headers.at("Location");
}

// The latest outcome event of the conversation, once there is one after `after`.
Poco::JSON::Object::Ptr outcome(const ServedDemo& demo, const std::string& customer, std::size_t after) {
  Poco::JSON::Object::Ptr found;
  std::string encoded;
  Poco::URI::encode(customer, "/+=:", encoded);
  bcauth::test::waitUntil(std::chrono::seconds(20), [&] {
    const auto events = json(api(demo, "GET", "/v1/conversations/" + encoded + "/events?limit=1000"))->getArray("events");
    std::size_t outcomes = 0;
    for (std::size_t i = 0; i < events->size(); ++i) {
      const auto e = events->getObject(static_cast<unsigned>(i));
      const std::string type = e->getValue<std::string>("type");
      if (type == "auth.succeeded" || type == "auth.failed" || type == "auth.cancelled") {
        if (++outcomes > after) found = e;
      }
    }
    return found != nullptr;
  });
  BOOST_REQUIRE(found);
  return found;
}

// The agent asks, the customer signs in with `password`, and the sheet follows the IdP's redirect
// (which must start with `redirected`); returns bcauth's outcome event.
Poco::JSON::Object::Ptr signInOnThePhone(const ServedDemo& demo, const std::string& customer, const std::string& device,
                                         const std::string& password, const std::string& redirected) {
  const std::string rid = agentAsks(demo, customer, device);
  const std::string location = customerSignsIn(demo, rid, password);
  BOOST_TEST(location.rfind(phoneBase(demo) + redirected, 0) == 0);
  BOOST_TEST(httpCall("GET", location, {}, "", 30).status == 200);
  return outcome(demo, customer, 0);
}

std::string lastReply(const ServedDemo& demo, const std::string& device) {
  const auto t = thread(demo, device);
  const auto last = t->getObject(static_cast<unsigned>(t->size() - 1));
  BOOST_REQUIRE_EQUAL(last->getValue<std::string>("kind"), "reply");
  return last->getValue<std::string>("text");
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_phone_page_and_each_devices_first_message) {
  ServedDemo demo;
  const auto page = httpCall("GET", demo.phoneUrl(), {}, "", 10);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.headers.at("Content-Security-Policy").find("frame-src 'self' " + demo.idp().baseUrl() + ";") !=
             std::string::npos);
  BOOST_TEST(page.headers.at("Content-Security-Policy").find("frame-ancestors 'none'") != std::string::npos);
  BOOST_TEST(httpCall("GET", phoneBase(demo) + "/phone/..%2Fconsole%2Findex.html", {}, "", 10).status == 404);
  BOOST_TEST(httpCall("GET", demo.consoleUrl(), {}, "", 10).status == 200);
  BOOST_TEST(thread(demo, "ios16")->getObject(0)->getValue<std::string>("kind") == "customer");
  BOOST_TEST(thread(demo, "legacy")->size() == 1u);
  // The customers wrote with their devices' capabilities: bcauth picks each one's flow.
  BOOST_TEST(json(api(demo, "GET", "/v1/events"))->getArray("events")->size() == 2u);
}

BOOST_AUTO_TEST_CASE(legacy_the_phone_captures_the_code_and_replies_with_the_encrypted_token) {
  ServedDemo demo;
  const auto event = signInOnThePhone(demo, kLegacy, "legacy", "hunter2", "/phone/capture?code=");
  BOOST_TEST(event->getValue<std::string>("type") == "auth.succeeded");
  BOOST_TEST(event->getObject("data")->getObject("customer")->getValue<std::string>("email") == "customer@example.com");
  BOOST_TEST(lastReply(demo, "legacy") == "You signed in");
}

BOOST_AUTO_TEST_CASE(ios16_a_wrong_password_fails_and_a_closed_sheet_cancels) {
  ServedDemo demo;
  const auto failed = signInOnThePhone(demo, kIos16, "ios16", "wrong", "/oauth/callback?error=login_failed");
  BOOST_TEST(failed->getValue<std::string>("type") == "auth.failed");
  BOOST_TEST(failed->getObject("data")->getValue<std::string>("reason") == "provider_error");
  BOOST_TEST(lastReply(demo, "ios16") == "Authentication Failed");

  const std::string again = agentAsks(demo, kIos16, "ios16");
  const auto closed = httpCall("POST", phoneBase(demo) + "/phone/api/close", {{"Content-Type", "application/json"}},
                               R"({"requestIdentifier":")" + again + R"("})", 10);
  BOOST_TEST(closed.status == 200);
  const auto cancelled = outcome(demo, kIos16, 1);
  BOOST_TEST(cancelled->getValue<std::string>("type") == "auth.cancelled");
  BOOST_TEST(cancelled->getObject("data")->getValue<std::string>("by") == "customer");
  BOOST_TEST(lastReply(demo, "ios16") == "Sign-in cancelled");
  // One answer per message, as on the device: a second close changes nothing.
  httpCall("POST", phoneBase(demo) + "/phone/api/close", {{"Content-Type", "application/json"}},
           R"({"requestIdentifier":")" + again + R"("})", 10);
  BOOST_TEST(thread(demo, "ios16")->size() == 5u);
}

BOOST_AUTO_TEST_CASE(ios16_the_redirect_passes_through_the_phone_to_messages_auth) {
  ServedDemo demo;
  const auto event = signInOnThePhone(demo, kIos16, "ios16", "hunter2", "/oauth/callback?code=");
  BOOST_TEST(event->getValue<std::string>("type") == "auth.succeeded");
  BOOST_TEST(event->getObject("data")->getValue<std::string>("flow") == "v2");
  BOOST_TEST(lastReply(demo, "ios16") == "You signed in");
}

BOOST_AUTO_TEST_CASE(the_bubble_shows_the_messages_title_subtitle_and_image) {
  ServedDemo demo;
  const std::string png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
  const auto created = api(demo, "POST", "/v1/auth-requests",
                           R"({"conversationId":")" + kIos16 + R"(","businessId":"demo-business","providerId":"example",)"
                           R"("receivedMessage":{"title":"Sign in <b>now</b>","subtitle":"to see your order","style":"icon",)"
                           R"("imageIdentifier":"logo"},"images":[{"identifier":"logo","data":")" + png + R"("}]})");
  BOOST_REQUIRE_EQUAL(created.status, 201);
  Poco::JSON::Object::Ptr bubble;
  BOOST_REQUIRE(bcauth::test::waitUntil(std::chrono::seconds(20), [&] {
    const auto t = thread(demo, "ios16");
    bubble = t->getObject(static_cast<unsigned>(t->size() - 1));
    return bubble->getValue<std::string>("kind") == "received";
  }));
  // As Apple delivered it; the page sets each as text (the title's markup stays text).
  BOOST_TEST(bubble->getValue<std::string>("text") == "Sign in <b>now</b>");
  BOOST_TEST(bubble->getValue<std::string>("subtitle") == "to see your order");
  BOOST_TEST(bubble->getValue<std::string>("image") == "data:image/png;base64," + png);
  BOOST_TEST(!bubble->getValue<bool>("answered"));
}

BOOST_AUTO_TEST_CASE(the_serve_option_is_checked) {
  std::ostringstream out, err;
  BOOST_TEST(bcauth::app::runCli({"demo", "--serve", "--port"}, out, err) == 2);
  BOOST_TEST(bcauth::app::runCli({"demo", "--serve", "--port", "70000"}, out, err) == 2);
  BOOST_TEST(bcauth::app::runCli({"demo", "--serve", "extra"}, out, err) == 2);
  BOOST_TEST(bcauth::app::runCli({"demo", "--help"}, out, err) == 0);
  BOOST_TEST(out.str().find("--serve") != std::string::npos);
}
