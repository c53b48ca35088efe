// One named background loop: calls its work every tick on a thread of its own until stopped.
// Runtime runs one lane per kind of outbound work (Apple deliveries, profile fetches, webhooks,
// the expiry sweep), so a slow endpoint holds only its own lane.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

namespace bcauth::app {

class BackgroundLane {
 public:
  // work gets a stop token to check between outbound calls; it returns how many items it handled
  // (logged at debug level). An exception is logged and the lane goes on at the next tick.
  using Work = std::function<int(std::stop_token)>;

  BackgroundLane(std::string name, std::chrono::milliseconds tick, Work work);
  ~BackgroundLane();  // stops and joins
  BackgroundLane(const BackgroundLane&) = delete;
  BackgroundLane& operator=(const BackgroundLane&) = delete;

  void start();
  // Asks the lane to stop without waiting: a call in flight finishes (within its own timeout),
  // nothing new starts. Runtime asks every lane first, then joins them, so the waits overlap.
  void requestStop();
  void join();

  const std::string& name() const { return name_; }
  // Rounds completed so far (one that threw counts too). Two more than seen at some moment mean
  // a whole round began after it: what the lane would do with the state of that moment is done.
  std::uint64_t rounds() const { return rounds_.load(); }

 private:
  void run(std::stop_token stop);

  std::string name_;
  std::chrono::milliseconds tick_;
  Work work_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::atomic<std::uint64_t> rounds_{0};
  std::jthread thread_;
};

}  // namespace bcauth::app
