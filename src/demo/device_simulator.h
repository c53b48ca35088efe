// Plays the customer's iPhone in the iOS 16+ flow: opens the authorization URL the way the
// device builds it from the message (client_id, redirect_uri, response_type, scope, state, then
// additionalParameters), fills the IdP's login form, and follows the redirects until the
// messages-auth: URL the device would intercept.
#pragma once

#include <optional>
#include <string>

#include <Poco/JSON/Object.h>

namespace bcauth::demo {

struct DeviceRun {
  std::string loginPage;       // the HTML the web view showed
  std::string finalLocation;   // messages-auth://?status=…
  std::string callbackUrl;     // where the IdP redirected (bcauth's /oauth/callback?code&state)
};

// What the customer (or a hostile device) does on the way; by default, signs in.
struct V2DeviceActions {
  bool deny = false;             // presses Cancel on the login form
  bool tamperChallenge = false;  // sends the IdP a different PKCE challenge
};

// Where a real device's legacy flow captures the code: it never loads this page.
inline const std::string kAppleCaptureUrl = "https://auth.businesschat.apple.com";

// The message's oauth2 state ("" when it has none): how a redirect finds its message.
std::string oauthState(const Poco::JSON::Object::Ptr& message);

// Whether the message asks for the iOS 16+ flow (it has a redirectURI) rather than the legacy one.
bool isV2Message(const Poco::JSON::Object::Ptr& message);

// The authorization URL the device opens in the iOS 16+ flow.
std::string v2AuthorizeUrl(const Poco::JSON::Object::Ptr& message, const std::string& clientId, const std::string& idpBaseUrl);

// message: the authenticate message bcauth built; clientId: what Apple injects from ABR;
// publicUrl/bcauthUrl: the redirectURI's base as configured, and where bcauth really listens.
DeviceRun runV2Device(const Poco::JSON::Object::Ptr& message, const std::string& clientId, const std::string& idpBaseUrl,
                      const std::string& publicUrl, const std::string& bcauthUrl, const V2DeviceActions& actions = {});

// Plays the device in the legacy flow on the message Apple delivered (client secret included):
// opens the authorization URL with redirect_uri=https://auth.businesschat.apple.com and the
// response_encryption_key, logs in, captures the code from the redirect, exchanges it at the
// token URL itself (client_secret_post), encrypts the access token to responseEncryptionKey and
// returns the reply Apple would POST to the CSP (ungzipped JSON). A token response without
// access_token yields the device's failed reply (authentication.error code 2).
std::string runLegacyDevice(const Poco::JSON::Object::Ptr& message, const std::string& clientId,
                            const std::string& idpBaseUrl, const std::string& tokenUrl);

// The legacy flow's pieces, for a device whose customer signs in in a real browser (the demo's
// phone page): the authorization URL with the code captured at redirectUri (kAppleCaptureUrl on a
// real device); then the reply once the code is captured — the device's own token request
// (client_secret_post, the secret from the message), the access token encrypted to
// responseEncryptionKey, or the failed reply when the token response has no access_token.
std::string legacyAuthorizeUrl(const Poco::JSON::Object::Ptr& message, const std::string& clientId,
                               const std::string& idpBaseUrl, const std::string& redirectUri);
std::string legacyReplyForCode(const Poco::JSON::Object::Ptr& message, const std::string& clientId,
                               const std::string& tokenUrl, const std::string& code, const std::string& redirectUri);
// A legacy failed reply: status "failed" with one com.apple.icloud.messages.business.authentication.error
// (spec §5), or with none.
struct LegacyDeviceError {
  int code;
  std::string message;
};
std::string legacyFailedReply(const Poco::JSON::Object::Ptr& message, std::optional<LegacyDeviceError> error);

// The reply the device sends in the v2 flow once the messages-auth: URL closed the sheet.
std::string v2DeviceReply(const Poco::JSON::Object::Ptr& message, const std::string& finalLocation);

// Calls bcauth's callback directly (as a replayed or forged redirect would) and returns Location.
std::string callCallback(const std::string& bcauthUrl, const std::string& query);

}  // namespace bcauth::demo
