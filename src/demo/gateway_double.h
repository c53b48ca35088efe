// Apple's Messages for Business gateway on loopback, both ways. Towards Apple: it records every
// POST /v1/authenticate, verifies its HS256 JWT (iss = the CSP id, keyed with the decoded
// secret, iat in a window) and answers from a script of statuses (then 200), so tests can make
// it fail on demand. Towards the CSP: deliver() POSTs a customer's message or a device's reply
// to the CSP's /message as Apple does (demo/apple_sender.h).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>


#include "clients/http_call.h"
#include "demo/apple_sender.h"
#include "demo/loopback_server.h"

namespace bcauth::demo {

class GatewayDouble {
 public:
  struct Received {
    std::string path;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    bool jwtValid = false;
    int answeredStatus = 0;
  };

  // secret: the Messaging API secret, Base64-decoded.
  GatewayDouble(std::string cspId, std::string secret);
  ~GatewayDouble();
  GatewayDouble(const GatewayDouble&) = delete;
  GatewayDouble& operator=(const GatewayDouble&) = delete;

  std::string baseUrl() const;  // http://127.0.0.1:PORT/v1, the CSP's Apple gateway URL
  void failNext(std::vector<int> statuses);
  std::vector<Received> received() const;

  // POSTs json to cspUrl/message as Apple would, with this gateway's CSP id and secret.
  clients::HttpAnswer deliver(const std::string& cspUrl, const std::string& json, const std::string& capabilities) const;

 private:
  friend class GatewayHandler;
  AppleAccount account_;
  std::unique_ptr<LoopbackServer> server_;
  mutable std::mutex mutex_;
  std::deque<int> script_;
  std::vector<Received> received_;
};

}  // namespace bcauth::demo
