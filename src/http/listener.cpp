#include "http/listener.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <string_view>

#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocketImpl.h>

#include "http/errors.h"

namespace bcauth::http {
namespace {

using namespace std::chrono_literals;

constexpr auto kTick = 100ms;           // deadlines are checked at least this often
constexpr auto kLinger = 1000ms;        // a refused connection's last chance to read its answer
constexpr int kAcceptBatch = 64;        // accepts per wake, so a flood cannot starve the rest
constexpr std::uint64_t kWakeToken = 1;
constexpr int kWakeId = -1;             // epoll data of the eventfd
constexpr int kListenId = -2;           // epoll data of the listening socket

int fdOf(const Poco::Net::Socket& socket) { return static_cast<int>(socket.impl()->sockfd()); }

// A plain accepted socket that answers from memory what it already told the kernel or heard
// from it. Poco's request asks the socket for both addresses on every request it reads
// (getpeername and getsockname), and every request's session sets the same receive timeout
// again (setsockopt): three system calls per request. A connection's addresses never change, so
// they are read once, at accept; a timeout is handed to the kernel only when it differs from the
// one the kernel has. A connection is served by one thread at a time (the listener and the lanes
// hand it over through their queues), so the remembered timeout needs no lock.
class AcceptedSocketImpl final : public Poco::Net::StreamSocketImpl {
 public:
  AcceptedSocketImpl(poco_socket_t fd, const Poco::Net::SocketAddress& peer)
      : StreamSocketImpl(fd), peer_(peer), local_(StreamSocketImpl::address()) {}
  Poco::Net::SocketAddress address() override { return local_; }
  Poco::Net::SocketAddress peerAddress() override { return peer_; }
  void setReceiveTimeout(const Poco::Timespan& timeout) override {
    if (receiveTimeout_ == timeout) return;
    StreamSocketImpl::setReceiveTimeout(timeout);
    receiveTimeout_ = timeout;
  }

 private:
  const Poco::Net::SocketAddress peer_;
  const Poco::Net::SocketAddress local_;
  std::optional<Poco::Timespan> receiveTimeout_;  // what the kernel has, once set here
};

// The next connection, or an empty socket with accept's errno in `error`. A TLS listener
// accepts through Poco (its socket wraps the connection for the handshake); a plain one with
// accept4 itself.
Poco::Net::StreamSocket acceptOne(Poco::Net::ServerSocket& listening, Poco::Net::SocketAddress& peer, int& error) {
  error = 0;
  if (listening.secure()) {
    try {
      return listening.acceptConnection(peer);
    } catch (const Poco::Exception& e) {
      error = e.code() != 0 ? e.code() : EIO;
      return {};
    }
  }
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  const int fd = ::accept4(fdOf(listening), reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC);
  if (fd < 0) {
    error = errno;
    return {};
  }
  try {
    peer = Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&address), length);
    return acceptedSocket(fd, peer);
  } catch (const Poco::Exception&) {
    ::close(fd);  // not an address family served here
    error = ECONNABORTED;
    return {};
  }
}

}  // namespace

Poco::Net::StreamSocket acceptedSocket(int fd, const Poco::Net::SocketAddress& peer) {
  return Poco::Net::StreamSocket(new AcceptedSocketImpl(fd, peer));
}

bool headComplete(std::string_view bytes) {
  for (std::size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1)) {
    if (i + 1 < bytes.size() && bytes[i + 1] == '\n') return true;
    if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') return true;
  }
  return false;
}

bool nextHeadArrives(const Poco::Net::StreamSocket& socket, std::chrono::milliseconds wait, std::vector<char>& buffer,
                     LaneId& lane) {
  const int fd = static_cast<int>(socket.impl()->sockfd());
  pollfd readable{fd, POLLIN, 0};
  if (::poll(&readable, 1, static_cast<int>(wait.count())) <= 0) return false;
  const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return false;
  const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
  if (!headComplete(bytes)) return false;
  lane = laneOf(bytes);
  return true;
}

// Apple's intake is told apart by its request line alone: POST /message (with or without a
// query); the operations endpoints likewise, so health checks answer while the API is busy.
LaneId laneOf(std::string_view head) {
  const auto space = head.find(' ');
  if (space == std::string_view::npos) return LaneId::kApi;
  const std::string_view method = head.substr(0, space);
  std::string_view target = head.substr(space + 1);
  target = target.substr(0, std::min(target.find(' '), target.find('?')));
  if (method == "POST" && target == "/message") return LaneId::kApple;
  if ((method == "GET" || method == "HEAD") && (target == "/healthz" || target == "/readyz" || target == "/metrics")) {
    return LaneId::kOps;
  }
  return LaneId::kApi;
}

Listener::Listener(const Poco::Net::ServerSocket& socket, ListenerConfig config, Metrics& metrics, Dispatch dispatch)
    : socket_(socket),
      config_(config),
      metrics_(metrics),
      dispatch_(std::move(dispatch)),
      peek_(config.maxHeaderBytes + 1) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ < 0 || wake_ < 0) throw Poco::Net::NetException("cannot create the listener's event queue");
  socket_.setBlocking(false);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = kWakeId;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event);
  event.data.fd = kListenId;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fdOf(socket_), &event);
}

Listener::~Listener() {
  stop();
  ::close(epoll_);
  ::close(wake_);
}

void Listener::start() { thread_ = std::thread([this] { run(); }); }

void Listener::stopAccepting() {
  stopAccepting_ = true;
  ::eventfd_write(wake_, kWakeToken);
}

void Listener::stop() {
  stopAccepting();
  stop_ = true;
  ::eventfd_write(wake_, kWakeToken);
  if (thread_.joinable()) thread_.join();
  closeAll();
}

void Listener::park(Connection&& connection) {
  {
    std::lock_guard lock(parkedMutex_);
    if (stopAccepting_) return;  // dropped: closed
    parked_.push_back(std::move(connection));
  }
  ::eventfd_write(wake_, kWakeToken);
}

void Listener::run() {
  std::vector<epoll_event> events(256);
  auto nextExpiry = Clock::now() + kTick;
  while (!stop_) {
    // Rounded up, so the loop sleeps until the deadline instead of spinning through its last
    // millisecond.
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(nextExpiry - Clock::now());
    const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(std::max<std::int64_t>(0, wait.count())));
    for (int i = 0; i < n; ++i) {
      const int id = events[static_cast<std::size_t>(i)].data.fd;
      if (id == kWakeId) {
        eventfd_t ignored;
        ::eventfd_read(wake_, &ignored);
      } else if (id == kListenId) {
        acceptSome();
      } else {
        examine(id);
      }
    }
    if (stopAccepting_ && listening_) {
      ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fdOf(socket_), nullptr);
      socket_.close();
      listening_ = false;
      closeAll();
    }
    adoptParked();
    const auto now = Clock::now();
    if (listening_ && acceptPausedUntil_ != Clock::time_point{} && now >= acceptPausedUntil_) {
      acceptPausedUntil_ = {};
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.fd = kListenId;
      ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fdOf(socket_), &event);
    }
    if (now >= nextExpiry) {
      expireWaiting(now);
      const int expired = watchdog_.expire(now);
      for (int i = 0; i < expired; ++i) metrics_.countConnectionTimedOut("request");
      nextExpiry = now + kTick;
    }
  }
}

void Listener::acceptSome() {
  for (int i = 0; i < kAcceptBatch && listening_; ++i) {
    Poco::Net::SocketAddress peer;
    int error = 0;
    Poco::Net::StreamSocket accepted = acceptOne(socket_, peer, error);
    if (error != 0) {
      // Only accept's errno tells "nothing more to accept" from "out of descriptors": polling
      // the socket afterwards (as this once did) raced with the next client's arrival and
      // paused accepting for a tick with nothing wrong, which stalled a burst of new
      // connections for 100–200 ms.
      if (error == ECONNABORTED || error == EINTR) continue;  // that client left; the next
      if (error == EAGAIN || error == EWOULDBLOCK) return;     // nothing more to accept
      // Out of descriptors (or memory): the socket stays readable, so stop listening to it for
      // a moment instead of spinning.
      acceptPausedUntil_ = Clock::now() + kTick;
      epoll_event event{};
      event.data.fd = kListenId;
      ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fdOf(socket_), &event);
      metrics_.countConnectionRefused("descriptors");
      return;
    }
    // An answer is written as it is formed (head, then body): without TCP_NODELAY the body would
    // wait for the client's delayed ACK of the head (Poco's own TCPServer sets it too).
    try {
      accepted.setNoDelay(true);
    } catch (const Poco::Exception&) {
    }
    AddressTable::Refusal refusal;
    auto slot = addresses_->admit(peer.host().toString(), config_.maxConnectionsPerAddress, config_.maxConnections,
                                  refusal);
    const int fd = fdOf(accepted);
    Connection connection(accepted, slot);
    watch(std::move(connection), State::kHead, Clock::now() + config_.headerTimeout);
    if (refusal == AddressTable::Refusal::kPerAddress) {
      metrics_.countConnectionRefused("per_address");
      refuse(fd, Status::refusal(StatusCode::kTooManyConnections,
                                 "too many open connections from your address; close some and retry"));
    } else if (refusal == AddressTable::Refusal::kTotal) {
      metrics_.countConnectionRefused("capacity");
      refuse(fd, Status::refusal(StatusCode::kServerBusy, "the server has too many open connections; retry"));
    }
  }
}

void Listener::adoptParked() {
  std::vector<Connection> parked;
  {
    std::lock_guard lock(parkedMutex_);
    parked.swap(parked_);
  }
  for (auto& connection : parked) {
    if (!listening_) continue;  // stopping: dropped, and so closed
    watch(std::move(connection), State::kIdle, Clock::now() + config_.idleTimeout);
  }
}

void Listener::watch(Connection&& connection, State state, Clock::time_point deadline) {
  const int fd = fdOf(connection.socket);
  epoll_event event{};
  // Edge-triggered: a head that is still incomplete wakes the thread again only when more bytes
  // arrive, not on every turn of the loop.
  event.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  event.data.fd = fd;
  Waiting waiting{std::move(connection), state, deadline, false};
  waiting_.insert_or_assign(fd, std::move(waiting));
  waitingCount_ = static_cast<int>(waiting_.size());
  // Bytes that arrived before this (a parked connection's next request) are reported at once.
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
}

void Listener::forget(int fd) {
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  waiting_.erase(fd);  // the last copy of a refused or expired connection: closed here
  waitingCount_ = static_cast<int>(waiting_.size());
}

void Listener::examine(int fd) {
  auto it = waiting_.find(fd);
  if (it == waiting_.end()) return;
  Waiting& waiting = it->second;
  const ssize_t n = ::recv(fd, peek_.data(), peek_.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return forget(fd);
  if (n < 0) return;
  if (waiting.state == State::kClosing) {
    // Drain what the refused client still sends, so closing does not reset its answer away.
    while (::recv(fd, peek_.data(), peek_.size(), MSG_DONTWAIT) > 0) {
    }
    return;
  }
  if (waiting.state == State::kIdle && !waiting.sawBytes) {
    // The next request has begun: from its first byte it has the head deadline.
    waiting.deadline = Clock::now() + config_.headerTimeout;
  }
  waiting.sawBytes = true;
  const std::string_view bytes(peek_.data(), static_cast<std::size_t>(n));
  LaneId lane = LaneId::kTls;
  if (!waiting.connection.secure()) {
    if (!headComplete(bytes)) {
      if (bytes.size() <= config_.maxHeaderBytes) return;  // wait for more
      const bool lineTooLong = bytes.find('\n') == std::string_view::npos;
      metrics_.countConnectionRefused(lineTooLong ? "uri_too_long" : "headers_too_large");
      return refuse(fd, lineTooLong ? Status::refusal(StatusCode::kUriTooLong, "the request line is too long")
                                    : Status::refusal(StatusCode::kHeadersTooLarge,
                                                      "the request head is larger than the server accepts"));
    }
    lane = laneOf(bytes);
  }
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  if (dispatch_(std::move(waiting.connection), lane)) {
    waiting_.erase(it);
    waitingCount_ = static_cast<int>(waiting_.size());
    return;
  }
  metrics_.countConnectionRefused("queue_full");
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  event.data.fd = fd;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
  refuse(fd, Status::refusal(StatusCode::kServerBusy, "every worker is busy; retry"));
}

void Listener::refuse(int fd, const Status& status) {
  auto it = waiting_.find(fd);
  if (it == waiting_.end()) return;
  if (!it->second.connection.secure()) {
    const std::string answer = errorResponse(status);
    (void)!::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  ::shutdown(fd, SHUT_WR);
  it->second.state = State::kClosing;
  it->second.deadline = Clock::now() + kLinger;
  examine(fd);  // drains what is already there
}

void Listener::expireWaiting(Clock::time_point now) {
  std::vector<int> expired;
  for (auto& [fd, waiting] : waiting_) {
    if (waiting.deadline <= now) expired.push_back(fd);
  }
  for (const int fd : expired) {
    Waiting& waiting = waiting_.at(fd);
    if (waiting.state == State::kClosing) {
      forget(fd);
    } else if (waiting.state == State::kIdle && !waiting.sawBytes) {
      metrics_.countConnectionTimedOut("idle");
      forget(fd);
    } else if (!waiting.sawBytes) {
      metrics_.countConnectionTimedOut("header");  // connected and never said a word
      forget(fd);
    } else {
      metrics_.countConnectionTimedOut("header");
      refuse(fd, Status::refusal(StatusCode::kRequestTimeout, "the request head did not arrive in time"));
    }
  }
}

void Listener::closeAll() {
  for (auto& [fd, waiting] : waiting_) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  waiting_.clear();
  waitingCount_ = 0;
  std::lock_guard lock(parkedMutex_);
  parked_.clear();
}

}  // namespace bcauth::http
