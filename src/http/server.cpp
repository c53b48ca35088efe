#include "http/server.h"

#include <atomic>
#include <chrono>

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "http/call.h"
#include "http/errors.h"
#include "http/exchange.h"
#include "http/lane.h"
#include "http/listener.h"
#include "http/middleware.h"

namespace bcauth::http {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// How long a worker waits for the next request on a kept-alive connection before handing it
// back to the listener (a client that answers faster than this keeps its worker).
constexpr std::chrono::milliseconds kNextHeadWait{3};

struct Server::Parts {
  std::shared_ptr<HttpConfig> config;
  std::shared_ptr<Context> context;
  std::atomic<bool> stopping{false};
  std::unique_ptr<Exchange> exchange;
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Lane> apple;  // Apple's POST /message only, so the CSP API cannot starve it
  std::unique_ptr<Lane> ops;    // /healthz, /readyz, /metrics: cheap, and answered while the API is busy
  std::unique_ptr<Lane> api;
  std::unique_ptr<Lane> tls;    // TLS connections: the handshake and head are read here

  Lane& lane(LaneId id) {
    switch (id) {
      case LaneId::kApple: return *apple;
      case LaneId::kOps: return *ops;
      case LaneId::kApi: return *api;
      case LaneId::kTls: break;
    }
    return *tls;
  }

  // A worker's turn with a connection: read the head if the listener has not, answer it and what
  // is pipelined behind it. A client on a kept-alive connection usually sends its next request
  // at once: the worker waits a moment for a whole next head (never a partial one: a head still
  // arriving goes back to the listener) and answers it itself, sparing the trip through the
  // listener and another worker's wake-up. Lanes stay honest: an Apple or operations worker hands
  // an API request to the API lane, so API traffic never runs on the workers kept for Apple;
  // Apple's requests and health checks may run on any worker.
  void serve(Connection&& connection, LaneId id) {
    thread_local std::vector<char> peek;
    peek.resize(config->maxHeaderBytes + 1);
    if (!connection.head) connection.head = exchange->readHead(connection);
    while (connection.head) {
      if (!exchange->serve(connection)) return;  // closed
      LaneId next = id;
      if (connection.secure() || lane(id).queued() > 0 || !nextHeadArrives(connection.socket, kNextHeadWait, peek, next)) {
        return listener->park(std::move(connection));
      }
      if (next == LaneId::kApi && id != LaneId::kApi) {
        if (!api->offer(std::move(connection))) listener->park(std::move(connection));
        return;
      }
      connection.head = exchange->readHead(connection);
    }
  }

  // TLS: the head, once read, says which lane answers it.
  void readTls(Connection&& connection) {
    connection.head = exchange->readHead(connection);
    if (!connection.head) return;
    const auto& request = *connection.head->request;
    const LaneId id = laneOf(request.getMethod() + " " + request.getURI());
    auto& response = *connection.head->response;
    if (lane(id).offer(std::move(connection))) return;
    context->metrics.countConnectionRefused("queue_full");
    response.setKeepAlive(false);
    response.set("Retry-After", "1");
    sendStatus(response, Status::refusal(StatusCode::kServerBusy, "every worker is busy; retry"));
  }
};

Server::Server(service::AuthService& service, HttpConfig config, const Poco::Net::ServerSocket& socket)
    : metrics_(std::make_unique<Metrics>()), parts_(std::make_unique<Parts>()), port_(socket.address().port()) {
  Parts& parts = *parts_;
  parts.config = std::make_shared<HttpConfig>(std::move(config));
  const HttpConfig& c = *parts.config;
  parts.context = std::make_shared<Context>(service, c, *metrics_);

  ListenerConfig listener;
  listener.maxConnections = c.maxConnections;
  listener.maxConnectionsPerAddress = c.maxConnectionsPerAddress;
  listener.headerTimeout = std::chrono::seconds(c.headerTimeoutSeconds);
  listener.idleTimeout = std::chrono::seconds(c.idleTimeoutSeconds);
  listener.maxHeaderBytes = c.maxHeaderBytes;
  parts.listener = std::make_unique<Listener>(socket, listener, *metrics_, [&parts](Connection&& connection, LaneId id) {
    return parts.lane(id).offer(std::move(connection));
  });

  ExchangeConfig exchange;
  exchange.params = new Poco::Net::HTTPServerParams();
  exchange.params->setKeepAlive(true);
  exchange.params->setTimeout(Poco::Timespan(c.readTimeoutSeconds, 0));
  exchange.headerTimeout = std::chrono::seconds(c.headerTimeoutSeconds);
  exchange.bodyTimeout = std::chrono::seconds(c.bodyTimeoutSeconds);
  auto context = parts.context;
  parts.exchange = std::make_unique<Exchange>(
      exchange, parts.listener->watchdog(),
      [context](HTTPServerRequest& request, HTTPServerResponse& response) { handleRequest(*context, request, response); },
      parts.stopping);

  const auto queued = static_cast<std::size_t>(c.maxQueued);
  parts.apple = std::make_unique<Lane>("apple", c.appleThreads, queued,
                                       [&parts](Connection&& connection) { parts.serve(std::move(connection), LaneId::kApple); });
  parts.ops = std::make_unique<Lane>("ops", 2, queued,
                                     [&parts](Connection&& connection) { parts.serve(std::move(connection), LaneId::kOps); });
  parts.api = std::make_unique<Lane>("api", c.maxThreads, queued,
                                     [&parts](Connection&& connection) { parts.serve(std::move(connection), LaneId::kApi); });
  parts.tls = std::make_unique<Lane>("tls", socket.secure() ? c.maxThreads : 0, queued,
                                     [&parts](Connection&& connection) { parts.readTls(std::move(connection)); });
  parts.context->connectionGauges = [&parts](Metrics::Gauges& gauges) {
    gauges.connectionsOpen = parts.listener->openConnections();
    gauges.connectionsWaiting = parts.listener->waitingConnections();
    gauges.apiWorkersBusy = parts.api->busy();
    gauges.appleWorkersBusy = parts.apple->busy();
  };
  service.setDecryptObserver([metrics = metrics_.get()](double seconds) { metrics->observeDecryptSeconds(seconds); });
}

Server::~Server() { stop(); }

void Server::start() {
  parts_->listener->start();
  started_ = true;
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  Parts& parts = *parts_;
  // Stop accepting and close the idle connections; requests being answered finish (up to a grace
  // period) before the caller tears down the service and store they use.
  parts.stopping = true;
  parts.listener->stopAccepting();
  const auto grace = Clock::now() + std::chrono::seconds(10);
  for (Lane* lane : {parts.tls.get(), parts.apple.get(), parts.ops.get(), parts.api.get()}) {
    lane->close();
    lane->waitIdle(grace);
  }
  // Whoever still waits on a slow client is cut off now; no handler may outlive the service,
  // store and metrics it uses.
  parts.listener->watchdog().expire(Clock::time_point::max());
  for (Lane* lane : {parts.tls.get(), parts.apple.get(), parts.ops.get(), parts.api.get()}) lane->join();
  parts.listener->stop();
  parts.context->connectionGauges = nullptr;
}

}  // namespace bcauth::http
