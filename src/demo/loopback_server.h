// An HTTP server on 127.0.0.1 (port 0: the system picks one) that hands every request to one
// function. The demo's doubles are each made of one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

namespace bcauth::demo {

class LoopbackServer {
 public:
  // Called on the server's threads, several at once.
  using Handler = std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;

  explicit LoopbackServer(Handler handler);
  // Stops listening and waits for the requests in flight: an owner whose handler uses its
  // members destroys this first.
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::uint16_t port() const;
  std::string baseUrl() const;  // http://127.0.0.1:PORT

 private:
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace bcauth::demo
