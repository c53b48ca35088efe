#include "demo/loopback_server.h"

#include <utility>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>

namespace bcauth::demo {
namespace {

class Forward : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Forward(const LoopbackServer::Handler& handler) : handler_(handler) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    handler_(request, response);
  }

 private:
  const LoopbackServer::Handler& handler_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(LoopbackServer::Handler handler) : handler_(std::move(handler)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Forward(handler_);
  }

 private:
  const LoopbackServer::Handler handler_;  // outlives every Forward: the server owns this factory
};

}  // namespace

LoopbackServer::LoopbackServer(Handler handler) {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(std::move(handler)), socket, new Poco::Net::HTTPServerParams());
  server_->start();
}

LoopbackServer::~LoopbackServer() { server_->stopAll(true); }

std::uint16_t LoopbackServer::port() const { return server_->port(); }

std::string LoopbackServer::baseUrl() const { return "http://127.0.0.1:" + std::to_string(port()); }

}  // namespace bcauth::demo
