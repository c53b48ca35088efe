// A lane: a fixed set of worker threads with a bounded queue of connections whose request head
// has arrived. The server runs one lane for Apple's POST /message and one for everything else,
// so traffic on the CSP API can never take the threads Apple's intake needs (and TLS connections,
// whose head cannot be seen before the handshake, get a lane of their own to be read in).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/connection.h"

namespace bcauth::http {

class Lane {
 public:
  using Work = std::function<void(Connection&&)>;

  Lane(std::string name, int threads, std::size_t maxQueued, Work work);
  ~Lane();
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Queues a connection for a worker; false (the connection untouched) when the queue is full or
  // the lane is stopping.
  bool offer(Connection&& connection);
  // No more connections; queued ones are dropped (closed), running ones finish.
  void close();
  // Waits until every worker is idle or the deadline passes; true if idle.
  bool waitIdle(std::chrono::steady_clock::time_point deadline);
  // Joins the workers (after close()).
  void join();

  int threads() const { return static_cast<int>(workers_.size()); }
  int busy() const;
  std::size_t queued() const;

 private:
  void run();

  const std::string name_;
  const std::size_t maxQueued_;
  const Work work_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Connection> queue_;
  int busy_ = 0;
  bool closed_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace bcauth::http
