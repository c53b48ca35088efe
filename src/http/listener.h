// The listener: one thread that accepts connections and holds every connection that is not
// being served — new ones until their request head has arrived whole, kept-alive ones while they
// are idle — so that idle or slow clients cost a file descriptor, never a worker thread.
//
// It admits a connection only under the per-address and total caps, gives a request head a total
// deadline (not only a per-read timeout), closes idle kept-alive connections after the idle
// timeout, refuses heads larger than the bound, and hands each complete head to the lane its
// request line names: Apple's POST /message to its own lane, the operations endpoints (health,
// readiness, metrics) to theirs, everything else to the API lane.
// TLS heads cannot be seen before the handshake; those connections go to the TLS lane as soon as
// their first bytes arrive, whose workers read the head under the watchdog's deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <Poco/Net/ServerSocket.h>

#include "bcauth/defaults.h"
#include "bcauth/status.h"
#include "http/connection.h"
#include "http/metrics.h"

namespace bcauth::http {

struct ListenerConfig {
  int maxConnections = defaults::kMaxConnections;                      // open connections in all (0: no cap)
  int maxConnectionsPerAddress = defaults::kMaxConnectionsPerAddress;  // from one client address (0: no cap)
  // A request head must be whole by then.
  std::chrono::milliseconds headerTimeout = std::chrono::seconds(defaults::kHeaderTimeoutSeconds);
  // A kept-alive connection with no new request is closed then.
  std::chrono::milliseconds idleTimeout = std::chrono::seconds(defaults::kIdleTimeoutSeconds);
  std::size_t maxHeaderBytes = defaults::kMaxHeaderBytes;  // request line and header fields together
};

enum class LaneId { kApple, kOps, kApi, kTls };

// A plain connection's socket, from the descriptor accept returned and the peer it named. It
// answers its two addresses from memory and hands the kernel a receive timeout only when it
// differs from the last one it handed over (Poco asks for the addresses and sets the timeout
// on every request).
Poco::Net::StreamSocket acceptedSocket(int fd, const Poco::Net::SocketAddress& peer);

// The lane a request line ("METHOD target HTTP/x.y") belongs to.
LaneId laneOf(std::string_view requestLine);
// Whether `bytes` hold a whole request head: an empty line, after CRLF or (leniently) LF lines.
bool headComplete(std::string_view bytes);
// A worker's short wait after an answer: true when a whole next head arrives on the plain
// connection within `wait` (its lane in `lane`), so the worker may read it at once instead of
// handing the connection back to the listener. `buffer` bounds what is peeked at.
bool nextHeadArrives(const Poco::Net::StreamSocket& socket, std::chrono::milliseconds wait, std::vector<char>& buffer,
                     LaneId& lane);

class Listener {
 public:
  // Hands a connection whose head has arrived to a lane; false when that lane is full (the
  // connection is then still the caller's).
  using Dispatch = std::function<bool(Connection&&, LaneId)>;

  Listener(const Poco::Net::ServerSocket& socket, ListenerConfig config, Metrics& metrics, Dispatch dispatch);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  // Closes the listening socket and every waiting connection; the thread goes on expiring the
  // workers' reads until stop().
  void stopAccepting();
  void stop();

  // A worker is done with a request and the connection stays open: wait for the next one here.
  void park(Connection&& connection);

  Watchdog& watchdog() { return watchdog_; }
  int openConnections() const { return addresses_->open(); }
  int waitingConnections() const { return waitingCount_.load(); }

 private:
  enum class State { kHead, kIdle, kClosing };
  struct Waiting {
    Connection connection;
    State state = State::kHead;
    Clock::time_point deadline;
    bool sawBytes = false;
  };

  void run();
  void acceptSome();
  void adoptParked();
  void examine(int fd);
  void expireWaiting(Clock::time_point now);
  void watch(Connection&& connection, State state, Clock::time_point deadline);
  void forget(int fd);
  // Answers a plain connection with a JSON error (errorResponse: its status line from the error
  // table) and lets it linger until the client has read it.
  void refuse(int fd, const Status& status);
  void closeAll();

  Poco::Net::ServerSocket socket_;
  const ListenerConfig config_;
  Metrics& metrics_;
  const Dispatch dispatch_;
  std::shared_ptr<AddressTable> addresses_ = std::make_shared<AddressTable>();
  Watchdog watchdog_;

  int epoll_ = -1;
  int wake_ = -1;  // eventfd: parked connections, stop
  std::thread thread_;
  std::atomic<bool> stopAccepting_{false};
  std::atomic<bool> stop_{false};
  bool listening_ = true;                  // the listening socket is still open (thread only)
  Clock::time_point acceptPausedUntil_{};  // out of descriptors: try again a little later

  std::mutex parkedMutex_;
  std::vector<Connection> parked_;

  std::unordered_map<int, Waiting> waiting_;  // thread only
  std::atomic<int> waitingCount_{0};
  std::vector<char> peek_;
};

}  // namespace bcauth::http
