// Starts a real bcauth server (Runtime) on 127.0.0.1, port 0, over a temporary data directory,
// and talks to it with HTTPClientSession — as the CSP and as Apple's gateway would.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include <Poco/File.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Path.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include "app/runtime.h"
#include "bcauth/base64.h"
#include "bcauth/secure.h"
#include "demo/apple_sender.h"
#include "http/apple_jwt.h"
#include "http/body.h"
#include "protocol/apple_jwt.h"
#include "temp_dir.h"

namespace bcauth::test {

inline const std::string kApiKey = "test-api-key-0123456789";
inline const std::string kCspId = "csp-test-0001";
inline const std::string kAppleSecret = "apple-secret-bytes-\x01\x02\x03";

struct Response {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  Poco::JSON::Object::Ptr json() const {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  }
};

inline app::Settings testSettings(const std::string& dataDir) {
  app::Settings s;
  s.cspId = kCspId;
  s.appleSecret = kAppleSecret;
  s.apiKeys = {kApiKey};
  s.masterKey = crypto::base64Encode(crypto::randomBytes(32));
  s.dataDir = dataDir;
  s.publicUrl = "https://bcauth.test";
  s.host = "127.0.0.1";
  s.port = 0;
  s.allowHttpLoopbackProviders = true;
  s.sweepSeconds = 1;
  s.appleGatewayUrl = "";  // delivery off unless a test points it at the gateway double
  // Limits off: suites create many requests per conversation; test_limits turns them on.
  s.rateLimitPerKey = 0;
  s.rateLimitPerConversation = 0;
  s.keyPoolSize = 8;
  return s;
}

class TestServer {
 public:
  explicit TestServer(app::Settings settings) : settings_(std::move(settings)) { restart(); }
  TestServer() : TestServer(testSettings(freshDir())) {}
  ~TestServer() { runtime_.reset(); }

  static std::string freshDir() { return freshTempDir(); }

  void stop() { runtime_.reset(); }
  void restart() {
    runtime_.reset();
    runtime_ = std::make_unique<app::Runtime>(settings_);
    runtime_->start();
  }
  std::uint16_t port() const { return runtime_->port(); }
  const app::Settings& settings() const { return settings_; }
  app::Runtime& runtime() { return *runtime_; }

  Response call(const std::string& method, const std::string& path, const std::string& body = "",
                const std::map<std::string, std::string>& headers = {}, bool withApiKey = true) const {
    Poco::Net::HTTPClientSession session("127.0.0.1", port());
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (withApiKey) request.set("Authorization", "Bearer " + kApiKey);
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() || method == "POST" || method == "PUT") {
      request.setContentLength(static_cast<std::streamsize>(body.size()));
      if (!request.has("Content-Type")) request.setContentType("application/json");
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Response out;
    out.status = static_cast<int>(response.getStatus());
    Poco::StreamCopier::copyToString(in, out.body);
    for (const auto& [name, value] : response) out.headers[name] = value;
    return out;
  }

  // POSTs to /message as Apple does (demo/apple_sender.h): gzip body, HS256 JWT with aud = the
  // CSP id, headers. authorization replaces the JWT ("": no Authorization header).
  Response deliver(const std::string& json, const std::string& capabilities = "", bool gzip = true,
                   std::optional<std::string> authorization = std::nullopt) const {
    demo::AppleMessageOptions options;
    options.capabilities = capabilities;
    options.gzip = gzip;
    options.authorization = std::move(authorization);
    const auto message = demo::appleMessage({kCspId, kAppleSecret}, json, options);
    return call("POST", "/message", message.body, message.headers, false);
  }

  static std::string appleJwt(const std::string& secret = kAppleSecret, const std::string& audience = kCspId,
                              std::int64_t skewSeconds = 0) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return protocol::signAppleJwt(secret, audience, now.count() + skewSeconds, protocol::AppleJwtDirection::kToCsp);
  }

 private:
  app::Settings settings_;
  std::unique_ptr<app::Runtime> runtime_;
};

}  // namespace bcauth::test
