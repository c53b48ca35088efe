// `bcauth demo --serve`: bcauth on a temporary SQLite store with Apple's gateway double, the
// identity-provider double (user casey, password hunter2) and the phone page (demo/phone.h), all
// on loopback, left running for a person (or a browser test) to drive: the agent in the console,
// the customer on the phone.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include <Poco/Net/ServerSocket.h>

#include "app/runtime.h"
#include "demo/gateway_double.h"
#include "demo/idp_double.h"
#include "demo/phone.h"
#include "demo/temp_dir.h"

namespace bcauth::demo {

class ServedDemo {
 public:
  // port: bcauth's (0: the system picks one). Returns once everything answers: the example
  // provider is registered and each phone's customer has written to the business.
  explicit ServedDemo(std::uint16_t port = 0);
  ~ServedDemo();
  ServedDemo(const ServedDemo&) = delete;
  ServedDemo& operator=(const ServedDemo&) = delete;

  std::string bcauthUrl() const { return bcauthUrl_; }
  std::string consoleUrl() const { return bcauthUrl_ + "/console/"; }
  std::string phoneUrl() const { return phone_->baseUrl() + "/phone/"; }
  static const std::string& apiKey();  // an operator key
  IdpDouble& idp() { return *idp_; }
  GatewayDouble& gateway() { return *gateway_; }

 private:
  TempDir dir_;
  std::unique_ptr<GatewayDouble> gateway_;
  std::unique_ptr<IdpDouble> idp_;
  std::unique_ptr<Phone> phone_;
  std::unique_ptr<Poco::Net::ServerSocket> socket_;
  std::unique_ptr<app::Runtime> runtime_;
  std::string bcauthUrl_;
};

// Runs until SIGINT or SIGTERM, after printing the console's and the phone's URLs.
int serveDemo(std::uint16_t port, std::ostream& out, std::ostream& err);

}  // namespace bcauth::demo
