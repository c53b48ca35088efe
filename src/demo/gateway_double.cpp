#include "demo/gateway_double.h"

#include <chrono>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

#include "protocol/apple_jwt.h"

namespace bcauth::demo {
namespace {
// How far the iat of a CSP's token may be from the double's clock: bcauth signs each request
// afresh, so a minute is plenty.
constexpr std::int64_t kJwtWindowSeconds = 60;
}  // namespace

class GatewayHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit GatewayHandler(GatewayDouble& gateway) : gateway_(gateway) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    GatewayDouble::Received r;
    r.path = request.getURI();
    for (const auto& [name, value] : request) r.headers[Poco::toLower(name)] = value;
    Poco::StreamCopier::copyToString(request.stream(), r.body);
    const std::string auth = request.get("Authorization", "");
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    r.jwtValid = auth.rfind("Bearer ", 0) == 0 &&
                 protocol::verifyAppleJwt(std::string_view(auth).substr(7), gateway_.account_.secret,
                                          gateway_.account_.cspId, protocol::AppleJwtDirection::kToApple, now.count(),
                                          kJwtWindowSeconds)
                     .isOk();
    int status = 200;
    {
      std::lock_guard lock(gateway_.mutex_);
      if (!r.jwtValid) status = 403;
      else if (r.path != "/v1/authenticate" || request.getMethod() != "POST") status = 404;
      else if (!gateway_.script_.empty()) {
        status = gateway_.script_.front();
        gateway_.script_.pop_front();
      }
      r.answeredStatus = status;
      gateway_.received_.push_back(r);
    }
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    response.setContentLength(0);
    response.send();
  }

 private:
  GatewayDouble& gateway_;
};

GatewayDouble::GatewayDouble(std::string cspId, std::string secret)
    : account_{std::move(cspId), std::move(secret)} {
  // Started once every member its requests use is constructed.
  server_ = std::make_unique<LoopbackServer>(
      [this](Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
        GatewayHandler(*this).handleRequest(request, response);
      });
}

GatewayDouble::~GatewayDouble() { server_.reset(); }  // before the members its requests use

std::string GatewayDouble::baseUrl() const { return server_->baseUrl() + "/v1"; }

void GatewayDouble::failNext(std::vector<int> statuses) {
  std::lock_guard lock(mutex_);
  script_.assign(statuses.begin(), statuses.end());
}

std::vector<GatewayDouble::Received> GatewayDouble::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

clients::HttpAnswer GatewayDouble::deliver(const std::string& cspUrl, const std::string& json,
                                           const std::string& capabilities) const {
  AppleMessageOptions options;
  options.capabilities = capabilities;
  return deliverAsApple(cspUrl, account_, json, options);
}

}  // namespace bcauth::demo
