// A running bcauth server: store, service, HTTP server and background lanes, wired from Settings.
// The `serve` command and the integration tests both use it.
#pragma once

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include <Poco/Net/ServerSocket.h>

#include "app/background_lane.h"
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
  // Graceful: in-flight requests finish first, and so does each lane's outbound call in flight
  // (within its own timeout: 10 s for a webhook or an IdP, 15 s for Apple's gateway);
  // no lane starts another one.
  void stop();
  std::uint16_t port() const { return server_->port(); }
  service::AuthService& service() { return *service_; }
  // Rounds completed by the background lane of that name ("apple", "profiles", "webhooks",
  // "expiry"; 0 before start or for another name): tests wait on it instead of sleeping.
  std::uint64_t laneRounds(std::string_view lane) const;

 private:
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::AuthService> service_;
  std::unique_ptr<http::Server> server_;
  std::int64_t sweepSeconds_;
  std::vector<std::unique_ptr<BackgroundLane>> lanes_;
  std::mutex mutex_;
  bool stopping_ = false;
  bool started_ = false;
};

// `bcauth serve [--port N] [--data-dir DIR] [--config FILE]`: runs until SIGINT/SIGTERM.
int runServe(const std::vector<std::string>& args);

}  // namespace bcauth::app
