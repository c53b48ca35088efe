// Apple's messaging gateway on loopback: records every POST /v1/authenticate, verifies its
// HS256 JWT (iss = the CSP id, keyed with the decoded secret) and answers from a script of
// statuses (then 200), so tests can make it fail on demand.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Poco/Net/HTTPServer.h>

namespace bcauth::test {

class GatewayDouble {
 public:
  struct Received {
    std::string path;
    std::map<std::string, std::string> headers;
    std::string body;
    bool jwtValid = false;
    int answeredStatus = 0;
  };

  GatewayDouble(std::string cspId, std::string secret);
  ~GatewayDouble();

  std::string baseUrl() const;  // http://127.0.0.1:PORT/v1
  void failNext(std::vector<int> statuses);
  std::vector<Received> received() const;

 private:
  friend class GatewayHandler;
  std::string cspId_;
  std::string secret_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  mutable std::mutex mutex_;
  std::deque<int> script_;
  std::vector<Received> received_;
};

}  // namespace bcauth::test
