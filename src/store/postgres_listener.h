// Waits for PostgreSQL notifications on one channel, on a connection and a thread of its own
// (libpq directly: Poco's sessions cannot wait for a notification), so that every process
// sharing the database hears of the events any of them commits.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace bcauth::store {

class PostgresListener {
 public:
  // Connects in the background and calls onNotify after each notification on channel, and once
  // after each (re)connection (what was committed while nobody listened is new too). A lost
  // connection is reopened, waiting 100 ms, then doubling up to 5 s, between tries.
  PostgresListener(std::string connectionString, std::string channel, std::function<void()> onNotify);
  ~PostgresListener();  // stops the thread and closes the connection
  PostgresListener(const PostgresListener&) = delete;
  PostgresListener& operator=(const PostgresListener&) = delete;

 private:
  void run();
  // One connection's life: returns when it fails or stop is asked.
  void listenOnce();
  // Waits until fd is readable (or the stop pipe is), at most timeoutMs (-1: no limit); false on stop.
  bool waitReadable(int fd, int timeoutMs);

  const std::string connectionString_;
  const std::string channel_;
  const std::function<void()> onNotify_;
  int stopPipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace bcauth::store
