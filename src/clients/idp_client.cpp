#include "clients/idp_client.h"

#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

#include "bcauth/base64.h"
#include "clients/http_call.h"

namespace bcauth::clients {
namespace {

// Why a call did not reach the IdP, for the failure event: "token URL: destination address
// refused: 10.0.0.1 is a private address", "token URL unreachable: Connection refused".
template <typename Response>
bool notReached(const HttpAnswer& answer, const std::string& which, Response& result) {
  if (answer.reached) return false;
  result.failure = answer.refused ? IdpFailure::kRefused : IdpFailure::kUnreachable;
  result.detail = which + (answer.refused ? ": " : " unreachable: ") + answer.error;
  return true;
}

TokenResponse postTokenRequest(const std::string& tokenUrl, const ClientCredentials& client, std::string form,
                               int timeoutSeconds, const OutboundPolicy& policy) {
  std::map<std::string, std::string> headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                                                {"Accept", "application/json"}};
  if (client.basicAuth) {
    // RFC 6749 §2.3.1: both parts form-encoded, then Base64 of "id:secret".
    const std::string secret = client.clientSecret ? std::string(client.clientSecret->view()) : std::string();
    headers["Authorization"] = "Basic " + crypto::base64Encode(urlEncode(client.clientId) + ":" + urlEncode(secret));
  } else {
    form += "&client_id=" + urlEncode(client.clientId);
    if (client.clientSecret) form += "&client_secret=" + urlEncode(std::string(client.clientSecret->view()));
  }
  const HttpAnswer answer = httpCall("POST", tokenUrl, headers, form, timeoutSeconds, &policy);
  crypto::cleanse(form.data(), form.size());
  TokenResponse result;
  if (notReached(answer, "token URL", result)) return result;
  if (answer.status >= 400) {
    result.failure = IdpFailure::kHttpError;
    result.detail = "token URL answered " + std::to_string(answer.status);
    try {
      Poco::JSON::Parser parser;
      const auto error = parser.parse(answer.body).extract<Poco::JSON::Object::Ptr>();
      if (error->has("error")) result.detail += " " + error->getValue<std::string>("error");
    } catch (const std::exception&) {
    }
    return result;
  }
  try {
    Poco::JSON::Parser parser;
    const auto json = parser.parse(answer.body).extract<Poco::JSON::Object::Ptr>();
    if (!json->has("access_token") || !json->get("access_token").isString() ||
        json->getValue<std::string>("access_token").empty()) {
      result.failure = IdpFailure::kInvalidResponse;
      result.detail = "token response has no access_token";
      return result;
    }
    result.accessToken = crypto::Secret(json->getValue<std::string>("access_token"));
    result.tokenType = json->has("token_type") ? json->getValue<std::string>("token_type") : "Bearer";
    if (json->has("expires_in") && json->get("expires_in").isNumeric()) {
      result.expiresInSeconds = json->get("expires_in").convert<std::int64_t>();
    }
    if (json->has("refresh_token") && json->get("refresh_token").isString()) {
      result.refreshToken = crypto::Secret(json->getValue<std::string>("refresh_token"));
    }
  } catch (const std::exception&) {
    result.failure = IdpFailure::kInvalidResponse;
    result.detail = "token response is not JSON";
  }
  return result;
}

}  // namespace

TokenResponse IdpClient::exchangeCode(const std::string& tokenUrl, const ClientCredentials& client,
                                      const std::string& code, const std::string& redirectUri,
                                      const std::optional<std::string>& codeVerifier) const {
  std::string form = "grant_type=authorization_code&code=" + urlEncode(code) + "&redirect_uri=" + urlEncode(redirectUri);
  if (codeVerifier) form += "&code_verifier=" + urlEncode(*codeVerifier);
  return postTokenRequest(tokenUrl, client, std::move(form), timeoutSeconds_, policy_);
}

TokenResponse IdpClient::refresh(const std::string& tokenUrl, const ClientCredentials& client,
                                 const std::string& refreshToken) const {
  return postTokenRequest(tokenUrl, client, "grant_type=refresh_token&refresh_token=" + urlEncode(refreshToken),
                          timeoutSeconds_, policy_);
}

UserinfoResponse IdpClient::userinfo(const std::string& userinfoUrl, const std::string& accessToken) const {
  UserinfoResponse result;
  const HttpAnswer answer =
      httpCall("GET", userinfoUrl, {{"Authorization", "Bearer " + accessToken}, {"Accept", "application/json"}}, "",
               timeoutSeconds_, &policy_);
  if (notReached(answer, "userinfo URL", result)) return result;
  if (answer.status >= 400) {
    result.failure = IdpFailure::kHttpError;
    result.detail = "userinfo URL answered " + std::to_string(answer.status);
  } else {
    try {
      Poco::JSON::Parser parser;
      result.claims = parser.parse(answer.body).extract<Poco::JSON::Object::Ptr>();
    } catch (const std::exception&) {
      result.failure = IdpFailure::kInvalidResponse;
      result.detail = "userinfo response is not a JSON object";
    }
  }
  return result;
}

}  // namespace bcauth::clients
