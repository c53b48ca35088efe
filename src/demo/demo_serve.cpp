#include "demo/demo_serve.h"

#include <csignal>
#include <stdexcept>

#include <Poco/Logger.h>

#include "bcauth/base64.h"
#include "bcauth/secure.h"
#include "clients/http_call.h"

namespace bcauth::demo {
namespace {

const std::string kCspId = "demo-csp";
const std::string kBusiness = "demo-business";

}  // namespace

const std::string& ServedDemo::apiKey() {
  static const std::string key = "demo-operator-key-0123456789";
  return key;
}

ServedDemo::ServedDemo(std::uint16_t port) : dir_("bcauth-demo-serve-") {
  const auto secretBytes = crypto::randomBytes(32);
  gateway_ = std::make_unique<GatewayDouble>(kCspId, std::string(secretBytes.begin(), secretBytes.end()));
  IdpDouble::Config idpConfig;
  idpConfig.username = "casey";
  idpConfig.password = "hunter2";
  idp_ = std::make_unique<IdpDouble>(idpConfig);
  phone_ = std::make_unique<Phone>(*gateway_, Phone::Setup{kBusiness, idp_->baseUrl(), idpConfig.clientId, idp_->baseUrl() + "/token"});

  app::Settings settings;
  settings.cspId = kCspId;
  settings.appleSecret = std::string(secretBytes.begin(), secretBytes.end());
  settings.apiKeys = {apiKey()};
  settings.masterKey = crypto::base64Encode(crypto::randomBytes(32));
  settings.dataDir = dir_.path();
  // The customer's web view is the phone's: the IdP's redirect to /oauth/callback reaches bcauth
  // through it, as the device sees every redirect (demo/phone.h).
  settings.publicUrl = phone_->baseUrl();
  settings.allowHttpLoopbackProviders = true;
  settings.appleGatewayUrl = gateway_->baseUrl();
  settings.deliveryRetryBaseMs = 100;
  socket_ = std::make_unique<Poco::Net::ServerSocket>(Poco::Net::SocketAddress("127.0.0.1", port));
  runtime_ = std::make_unique<app::Runtime>(settings, *socket_);
  runtime_->start();
  bcauthUrl_ = "http://127.0.0.1:" + std::to_string(socket_->address().port());
  phone_->connect(bcauthUrl_);

  const auto call = [&](const std::string& method, const std::string& path, const std::string& body) {
    return clients::httpCall(method, bcauthUrl_ + path,
                             {{"Authorization", "Bearer " + apiKey()}, {"Content-Type", "application/json"}}, body, 30);
  };
  const auto provider = call("PUT", "/v1/providers/example", idp_->providerJson("Example IdP"));
  if (!provider.reached || provider.status != 200) throw std::runtime_error("registering the example provider failed: " + provider.body);
  call("POST", "/v1/businesses", R"({"id":")" + kBusiness + R"(","name":"Demo Business"})");
  // The provider is shared (the operator's): the business turns it on for itself, so a key of
  // the business can use it too.
  call("PUT", "/v1/businesses/" + kBusiness + "/providers/example", "");
  phone_->say("ios16", "Hi, I need help with my order");
  phone_->say("legacy", "Hello, can you check my delivery?");
}

ServedDemo::~ServedDemo() {
  if (runtime_) runtime_->stop();
}

int serveDemo(std::uint16_t port, std::ostream& out, std::ostream& err) {
  // Blocked before any thread starts, so every thread inherits the mask and sigwait gets them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    Poco::Logger::get("bcauth.http").setLevel("warning");
    ServedDemo demo(port);
    out << "bcauth demo is running; Ctrl-C stops it.\n"
        << "  console: " << demo.consoleUrl() << "  (API key: " << ServedDemo::apiKey() << ")\n"
        << "  phone:   " << demo.phoneUrl() << "  (IdP sign-in: casey / hunter2)\n"
        << std::flush;
    int received = 0;
    sigwait(&signals, &received);
    out << "stopping\n" << std::flush;
  } catch (const std::exception& e) {
    err << "bcauth demo --serve: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace bcauth::demo
