#include "demo/demo.h"

#include <chrono>
#include <thread>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>

#include "app/runtime.h"
#include "bcauth/base64.h"
#include "bcauth/secure.h"
#include "clients/http_call.h"
#include "demo/demo_serve.h"
#include "demo/device_simulator.h"
#include "demo/gateway_double.h"
#include "demo/idp_double.h"
#include "demo/temp_dir.h"

namespace bcauth::demo {
namespace {

const std::string kCspId = "demo-csp";
const std::string kApiKey = "demo-api-key-0123456789";
const std::string kBusiness = "demo-business";
const std::string kLegacyCustomer = "urn:mbid:AQAAYdemo+legacy/customer=";
const std::string kV2Customer = "urn:mbid:AQAAYdemo+ios16/customer=";
// How long the demo waits for asynchronous work (a delivery, a profile fetch) before it gives
// up; each wait ends as soon as the work is done.
constexpr std::chrono::seconds kSettleTimeout{60};

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

class Demo {
 public:
  explicit Demo(std::ostream& log) : log_(log) {}

  std::vector<DemoTimeline> run() {
    const TempDir dir("bcauth-demo-");
    const auto secretBytes = crypto::randomBytes(32);
    const std::string secret(secretBytes.begin(), secretBytes.end());
    gateway_ = std::make_unique<GatewayDouble>(kCspId, secret);
    IdpDouble::Config idpConfig;
    idp_ = std::make_unique<IdpDouble>(idpConfig);

    app::Settings settings;
    settings.cspId = kCspId;
    settings.appleSecret = secret;
    settings.apiKeys = {kApiKey};
    settings.masterKey = crypto::base64Encode(crypto::randomBytes(32));
    settings.dataDir = dir.path();
    // Bound here, not probed and released: the publicUrl names the port bcauth listens on.
    const Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    settings.port = socket.address().port();
    settings.publicUrl = "http://127.0.0.1:" + std::to_string(settings.port);
    settings.allowHttpLoopbackProviders = true;
    settings.appleGatewayUrl = gateway_->baseUrl();
    settings.deliveryRetryBaseMs = 100;
    base_ = settings.publicUrl;
    app::Runtime runtime(settings, socket);
    runtime.start();
    log_ << "bcauth on " << base_ << " (SQLite in " << dir.path() << "), Apple gateway double on " << gateway_->baseUrl()
         << ", IdP double on " << idp_->baseUrl() << "\n\n";

    api("PUT", "/v1/providers/example", idp_->providerJson("Example IdP"), 200);
    customerWrites(kLegacyCustomer, "QUICK,LIST,TIME,AUTH,FORM");
    customerWrites(kV2Customer, "QUICK,LIST,TIME,AUTH,AUTH2,FORM");

    step("legacy: the customer signs in; the device returns the token encrypted to the request key");
    legacy(idpConfig.clientId);
    step("legacy failure: the IdP's token response has no access_token");
    idp_->setTokenMode(IdpDouble::TokenMode::kNoAccessToken);
    legacy(idpConfig.clientId);
    idp_->setTokenMode(IdpDouble::TokenMode::kOk);
    step("iOS 16+: bcauth's /oauth/callback exchanges the code with PKCE and fetches the profile");
    v2(idpConfig.clientId);
    step("iOS 16+ failure: the IdP's token URL answers 500");
    idp_->setTokenMode(IdpDouble::TokenMode::kHttp500);
    v2(idpConfig.clientId);

    std::vector<DemoTimeline> timelines;
    for (const auto& conversation : {kLegacyCustomer, kV2Customer}) timelines.push_back(timeline(conversation));
    runtime.stop();
    return timelines;
  }

 private:
  void step(const std::string& what) { log_ << "• " << what << "\n"; }

  Poco::JSON::Object::Ptr api(const std::string& method, const std::string& path, const std::string& body, int expected) {
    const auto answer = clients::httpCall(method, base_ + path,
                                          {{"Authorization", "Bearer " + kApiKey}, {"Content-Type", "application/json"}},
                                          body, 30);
    if (!answer.reached || answer.status != expected) {
      throw std::runtime_error(method + " " + path + " answered " + std::to_string(answer.status) + " " + answer.body +
                               answer.error);
    }
    return answer.body.empty() ? nullptr : parse(answer.body);
  }

  // Apple's gateway POSTing an inbound message to bcauth.
  void appleDelivers(const std::string& json, const std::string& capabilities) {
    const auto answer = gateway_->deliver(base_, json, capabilities);
    if (!answer.reached || answer.status != 200) throw std::runtime_error("POST /message answered " + answer.body);
  }

  void customerWrites(const std::string& conversation, const std::string& capabilities) {
    appleDelivers(R"({"id":")" + crypto::randomUuid() + R"(","type":"text","v":1,"sourceId":")" + conversation +
                      R"(","destinationId":")" + kBusiness + R"(","body":"Hi, I need help with my order"})",
                  capabilities);
  }

  // The message exactly as Apple's gateway received it for this request, once bcauth has
  // recorded the delivery (so auth.delivered precedes whatever the customer does next). The
  // gateway double records a message before it answers, so a recorded delivery is in its list.
  Poco::JSON::Object::Ptr deliveredMessage(const Poco::JSON::Object::Ptr& request) {
    const std::string id = request->getValue<std::string>("id");
    const auto deadline = std::chrono::steady_clock::now() + kSettleTimeout;
    while (api("GET", "/v1/auth-requests/" + id, "", 200)->getObject("delivery")->getValue<std::string>("status") !=
           "delivered") {
      if (std::chrono::steady_clock::now() >= deadline) throw std::runtime_error("request " + id + " was never delivered");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const std::string requestIdentifier = request->getValue<std::string>("requestIdentifier");
    for (const auto& r : gateway_->received()) {
      if (r.answeredStatus != 200) continue;
      auto message = parse(r.body);
      if (message->getObject("interactiveData")->getObject("data")->getValue<std::string>("requestIdentifier") ==
          requestIdentifier) {
        return message;
      }
    }
    throw std::runtime_error("the gateway double never received request " + requestIdentifier);
  }

  Poco::JSON::Object::Ptr create(const std::string& conversation) {
    return api("POST", "/v1/auth-requests",
               R"({"conversationId":")" + conversation + R"(","businessId":")" + kBusiness +
                   R"(","providerId":"example","receivedMessage":{"title":"Sign in to Example","style":"icon"}})",
               201);
  }

  void legacy(const std::string& clientId) {
    const auto request = create(kLegacyCustomer);
    const auto message = deliveredMessage(request);
    appleDelivers(runLegacyDevice(message, clientId, idp_->baseUrl(), idp_->baseUrl() + "/token"), "AUTH");
    waitForOutcome(request->getValue<std::string>("id"));
  }

  // A legacy success's event follows its profile fetch, a v2 outcome the callback; the next step
  // (or the timeline) waits for it.
  void waitForOutcome(const std::string& requestId) {
    for (const auto deadline = std::chrono::steady_clock::now() + kSettleTimeout; std::chrono::steady_clock::now() < deadline;) {
      const auto events = api("GET", "/v1/events?limit=1000", "", 200)->getArray("events");
      for (std::size_t j = 0; j < events->size(); ++j) {
        const auto e = events->getObject(static_cast<unsigned>(j));
        const std::string type = e->getValue<std::string>("type");
        if (e->has("authRequestId") && e->getValue<std::string>("authRequestId") == requestId &&
            (type == "auth.succeeded" || type == "auth.failed" || type == "auth.cancelled")) {
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("no outcome was recorded for request " + requestId);
  }

  void v2(const std::string& clientId) {
    const auto request = create(kV2Customer);
    const auto message = deliveredMessage(request);
    const auto run = runV2Device(message, clientId, idp_->baseUrl(), base_, base_);
    log_ << "  the device's sheet closed on " << run.finalLocation << "\n";
    appleDelivers(v2DeviceReply(message, run.finalLocation), "AUTH,AUTH2");
    waitForOutcome(request->getValue<std::string>("id"));
  }

  DemoTimeline timeline(const std::string& conversation) {
    std::string encoded;
    Poco::URI::encode(conversation, "/+=:", encoded);
    // Nothing is left in flight: each step waited for its delivery and its outcome.
    const auto events = api("GET", "/v1/conversations/" + encoded + "/events?limit=1000", "", 200)->getArray("events");
    DemoTimeline t{conversation, {}};
    for (std::size_t i = 0; i < events->size(); ++i) {
      const auto e = events->getObject(static_cast<unsigned>(i));
      const auto data = e->getObject("data");
      std::string line = e->getValue<std::string>("type");
      if (data->has("reason")) line += " [" + data->getValue<std::string>("reason") + "]";
      if (data->has("customer")) {
        const auto customer = data->getObject("customer");
        if (customer->has("email")) line += " customer " + customer->getValue<std::string>("email");
      }
      t.events.push_back(line);
    }
    return t;
  }

  std::ostream& log_;
  std::string base_;
  std::unique_ptr<GatewayDouble> gateway_;
  std::unique_ptr<IdpDouble> idp_;
};

}  // namespace

std::vector<DemoTimeline> runDemo(std::ostream& log) {
  Demo demo(log);
  return demo.run();
}

int runDemoCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    out << "Usage: bcauth demo [--serve [--port N]]\n"
           "Starts bcauth on a temporary SQLite store with an Apple gateway double, an IdP double and a device\n"
           "simulator on loopback, runs a legacy and an iOS 16+ authentication end to end plus one failure of\n"
           "each, and prints the two conversations' timelines.\n"
           "With --serve, leaves them running and prints two URLs: the web console (signed in with the printed\n"
           "API key) and a phone page where the customer taps the sign-in bubble and signs in to the IdP's\n"
           "login form (casey / hunter2). --port sets bcauth's port (default: any free one). Ctrl-C stops it.\n";
    return 0;
  }
  if (!args.empty() && args[0] == "--serve") {
    long port = 0;
    if (args.size() == 3 && args[1] == "--port") {
      try {
        port = std::stol(args[2]);
      } catch (const std::exception&) {
        port = -1;
      }
    }
    if ((args.size() != 1 && args.size() != 3) || (args.size() == 3 && args[1] != "--port") || port < 0 || port > 65535) {
      err << "bcauth demo: --serve takes only --port N, N from 0 to 65535 (see `bcauth demo --help`)\n";
      return 2;
    }
    return serveDemo(static_cast<std::uint16_t>(port), out, err);
  }
  if (!args.empty()) {
    err << "bcauth demo: takes no arguments but --serve (see `bcauth demo --help`)\n";
    return 2;
  }
  try {
    // The demo's own narrative is the output; the per-request log lines would drown it.
    Poco::Logger::get("bcauth.http").setLevel("warning");
    const auto timelines = runDemo(out);
    for (const auto& t : timelines) {
      out << "\nTimeline of " << t.conversationId << "\n";
      for (const auto& e : t.events) out << "  " << e << "\n";
    }
  } catch (const std::exception& e) {
    err << "bcauth demo: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace bcauth::demo
