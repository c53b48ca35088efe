// Plays the customer's iPhone in the iOS 16+ flow: opens the authorization URL the way the
// device builds it from the message (client_id, redirect_uri, response_type, scope, state, then
// additionalParameters), fills the IdP's login form, and follows the redirects until the
// messages-auth: URL the device would intercept.
#pragma once

#include <string>

#include <Poco/JSON/Object.h>

namespace bcauth::test {

struct DeviceRun {
  std::string loginPage;       // the HTML the web view showed
  std::string finalLocation;   // messages-auth://?status=…
  std::string callbackUrl;     // where the IdP redirected (bcauth's /oauth/callback?code&state)
};

// message: the authenticate message bcauth built; clientId: what Apple injects from ABR;
// publicUrl/bcauthUrl: the redirectURI's base as configured, and where bcauth really listens.
// tamperChallenge sends a different PKCE challenge to the IdP; deny presses Cancel.
DeviceRun runV2Device(const Poco::JSON::Object::Ptr& message, const std::string& clientId, const std::string& idpBaseUrl,
                      const std::string& publicUrl, const std::string& bcauthUrl, bool deny = false,
                      bool tamperChallenge = false);

// Calls bcauth's callback directly (as a replayed or forged redirect would) and returns Location.
std::string callCallback(const std::string& bcauthUrl, const std::string& query);

}  // namespace bcauth::test
