#include "doubles/device_simulator.h"

#include <sstream>
#include <stdexcept>

#include <Poco/JSON/Array.h>
#include <Poco/URI.h>

#include "bcauth/secure.h"
#include "clients/http_call.h"

namespace bcauth::test {
namespace {

std::string encode(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]% ", out);
  return out;
}

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

}  // namespace

DeviceRun runV2Device(const Poco::JSON::Object::Ptr& message, const std::string& clientId, const std::string& idpBaseUrl,
                      const std::string& publicUrl, const std::string& bcauthUrl, bool deny, bool tamperChallenge) {
  const auto oauth2 = message->getObject("interactiveData")->getObject("data")->getObject("authenticate")->getObject("oauth2");
  std::string scope;
  const auto scopes = oauth2->getArray("scope");
  for (std::size_t i = 0; i < scopes->size(); ++i) scope += (i ? " " : "") + scopes->getElement<std::string>(static_cast<unsigned>(i));
  const std::string redirectUri = oauth2->getValue<std::string>("redirectURI");
  const std::string state = oauth2->getValue<std::string>("state");
  const std::string extra = oauth2->has("additionalParameters") ? oauth2->getValue<std::string>("additionalParameters") : "";

  DeviceRun run;
  const std::string authorize = idpBaseUrl + "/authorize?client_id=" + encode(clientId) + "&redirect_uri=" +
                                encode(redirectUri) + "&response_type=" + oauth2->getValue<std::string>("responseType") +
                                "&scope=" + encode(scope) + "&state=" + encode(state) + (extra.empty() ? "" : "&" + extra);
  const auto page = clients::httpCall("GET", authorize, {}, "", 10);
  if (!page.reached || page.status != 200) throw std::runtime_error("authorize page failed: " + std::to_string(page.status));
  run.loginPage = page.body;

  std::string challenge = queryValue(extra, "code_challenge");
  if (tamperChallenge) challenge = crypto::pkceChallengeS256("not-the-verifier");
  std::string form = "redirect_uri=" + encode(redirectUri) + "&state=" + encode(state) + "&scope=" + encode(scope) +
                     "&code_challenge=" + encode(challenge) + "&code_challenge_method=" +
                     encode(queryValue(extra, "code_challenge_method")) + "&username=casey&password=hunter2";
  if (deny) form += "&deny=1";
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

std::string callCallback(const std::string& bcauthUrl, const std::string& query) {
  const auto callback = clients::httpCall("GET", bcauthUrl + "/oauth/callback?" + query, {}, "", 30);
  if (!callback.reached || callback.status != 302) throw std::runtime_error("the callback answered " + std::to_string(callback.status));
  return callback.headers.at("Location");
}

}  // namespace bcauth::test
