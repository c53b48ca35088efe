#include "demo/device_simulator.h"

#include <sstream>
#include <stdexcept>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

#include "bcauth/crypto.h"
#include "bcauth/secure.h"
#include "clients/http_call.h"

namespace bcauth::demo {
namespace {

std::string queryValue(const std::string& query, const std::string& name) {
  std::istringstream pairs(query);
  for (std::string pair; std::getline(pairs, pair, '&');) {
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      std::string decoded;
      Poco::URI::decode(eq == std::string::npos ? "" : pair.substr(eq + 1), decoded);
      return decoded;
    }
  }
  return {};
}

Poco::JSON::Object::Ptr oauth2Of(const Poco::JSON::Object::Ptr& message) {
  return message->getObject("interactiveData")->getObject("data")->getObject("authenticate")->getObject("oauth2");
}

// The scopes as the device sends them: separated by spaces.
std::string scopeOf(const Poco::JSON::Object::Ptr& oauth2) {
  std::string scope;
  const auto scopes = oauth2->getArray("scope");
  for (std::size_t i = 0; i < scopes->size(); ++i) scope += (i ? " " : "") + scopes->getElement<std::string>(static_cast<unsigned>(i));
  return scope;
}

}  // namespace

std::string oauthState(const Poco::JSON::Object::Ptr& message) {
  const auto oauth2 = oauth2Of(message);
  return oauth2->has("state") ? oauth2->getValue<std::string>("state") : "";
}

bool isV2Message(const Poco::JSON::Object::Ptr& message) { return oauth2Of(message)->has("redirectURI"); }

std::string v2AuthorizeUrl(const Poco::JSON::Object::Ptr& message, const std::string& clientId, const std::string& idpBaseUrl) {
  const auto oauth2 = oauth2Of(message);
  const std::string extra = oauth2->has("additionalParameters") ? oauth2->getValue<std::string>("additionalParameters") : "";
  return idpBaseUrl + "/authorize?client_id=" + clients::urlEncode(clientId) + "&redirect_uri=" +
         clients::urlEncode(oauth2->getValue<std::string>("redirectURI")) + "&response_type=" +
         oauth2->getValue<std::string>("responseType") + "&scope=" + clients::urlEncode(scopeOf(oauth2)) + "&state=" +
         clients::urlEncode(oauth2->getValue<std::string>("state")) + (extra.empty() ? "" : "&" + extra);
}

DeviceRun runV2Device(const Poco::JSON::Object::Ptr& message, const std::string& clientId, const std::string& idpBaseUrl,
                      const std::string& publicUrl, const std::string& bcauthUrl, const V2DeviceActions& actions) {
  const auto oauth2 = oauth2Of(message);
  const std::string scope = scopeOf(oauth2);
  const std::string redirectUri = oauth2->getValue<std::string>("redirectURI");
  const std::string state = oauth2->getValue<std::string>("state");
  const std::string extra = oauth2->has("additionalParameters") ? oauth2->getValue<std::string>("additionalParameters") : "";

  DeviceRun run;
  const std::string authorize = v2AuthorizeUrl(message, clientId, idpBaseUrl);
  const auto page = clients::httpCall("GET", authorize, {}, "", 10);
  if (!page.reached || page.status != 200) throw std::runtime_error("authorize page failed: " + std::to_string(page.status));
  run.loginPage = page.body;

  std::string challenge = queryValue(extra, "code_challenge");
  if (actions.tamperChallenge) challenge = crypto::pkceChallengeS256("not-the-verifier");
  std::string form = "redirect_uri=" + clients::urlEncode(redirectUri) + "&state=" + clients::urlEncode(state) + "&scope=" + clients::urlEncode(scope) +
                     "&code_challenge=" + clients::urlEncode(challenge) + "&code_challenge_method=" +
                     clients::urlEncode(queryValue(extra, "code_challenge_method")) + "&username=casey&password=hunter2";
  if (actions.deny) form += "&deny=1";
  const auto login = clients::httpCall("POST", idpBaseUrl + "/login",
                                       {{"Content-Type", "application/x-www-form-urlencoded"}}, form, 10);
  if (!login.reached || login.status != 302) throw std::runtime_error("login failed: " + std::to_string(login.status));
  run.callbackUrl = login.headers.at("Location");
  if (run.callbackUrl.rfind(publicUrl, 0) != 0) throw std::runtime_error("the IdP redirected elsewhere: " + run.callbackUrl);
  const auto callback = clients::httpCall("GET", bcauthUrl + run.callbackUrl.substr(publicUrl.size()), {}, "", 30);
  if (!callback.reached || callback.status != 302) {
    throw std::runtime_error("the callback answered " + std::to_string(callback.status) + " " + callback.body);
  }
  run.finalLocation = callback.headers.at("Location");
  return run;
}

namespace {

Poco::JSON::Object::Ptr replyEnvelope(const Poco::JSON::Object::Ptr& message, const Poco::JSON::Object::Ptr& authenticate,
                                      bool failed) {
  auto data = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  Poco::JSON::Object::Ptr dataPtr(data);
  const auto sent = message->getObject("interactiveData");
  data->set("version", sent->getObject("data")->getValue<std::string>("version"));
  data->set("requestIdentifier", sent->getObject("data")->getValue<std::string>("requestIdentifier"));
  data->set("receivedMessage", sent->getObject("receivedMessage"));
  Poco::JSON::Object::Ptr reply = new Poco::JSON::Object(*sent->getObject("replyMessage"));
  if (failed) {
    reply->set("title", std::string("Authentication Failed"));
    reply->set("alternateTitle", std::string("Authentication Failed"));
  }
  data->set("replyMessage", reply);
  data->set("authenticate", authenticate);
  Poco::JSON::Object::Ptr interactive = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  interactive->set("bid", sent->getValue<std::string>("bid"));
  interactive->set("sessionIdentifier", crypto::randomUuid());
  interactive->set("data", dataPtr);
  Poco::JSON::Object::Ptr envelope = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  envelope->set("id", crypto::randomUuid());
  envelope->set("type", std::string("interactive"));
  envelope->set("v", 1);
  envelope->set("sourceId", message->getValue<std::string>("destinationId"));
  envelope->set("destinationId", message->getValue<std::string>("sourceId"));
  envelope->set("interactiveData", interactive);
  return envelope;
}

std::string text(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

}  // namespace

std::string legacyAuthorizeUrl(const Poco::JSON::Object::Ptr& message, const std::string& clientId,
                               const std::string& idpBaseUrl, const std::string& redirectUri) {
  const auto oauth2 = oauth2Of(message);
  const std::string state = oauthState(message);
  return idpBaseUrl + "/authorize?client_id=" + clients::urlEncode(clientId) + "&redirect_uri=" +
         clients::urlEncode(redirectUri) + "&response_encryption_key=" +
         clients::urlEncode(oauth2->getValue<std::string>("responseEncryptionKey")) + "&response_type=" +
         oauth2->getValue<std::string>("responseType") + "&scope=" + clients::urlEncode(scopeOf(oauth2)) +
         (state.empty() ? "" : "&state=" + clients::urlEncode(state));
}

std::string legacyFailedReply(const Poco::JSON::Object::Ptr& message, std::optional<LegacyDeviceError> error) {
  Poco::JSON::Object::Ptr authenticate = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  if (error) {
    Poco::JSON::Object::Ptr entry = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    entry->set("code", error->code);
    entry->set("domain", std::string("com.apple.icloud.messages.business.authentication.error"));
    entry->set("message", error->message);
    Poco::JSON::Array::Ptr errors = new Poco::JSON::Array();
    errors->add(entry);
    authenticate->set("errors", errors);
  }
  authenticate->set("status", std::string("failed"));
  return text(replyEnvelope(message, authenticate, true));
}

std::string legacyReplyForCode(const Poco::JSON::Object::Ptr& message, const std::string& clientId,
                               const std::string& tokenUrl, const std::string& code, const std::string& redirectUri) {
  const auto oauth2 = oauth2Of(message);
  // The device's own token request (spec §3.1 step 3), client_secret from the payload.
  std::string form = "client_id=" + clients::urlEncode(clientId) + "&code=" + clients::urlEncode(code) +
                     "&grant_type=authorization_code&redirect_uri=" + clients::urlEncode(redirectUri);
  if (oauth2->has("clientSecret")) form += "&client_secret=" + clients::urlEncode(oauth2->getValue<std::string>("clientSecret"));
  const auto exchanged = clients::httpCall("POST", tokenUrl, {{"Content-Type", "application/x-www-form-urlencoded"}}, form, 10);
  std::string accessToken;
  try {
    Poco::JSON::Parser parser;
    const auto json = parser.parse(exchanged.body).extract<Poco::JSON::Object::Ptr>();
    if (json->has("access_token")) accessToken = json->getValue<std::string>("access_token");
  } catch (const std::exception&) {
  }
  if (accessToken.empty()) return legacyFailedReply(message, LegacyDeviceError{2, "Missing access token from response"});
  Poco::JSON::Object::Ptr authenticate = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  authenticate->set("status", std::string("authenticated"));
  const std::string key = oauth2->getValue<std::string>("responseEncryptionKey");
  authenticate->set("token", crypto::encrypt(crypto::PublicKey::fromBase64(key).value(), accessToken).value());
  return text(replyEnvelope(message, authenticate, false));
}

std::string runLegacyDevice(const Poco::JSON::Object::Ptr& message, const std::string& clientId,
                            const std::string& idpBaseUrl, const std::string& tokenUrl) {
  const std::string state = oauthState(message);
  const auto page = clients::httpCall("GET", legacyAuthorizeUrl(message, clientId, idpBaseUrl, kAppleCaptureUrl), {}, "", 10);
  if (!page.reached || page.status != 200) throw std::runtime_error("authorize page failed: " + std::to_string(page.status));
  const auto login = clients::httpCall("POST", idpBaseUrl + "/login", {{"Content-Type", "application/x-www-form-urlencoded"}},
                                       "redirect_uri=" + clients::urlEncode(kAppleCaptureUrl) + "&state=" + clients::urlEncode(state) +
                                           "&scope=" + clients::urlEncode(scopeOf(oauth2Of(message))) +
                                           "&username=casey&password=hunter2",
                                       10);
  const std::string captured = login.headers.count("Location") ? login.headers.at("Location") : "";
  if (captured.rfind(kAppleCaptureUrl, 0) != 0) throw std::runtime_error("the IdP did not redirect to Apple's capture URL");
  const std::string code = queryValue(captured.substr(captured.find('?') + 1), "code");
  return legacyReplyForCode(message, clientId, tokenUrl, code, kAppleCaptureUrl);
}

std::string v2DeviceReply(const Poco::JSON::Object::Ptr& message, const std::string& finalLocation) {
  const std::string query = finalLocation.substr(finalLocation.find('?') + 1);
  Poco::JSON::Object::Ptr authenticate = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  const std::string status = queryValue(query, "status");
  authenticate->set("status", status);
  if (const std::string code = queryValue(query, "error_code"); !code.empty()) authenticate->set("error_code", std::stoi(code));
  return text(replyEnvelope(message, authenticate, status != "success"));
}

std::string callCallback(const std::string& bcauthUrl, const std::string& query) {
  const auto callback = clients::httpCall("GET", bcauthUrl + "/oauth/callback?" + query, {}, "", 30);
  if (!callback.reached || callback.status != 302) throw std::runtime_error("the callback answered " + std::to_string(callback.status));
  return callback.headers.at("Location");
}

}  // namespace bcauth::demo
