// The outbound builder: what it renders, and every message the device would refuse.
#define BOOST_TEST_MODULE builder
#include <boost/test/unit_test.hpp>

#include <functional>

#include "bcauth/base64.h"
#include "request_factory.h"

using namespace bcauth;
using namespace bcauth::protocol;
using bcauth::test::legacy;
using bcauth::test::legacyRequest;
using bcauth::test::redirect;
using bcauth::test::v2Request;

namespace {

void expectRefused(AuthenticateRequest request, const std::string& field) {
  auto message = AuthenticateMessage::create(std::move(request));
  BOOST_REQUIRE_MESSAGE(!message.isOk(), "accepted, expected a refusal naming " << field);
  BOOST_CHECK_EQUAL(message.status().field(), field);
  BOOST_CHECK(!message.status().message().empty());
}

const std::string kOAuth2 = "interactiveData.data.authenticate.oauth2";

}  // namespace

// The message as an object and pretty-printed (`bcauth build --pretty`) keeps the key order of
// the compact text, Apple's examples' order.
BOOST_AUTO_TEST_CASE(the_message_object_keeps_its_key_order) {
  auto message = AuthenticateMessage::create(legacyRequest());
  BOOST_REQUIRE(message.isOk());
  const std::vector<std::string> top = {"id", "sourceId", "destinationId", "v", "type", "interactiveData"};
  BOOST_TEST(message->toJson()->getNames() == top, boost::test_tools::per_element());
  const std::vector<std::string> interactive = {"bid", "data", "receivedMessage", "replyMessage"};
  BOOST_TEST(message->toJson()->getObject("interactiveData")->getNames() == interactive,
             boost::test_tools::per_element());
  const std::string pretty = message->toJsonString(true);
  BOOST_TEST(pretty.find("\"id\"") < pretty.find("\"sourceId\""));
  BOOST_TEST(pretty.find("\"sourceId\"") < pretty.find("\"destinationId\""));
  BOOST_TEST(pretty.find("\"bid\"") < pretty.find("\"data\""));
}

BOOST_AUTO_TEST_CASE(legacy_message_has_the_exact_shape) {
  auto message = AuthenticateMessage::create(legacyRequest());
  BOOST_REQUIRE_MESSAGE(message.isOk(), message.status().toString());
  const auto json = message->toJson();
  BOOST_TEST(json->getValue<int>("v") == 1);
  BOOST_TEST(json->getValue<std::string>("type") == "interactive");
  BOOST_TEST(json->getValue<std::string>("destinationId") == "urn:mbid:AQAAYyUbut6E4B3T9FLv5EbG/abc+def=");
  const auto interactiveData = json->getObject("interactiveData");
  BOOST_TEST(interactiveData->getValue<std::string>("bid") == std::string(kBusinessExtensionBid));
  BOOST_TEST(interactiveData->getObject("receivedMessage")->getValue<std::string>("title") == "Sign in to Example");
  BOOST_TEST(interactiveData->getObject("replyMessage")->getValue<std::string>("title") == "You signed in");
  const auto data = interactiveData->getObject("data");
  BOOST_TEST(data->getValue<std::string>("version") == "1.0");
  BOOST_TEST(data->getValue<std::string>("requestIdentifier") == "3EF748B5-3DC5-47AE-B185-91E91518D105");
  BOOST_TEST(data->getArray("images")->size() == 0u);
  const auto oauth2 = data->getObject("authenticate")->getObject("oauth2");
  BOOST_TEST(oauth2->getValue<std::string>("responseType") == "code");
  BOOST_TEST(oauth2->getArray("scope")->size() == 2u);
  BOOST_TEST(oauth2->getValue<std::string>("responseEncryptionKey").size() == 132u);
  BOOST_TEST(oauth2->getValue<std::string>("clientSecret") == "client-secret-xyz");
  BOOST_TEST(!oauth2->has("redirectURI"));
  // The string form is one line and escapes nothing it need not (opaque ids keep their '/').
  const std::string text = message->toJsonString();
  BOOST_TEST(text.find('\n') == std::string::npos);
  BOOST_TEST(text.find("AQAAYyUbut6E4B3T9FLv5EbG/abc+def=") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(v2_message_has_the_exact_shape) {
  auto message = AuthenticateMessage::create(v2Request());
  BOOST_REQUIRE_MESSAGE(message.isOk(), message.status().toString());
  const auto oauth2 = message->toJson()->getObject("interactiveData")->getObject("data")->getObject("authenticate")->getObject("oauth2");
  BOOST_TEST(oauth2->getValue<std::string>("redirectURI") == "https://bcauth.example.com/oauth/callback");
  BOOST_TEST(oauth2->getValue<std::string>("state") == "N9ziSgOruWOoW2fwRsG_xA");
  BOOST_TEST(oauth2->has("additionalParameters"));
  BOOST_TEST(!oauth2->has("responseEncryptionKey"));
  BOOST_TEST(!oauth2->has("clientSecret"));
  BOOST_TEST(message->request().flow() == Flow::kV2);
}

BOOST_AUTO_TEST_CASE(images_and_optional_fields_are_rendered) {
  auto r = legacyRequest();
  r.images.push_back({"1", crypto::base64Encode(std::string_view("\x89PNG\r\n")), std::string("Logo")});
  r.receivedMessage.imageIdentifier = "1";
  r.receivedMessage.style = "large";
  r.receivedMessage.subtitle = "Example Bank";
  r.replyMessage.alternateTitle = "Signed in";
  r.locale = "en_US";
  r.sessionIdentifier = "session-1";
  auto message = AuthenticateMessage::create(r);
  BOOST_REQUIRE_MESSAGE(message.isOk(), message.status().toString());
  const auto json = message->toJson();
  BOOST_TEST(json->getValue<std::string>("locale") == "en_US");
  const auto interactiveData = json->getObject("interactiveData");
  BOOST_TEST(interactiveData->getValue<std::string>("sessionIdentifier") == "session-1");
  BOOST_TEST(interactiveData->getObject("receivedMessage")->getValue<std::string>("style") == "large");
  BOOST_TEST(interactiveData->getObject("data")->getArray("images")->getObject(0)->getValue<std::string>("description") == "Logo");
}

BOOST_AUTO_TEST_CASE(envelope_refusals) {
  auto r = legacyRequest(); r.id = "not-a-uuid"; expectRefused(r, "id");
  r = legacyRequest(); r.sourceId.clear(); expectRefused(r, "sourceId");
  r = legacyRequest(); r.destinationId.clear(); expectRefused(r, "destinationId");
  r = legacyRequest(); r.locale = ""; expectRefused(r, "locale");
}

BOOST_AUTO_TEST_CASE(data_refusals) {
  auto r = legacyRequest(); r.requestIdentifier.clear(); expectRefused(r, "interactiveData.data.requestIdentifier");
  for (const char* bad : {"", "0", "0.0", "-1", "abc", "1.x", "1."}) {
    r = legacyRequest(); r.version = bad; expectRefused(r, "interactiveData.data.version");
  }
  // version 2 and above switches the device to the new flow: never with a legacy payload.
  r = legacyRequest(); r.version = "2.0"; expectRefused(r, "interactiveData.data.version");
  auto v2 = v2Request(); v2.version = "2.0";
  BOOST_TEST(AuthenticateMessage::create(v2).isOk());
}

BOOST_AUTO_TEST_CASE(bubble_refusals) {
  auto r = legacyRequest(); r.receivedMessage.title.clear(); expectRefused(r, "interactiveData.receivedMessage.title");
  r = legacyRequest(); r.replyMessage.title.clear(); expectRefused(r, "interactiveData.replyMessage.title");
  r = legacyRequest(); r.receivedMessage.style = "huge"; expectRefused(r, "interactiveData.receivedMessage.style");
  r = legacyRequest(); r.replyMessage.imageIdentifier = "9"; expectRefused(r, "interactiveData.replyMessage.imageIdentifier");
  r = legacyRequest(); r.images.push_back({"", "AAAA", {}}); expectRefused(r, "interactiveData.data.images[0].identifier");
  r = legacyRequest(); r.images.push_back({"1", "not base64!", {}}); expectRefused(r, "interactiveData.data.images[0].data");
  r = legacyRequest(); r.images = {{"1", "AAAA", {}}, {"1", "AAAA", {}}}; expectRefused(r, "interactiveData.data.images[1].identifier");
  r = legacyRequest(); r.sessionIdentifier = ""; expectRefused(r, "interactiveData.sessionIdentifier");
}

BOOST_AUTO_TEST_CASE(oauth2_common_refusals) {
  for (auto make : {std::function<AuthenticateRequest()>(legacyRequest), std::function<AuthenticateRequest()>(v2Request)}) {
    auto r = make();
    std::visit([](auto& o) { o.responseType = "id_token"; }, r.oauth2);
    expectRefused(r, kOAuth2 + ".responseType");
    r = make();
    std::visit([](auto& o) { o.scope.clear(); }, r.oauth2);
    expectRefused(r, kOAuth2 + ".scope");
    r = make();
    std::visit([](auto& o) { o.scope = {"openid", "email profile"}; }, r.oauth2);
    expectRefused(r, kOAuth2 + ".scope[1]");
    r = make();
    std::visit([](auto& o) { o.scope = {""}; }, r.oauth2);
    expectRefused(r, kOAuth2 + ".scope[0]");
  }
}

BOOST_AUTO_TEST_CASE(legacy_key_refusals) {
  auto base = legacyRequest();
  const std::string good = legacy(base).responseEncryptionKey;
  const auto withKey = [](const std::string& key) {
    auto r = legacyRequest();
    legacy(r).responseEncryptionKey = key;
    return r;
  };
  expectRefused(withKey(""), kOAuth2 + ".responseEncryptionKey");
  expectRefused(withKey("MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE" + good.substr(4)), kOAuth2 + ".responseEncryptionKey");
  expectRefused(withKey("-----BEGIN PUBLIC KEY-----\nMHYw\n-----END PUBLIC KEY-----"), kOAuth2 + ".responseEncryptionKey");
  std::string urlSafe = "B" + std::string(129, '-') + "==";
  expectRefused(withKey(urlSafe), kOAuth2 + ".responseEncryptionKey");
  // A compressed point, in Base64 (49 bytes → 68 characters).
  auto point = bcauth::crypto::base64Decode(good).value();
  std::vector<std::uint8_t> compressed(point.begin(), point.begin() + 49);
  compressed[0] = 0x02;
  expectRefused(withKey(crypto::base64Encode(compressed)), kOAuth2 + ".responseEncryptionKey");
  // Right length and form, but not on the curve.
  point[96] ^= 1;
  expectRefused(withKey(crypto::base64Encode(point)), kOAuth2 + ".responseEncryptionKey");
}

BOOST_AUTO_TEST_CASE(legacy_state_and_secret_refusals) {
  auto r = legacyRequest(); legacy(r).state = ""; expectRefused(r, kOAuth2 + ".state");
  r = legacyRequest(); legacy(r).state = "a+b/c="; expectRefused(r, kOAuth2 + ".state");
  r = legacyRequest(); legacy(r).clientSecret = ""; expectRefused(r, kOAuth2 + ".clientSecret");
  r = legacyRequest(); legacy(r).clientSecret = "abc&def"; expectRefused(r, kOAuth2 + ".clientSecret");
  r = legacyRequest(); legacy(r).clientSecret = "abc+def"; expectRefused(r, kOAuth2 + ".clientSecret");
  r = legacyRequest(); legacy(r).state.reset(); legacy(r).clientSecret.reset();
  BOOST_TEST(AuthenticateMessage::create(r).isOk());
}

BOOST_AUTO_TEST_CASE(v2_refusals) {
  auto r = v2Request(); redirect(r).state.clear(); expectRefused(r, kOAuth2 + ".state");
  r = v2Request(); redirect(r).state = "abc+def"; expectRefused(r, kOAuth2 + ".state");
  for (const char* bad : {"", "ftp://example.com/cb", "messages-auth://x", "/relative/path", "https:///nohost",
                          "https://example.com/cb#frag", "not a url"}) {
    r = v2Request();
    redirect(r).redirectURI = bad;
    expectRefused(r, kOAuth2 + ".redirectURI");
  }
  for (const char* bad : {"", "?a=b", "a=b#c", "=b", "state=x", "code_challenge=x&redirect_uri=y", "client_id=z"}) {
    r = v2Request();
    redirect(r).additionalParameters = bad;
    expectRefused(r, kOAuth2 + ".additionalParameters");
  }
  r = v2Request(); redirect(r).redirectURI = "http://127.0.0.1:8080/oauth/callback";
  BOOST_TEST(AuthenticateMessage::create(r).isOk());
  r = v2Request(); redirect(r).additionalParameters.reset();
  BOOST_TEST(AuthenticateMessage::create(r).isOk());
}

BOOST_AUTO_TEST_CASE(validate_matches_create) {
  auto r = legacyRequest();
  BOOST_TEST(validate(r).isOk());
  r.requestIdentifier.clear();
  BOOST_TEST(!validate(r).isOk());
}
