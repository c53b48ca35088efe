#include "demo/idp_double.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <sstream>

#include "bcauth/secure.h"
#include "clients/http_call.h"

namespace bcauth::demo {

namespace {

std::string htmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string withQuery(const std::string& uri, const std::string& query) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + query;
}

void sendJson(Poco::Net::HTTPServerResponse& response, int status, const std::string& body) {
  response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType("application/json");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
}

}  // namespace

class IdpHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit IdpHandler(IdpDouble& idp) : idp_(idp) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    ++idp_.requests_;
    if (request.has("X-Injected")) ++idp_.injectedHeaders_;
    {
      std::lock_guard lock(idp_.mutex_);
      idp_.lastHost_ = request.getHost();
    }
    const Poco::URI uri(request.getURI());
    Poco::Net::HTMLForm form(request, request.stream());
    if (uri.getPath() == "/authorize") return authorize(form, response);
    if (uri.getPath() == "/login" && request.getMethod() == "POST") return login(form, response);
    if (uri.getPath() == "/token" && request.getMethod() == "POST") return token(request, form, response);
    if (uri.getPath() == "/userinfo") return userinfo(request, response);
    sendJson(response, 404, R"({"error":"not_found"})");
  }

 private:
  void authorize(const Poco::Net::HTMLForm& form, Poco::Net::HTTPServerResponse& response) {
    if (form.get("response_type", "") != "code" || form.get("client_id", "") != idp_.config_.clientId ||
        form.get("redirect_uri", "").empty()) {
      return sendJson(response, 400, R"({"error":"invalid_request"})");
    }
    std::string hidden;
    for (const char* name : {"redirect_uri", "state", "scope", "code_challenge", "code_challenge_method"}) {
      hidden += std::string("<input type=\"hidden\" name=\"") + name + "\" value=\"" + htmlEscape(form.get(name, "")) + "\">\n";
    }
    const std::string page =
        "<!doctype html><html lang=\"en\"><head><meta name=\"viewport\" content=\"width=device-width\">"
        "<link rel=\"icon\" href=\"data:,\"><title>Sign in</title></head>"  // no favicon fetch: no 404
        "<body><h1>Sign in to the Example IdP</h1><form method=\"post\" action=\"/login\">\n" + hidden +
        "<label>User name <input name=\"username\" autocomplete=\"username\" required></label>\n"
        "<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\n"
        "<button type=\"submit\">Sign in</button> <button name=\"deny\" value=\"1\">Cancel</button></form></body></html>";
    response.setContentType("text/html; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(page.size()));
    response.send() << page;
  }

  void login(const Poco::Net::HTMLForm& form, Poco::Net::HTTPServerResponse& response) {
    const std::string redirect = form.get("redirect_uri", "");
    const std::string state = form.get("state", "");
    std::string location;
    const bool refused = !idp_.config_.password.empty() && (form.get("username", "") != idp_.config_.username ||
                                                             form.get("password", "") != idp_.config_.password);
    if (form.has("deny")) {
      location = withQuery(redirect, "error=access_denied&state=" + clients::urlEncode(state));
    } else if (refused) {
      location = withQuery(redirect, "error=login_failed&error_description=wrong+user+name+or+password&state=" +
                                         clients::urlEncode(state));
    } else {
      const std::string code = crypto::randomUrlToken(16);
      {
        std::lock_guard lock(idp_.mutex_);
        idp_.codes_[code] = {redirect, form.get("code_challenge", ""), form.get("scope", ""), false};
      }
      location = withQuery(redirect, "code=" + clients::urlEncode(code) + "&state=" + clients::urlEncode(state));
    }
    response.set("Location", location);
    response.setStatus(Poco::Net::HTTPResponse::HTTP_FOUND);
    response.setContentLength(0);
    response.send();
  }

  bool clientAuthenticated(const Poco::Net::HTTPServerRequest& request, const Poco::Net::HTMLForm& form) {
    if (idp_.config_.basicAuth) {
      if (!request.hasCredentials()) return false;
      try {
        Poco::Net::HTTPBasicCredentials credentials(request);
        std::string user, password;
        Poco::URI::decode(credentials.getUsername(), user);
        Poco::URI::decode(credentials.getPassword(), password);
        return user == idp_.config_.clientId && password == idp_.config_.clientSecret;
      } catch (const std::exception&) {
        return false;
      }
    }
    return form.get("client_id", "") == idp_.config_.clientId && form.get("client_secret", "") == idp_.config_.clientSecret;
  }

  void token(Poco::Net::HTTPServerRequest& request, const Poco::Net::HTMLForm& form,
             Poco::Net::HTTPServerResponse& response) {
    ++idp_.tokenRequests_;
    auto fail = [&](int status, const std::string& error) {
      std::lock_guard lock(idp_.mutex_);
      idp_.lastTokenError_ = error;
      sendJson(response, status, R"({"error":")" + error + R"("})");
    };
    switch (idp_.tokenMode_.load()) {
      case IdpDouble::TokenMode::kHttp500: return fail(500, "server_error");
      case IdpDouble::TokenMode::kNotJson:
        response.setContentType("text/html");
        response.send() << "<html>oops</html>";
        return;
      default: break;
    }
    if (!clientAuthenticated(request, form)) return fail(401, "invalid_client");
    const std::string grant = form.get("grant_type", "");
    if (grant == "authorization_code") {
      std::lock_guard lock(idp_.mutex_);
      auto it = idp_.codes_.find(form.get("code", ""));
      if (it == idp_.codes_.end() || it->second.used) {
        idp_.lastTokenError_ = "invalid_grant";
        return sendJson(response, 400, R"({"error":"invalid_grant"})");
      }
      it->second.used = true;
      if (form.get("redirect_uri", "") != it->second.redirectUri) {
        idp_.lastTokenError_ = "invalid_grant: redirect_uri";
        return sendJson(response, 400, R"({"error":"invalid_grant"})");
      }
      if (!it->second.codeChallenge.empty() &&
          crypto::pkceChallengeS256(form.get("code_verifier", "")) != it->second.codeChallenge) {
        idp_.lastTokenError_ = "invalid_grant: PKCE";
        return sendJson(response, 400, R"({"error":"invalid_grant","error_description":"PKCE verification failed"})");
      }
    } else if (grant == "refresh_token") {
      std::lock_guard lock(idp_.mutex_);
      if (idp_.refreshTokens_.count(form.get("refresh_token", "")) == 0) {
        idp_.lastTokenError_ = "invalid_grant: refresh";
        return sendJson(response, 400, R"({"error":"invalid_grant"})");
      }
    } else {
      return fail(400, "unsupported_grant_type");
    }
    if (idp_.tokenMode_.load() == IdpDouble::TokenMode::kNoAccessToken) {
      return sendJson(response, 200, R"({"token_type":"Bearer","expires_in":3600})");
    }
    const std::string access = "idp-access-" + crypto::randomUrlToken(18);
    const std::string refresh = "idp-refresh-" + crypto::randomUrlToken(18);
    {
      std::lock_guard lock(idp_.mutex_);
      idp_.accessTokens_.insert(access);
      idp_.refreshTokens_.insert(refresh);
    }
    sendJson(response, 200,
             R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":3600,"refresh_token":")" + refresh +
                 R"(","scope":"openid email profile"})");
  }

  void userinfo(const Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    ++idp_.userinfoRequests_;
    if (idp_.userinfoFails_) return sendJson(response, 500, R"({"error":"server_error"})");
    const std::string header = request.get("Authorization", "");
    const std::string token = header.rfind("Bearer ", 0) == 0 ? header.substr(7) : "";
    {
      std::lock_guard lock(idp_.mutex_);
      if (idp_.accessTokens_.count(token) == 0) return sendJson(response, 401, R"({"error":"invalid_token"})");
    }
    Poco::JSON::Object claims;
    claims.set("sub", "customer-42");
    claims.set("email", idp_.config_.email);
    claims.set("name", idp_.config_.name);
    std::ostringstream out;
    claims.stringify(out);
    sendJson(response, 200, out.str());
  }

  IdpDouble& idp_;
};

IdpDouble::IdpDouble() : IdpDouble(Config{}) {}

IdpDouble::IdpDouble(Config config)
    : config_(std::move(config)) {
  // Started once every member its requests use is constructed.
  server_ = std::make_unique<LoopbackServer>(
      [this](Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
        IdpHandler(*this).handleRequest(request, response);
      });
}

IdpDouble::~IdpDouble() { server_.reset(); }  // before the members its requests use

std::string IdpDouble::baseUrl() const { return server_->baseUrl(); }

std::string IdpDouble::providerJson(const std::string& name) const {
  Poco::JSON::Object body(Poco::JSON_PRESERVE_KEY_ORDER);
  body.set("name", name);
  body.set("authorizationUrl", baseUrl() + "/authorize");
  body.set("tokenUrl", baseUrl() + "/token");
  body.set("userinfoUrl", baseUrl() + "/userinfo");
  body.set("clientId", config_.clientId);
  body.set("clientSecret", config_.clientSecret);
  Poco::JSON::Array scopes;
  for (const char* scope : {"openid", "email", "profile"}) scopes.add(std::string(scope));
  body.set("scopes", scopes);
  Poco::JSON::Object fields(Poco::JSON_PRESERVE_KEY_ORDER);
  fields.set("email", std::string("email"));
  fields.set("name", std::string("name"));
  body.set("profileFields", fields);
  std::ostringstream out;
  body.stringify(out);
  return out.str();
}

std::string IdpDouble::lastHost() const {
  std::lock_guard lock(mutex_);
  return lastHost_;
}

std::string IdpDouble::lastTokenError() const {
  std::lock_guard lock(mutex_);
  return lastTokenError_;
}

}  // namespace bcauth::demo
