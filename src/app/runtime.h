// A running bcauth server: store, service, HTTP server and expiry sweeper, wired from Settings.
// The `serve` command and the integration tests both use it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <Poco/Net/ServerSocket.h>

#include "app/settings.h"
#include "http/server.h"
#include "service/auth_service.h"
#include "store/store.h"

namespace bcauth::app {

class Runtime {
 public:
  explicit Runtime(const Settings& settings);  // binds settings' host and port (TLS if set), opens the store
  // On a socket the caller bound, for a caller that needs the port before the settings (the
  // demo's publicUrl names its own port); settings' host, port and TLS files are not used.
  Runtime(const Settings& settings, const Poco::Net::ServerSocket& socket);
  ~Runtime();

  void start();
  void stop();  // graceful: in-flight requests finish first
  std::uint16_t port() const { return server_->port(); }
  service::AuthService& service() { return *service_; }

 private:
  void sweepLoop(std::int64_t everySeconds);

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::AuthService> service_;
  std::unique_ptr<http::Server> server_;
  std::int64_t sweepSeconds_;
  std::thread sweeper_;
  std::mutex mutex_;
  std::condition_variable stopRequested_;
  bool stopping_ = false;
  bool started_ = false;
};

// `bcauth serve [--port N] [--data-dir DIR] [--config FILE]`: runs until SIGINT/SIGTERM.
int runServe(const std::vector<std::string>& args);

}  // namespace bcauth::app
