#include "app/runtime.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SocketAddress.h>

namespace bcauth::app {

namespace {
std::int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SO_REUSEADDR, so a restart binds at once; not SO_REUSEPORT, which Poco's address
// constructors set and with which a second server on a taken port would start and silently
// take half of its connections: a port in use is an error.
Poco::Net::ServerSocket bindSocket(const Settings& settings) {
  const Poco::Net::SocketAddress address(settings.host, static_cast<Poco::UInt16>(settings.port));
  Poco::Net::ServerSocket socket;
  if (!settings.tlsCertificate.empty()) {
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_SERVER_USE, settings.tlsPrivateKey, settings.tlsCertificate, "",
        Poco::Net::Context::VERIFY_NONE, 9, false, "HIGH:!aNULL:!eNULL:!MD5:!RC4:@STRENGTH");
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    socket = Poco::Net::SecureServerSocket(context);
  }
  socket.bind(address, true, false);
  socket.listen(1024);  // a burst of connections waits in the kernel, not refused there
  return socket;
}
// Every connection is a descriptor, and the listener holds idle ones cheaply: the soft limit of
// 1024 many systems start with would cap connections long before BCAUTH_MAX_CONNECTIONS does.
void raiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 65536);
  ::setrlimit(RLIMIT_NOFILE, &limit);
}
}  // namespace

Runtime::Runtime(const Settings& settings) : Runtime(settings, bindSocket(settings)) {}

Runtime::Runtime(const Settings& settings, const Poco::Net::ServerSocket& socket) : sweepSeconds_(settings.sweepSeconds) {
  raiseDescriptorLimit();
  // Settings built in code skip loadSettings: the key is checked here too, before anything opens.
  if (const Status key = checkMasterKey(settings.masterKey, "BCAUTH_MASTER_KEY"); !key) {
    throw std::invalid_argument(key.toString());
  }
  store_ = settings.databaseUrl.empty() ? store::openSqliteStore(settings.dataDir, {settings.sqliteMaxBytes})
                                        : store::openPostgresStore(settings.databaseUrl);
  service::ServiceConfig serviceConfig;
  serviceConfig.publicUrl = settings.publicUrl;
  serviceConfig.defaultTtlSeconds = settings.defaultTtlSeconds;
  serviceConfig.allowHttpLoopbackProviders = settings.allowHttpLoopbackProviders;
  serviceConfig.outboundAllowCidrs = settings.outboundAllowCidrs;
  serviceConfig.v2MessageVersion = settings.v2MessageVersion;
  serviceConfig.gateway.baseUrl = settings.appleGatewayUrl;
  serviceConfig.gateway.cspId = settings.cspId;
  serviceConfig.gateway.secret = settings.appleSecret;
  serviceConfig.deliveryMaxAttempts = settings.deliveryMaxAttempts;
  serviceConfig.deliveryRetryBaseMs = settings.deliveryRetryBaseMs;
  serviceConfig.webhookMaxAttempts = settings.webhookMaxAttempts;
  serviceConfig.webhookRetryBaseMs = settings.webhookRetryBaseMs;
  serviceConfig.keyPool.capacity = static_cast<std::size_t>(settings.keyPoolSize);
  serviceConfig.keyPool.refillBelow = static_cast<std::size_t>(settings.keyPoolRefillBelow);
  serviceConfig.keyPool.refillThreads = settings.keyPoolThreads;
  serviceConfig.eventsRecheckMillis = settings.eventsRecheckMs;
  service_ = std::make_unique<service::AuthService>(*store_, crypto::Sealer::fromBase64Key(settings.masterKey).value(),
                                                    serviceConfig, nowMillis);
  http::HttpConfig httpConfig;
  httpConfig.apiKeys = settings.apiKeys;
  httpConfig.cspId = settings.cspId;
  httpConfig.appleSecret = settings.appleSecret;
  httpConfig.jwtWindowSeconds = settings.jwtWindowSeconds;
  httpConfig.maxBodyBytes = settings.maxBodyBytes;
  httpConfig.maxThreads = settings.maxThreads;
  httpConfig.appleThreads = settings.appleThreads;
  httpConfig.maxQueued = settings.maxQueued;
  httpConfig.maxConnections = settings.maxConnections;
  httpConfig.maxConnectionsPerAddress = settings.maxConnectionsPerAddress;
  httpConfig.headerTimeoutSeconds = settings.headerTimeoutSeconds;
  httpConfig.bodyTimeoutSeconds = settings.bodyTimeoutSeconds;
  httpConfig.maxHeaderBytes = static_cast<std::size_t>(settings.maxHeaderBytes);
  httpConfig.idleTimeoutSeconds = settings.idleTimeoutSeconds;
  httpConfig.readTimeoutSeconds = settings.readTimeoutSeconds;
  httpConfig.apiKeyRatePerSecond = settings.rateLimitPerKey;
  httpConfig.apiKeyBurst = settings.rateLimitPerKeyBurst;
  httpConfig.conversationRatePerMinute = settings.rateLimitPerConversation;
  httpConfig.conversationBurst = settings.rateLimitPerConversationBurst;
  server_ = std::make_unique<http::Server>(*service_, httpConfig, socket);
}

Runtime::~Runtime() { stop(); }

std::uint64_t Runtime::laneRounds(std::string_view lane) const {
  for (const auto& each : lanes_) {
    if (each->name() == lane) return each->rounds();
  }
  return 0;
}

// One lane per kind of outbound work, each on its own thread: a hanging webhook endpoint or
// identity provider holds only its own lane, never Apple deliveries or the expiry sweep.
void Runtime::start() {
  server_->start();
  started_ = true;
  constexpr auto kTick = std::chrono::milliseconds(200);
  auto& service = *service_;
  const auto lane = [this](std::string name, std::chrono::milliseconds tick, BackgroundLane::Work work) {
    lanes_.push_back(std::make_unique<BackgroundLane>(std::move(name), tick, std::move(work)));
    lanes_.back()->start();
  };
  lane("apple", kTick, [&service](std::stop_token stop) { return service.appleOutbox.deliverDue(stop); });
  lane("profiles", kTick, [&service](std::stop_token stop) { return service.intake.completeProfiles(stop); });
  lane("webhooks", kTick, [&service](std::stop_token stop) { return service.webhookOutbox.deliverDue(stop); });
  lane("expiry", std::chrono::seconds(sweepSeconds_), [&service](std::stop_token) {
    const int expired = service.requests.expireDue();
    if (expired > 0) Poco::Logger::get("bcauth.sweeper").information(std::to_string(expired) + " requests expired");
    return expired;
  });
}

void Runtime::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (auto& lane : lanes_) lane->requestStop();  // all at once: their in-flight calls end together
  service_->shutdown();  // open long-polls answer now instead of holding the stop
  if (started_) server_->stop();
  for (auto& lane : lanes_) lane->join();
}

}  // namespace bcauth::app
