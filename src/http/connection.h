// One client connection as it moves between the listener (waiting for a request head, or idle
// between requests) and the workers (reading and answering a request), and the watchdog that
// bounds how long a worker may wait on a client.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <Poco/Net/StreamSocket.h>

namespace bcauth::http {

using Clock = std::chrono::steady_clock;

// Open connections per client address, shared by the listener (which admits) and every holder of
// a connection: the connection's slot goes back when its last copy is dropped, on whichever thread.
class AddressTable : public std::enable_shared_from_this<AddressTable> {
 public:
  enum class Refusal { kNone, kPerAddress, kTotal };
  // A slot for `address`, or null (with the reason) when the address or the server is at its cap;
  // a cap of 0 is no cap.
  std::shared_ptr<void> admit(const std::string& address, int perAddressCap, int totalCap, Refusal& refusal);
  int open() const;

 private:
  void release(const std::string& address);
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int> perAddress_;
  int open_ = 0;
};

struct RequestHead;  // http/exchange.h

// Owned by one thread at a time: moving it really moves the socket (Poco's sockets copy, sharing
// the descriptor), so the thread that lets go never closes a descriptor another thread now uses.
struct Connection {
  Connection(Poco::Net::StreamSocket s, std::shared_ptr<void> admission)
      : socket(std::move(s)), slot(std::move(admission)) {}
  Connection(Connection&& other) : socket(other.socket), slot(std::move(other.slot)), head(std::move(other.head)) {
    other.socket = Poco::Net::StreamSocket();
  }
  Connection& operator=(Connection&& other) {
    socket = other.socket;
    other.socket = Poco::Net::StreamSocket();
    slot = std::move(other.slot);
    head = std::move(other.head);
    return *this;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // TLS: its head cannot be seen before the handshake.
  bool secure() const { return socket.secure(); }

  Poco::Net::StreamSocket socket;
  std::shared_ptr<void> slot;  // the client address's admission; released with the last copy
  std::shared_ptr<RequestHead> head;  // read already (TLS: by the TLS lane), to be answered
};

// Deadlines on a worker's reads. A worker that reads a request registers the read; the listener
// thread shuts down the socket of any read past its deadline, so a client sending one byte a
// second (or a TLS handshake dribbled out) cannot hold a worker beyond that deadline however the
// bytes are spaced. The socket is only touched while its worker is inside the read, so it is
// still open.
class Watchdog {
 public:
  class Guard {
   public:
    Guard(Watchdog& watchdog, int fd, Clock::time_point deadline);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Watchdog* watchdog_ = nullptr;
    std::list<std::pair<int, Clock::time_point>>::iterator entry_;
  };
  // Shuts down the sockets of reads past their deadline; returns how many.
  int expire(Clock::time_point now);

 private:
  std::mutex mutex_;
  std::list<std::pair<int, Clock::time_point>> reads_;
};

}  // namespace bcauth::http
