// A real OAuth2 identity provider on loopback, for tests and the demo: an authorize page with
// an HTML login form (autocomplete="username" / "current-password"), a token endpoint that
// checks the client's authentication, the redirect_uri and PKCE S256, a refresh grant, and a
// userinfo endpoint. Failures can be injected per endpoint.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "demo/loopback_server.h"


namespace bcauth::demo {

class IdpDouble {
 public:
  enum class TokenMode { kOk, kHttp500, kNoAccessToken, kNotJson };

  struct Config {
    std::string clientId = "bcauth-client";
    std::string clientSecret = "idp-client-secret-0001";
    bool basicAuth = false;  // expect client_secret_basic instead of client_secret_post
    std::string email = "customer@example.com";
    std::string name = "Casey Customer";
    // When set, /login takes only this user name and password, and redirects any other back
    // with error=login_failed (as a sign-in the IdP refused); empty: any credentials sign in.
    std::string username;
    std::string password;
  };

  IdpDouble();
  explicit IdpDouble(Config config);
  ~IdpDouble();

  std::string baseUrl() const;  // http://127.0.0.1:PORT
  // The body of bcauth's PUT /v1/providers/{id} that registers this IdP (its URLs, client id and
  // secret, scopes openid email profile, profile fields email and name).
  std::string providerJson(const std::string& name) const;
  const Config& config() const { return config_; }

  void setTokenMode(TokenMode mode) { tokenMode_ = mode; }
  void setUserinfoFails(bool fails) { userinfoFails_ = fails; }

  int tokenRequests() const { return tokenRequests_; }
  int userinfoRequests() const { return userinfoRequests_; }
  int requests() const { return requests_; }  // every request, to any path
  // Requests that carried a header named X-Injected: what a CRLF smuggled through a URL would add.
  int injectedHeaders() const { return injectedHeaders_; }
  std::string lastHost() const;  // the Host header of the latest request
  std::string lastTokenError() const;

  struct Grant {
    std::string redirectUri;
    std::string codeChallenge;
    std::string scope;
    bool used = false;
  };

 private:
  friend class IdpHandler;
  Config config_;
  std::unique_ptr<LoopbackServer> server_;
  mutable std::mutex mutex_;
  std::map<std::string, Grant> codes_;
  std::set<std::string> accessTokens_;
  std::set<std::string> refreshTokens_;
  std::string lastTokenError_;
  std::string lastHost_;
  std::atomic<TokenMode> tokenMode_{TokenMode::kOk};
  std::atomic<bool> userinfoFails_{false};
  std::atomic<int> tokenRequests_{0};
  std::atomic<int> userinfoRequests_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> injectedHeaders_{0};
};

}  // namespace bcauth::demo
