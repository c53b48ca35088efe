#include "app/background_lane.h"

#include <exception>

#include <Poco/Logger.h>

namespace bcauth::app {

BackgroundLane::BackgroundLane(std::string name, std::chrono::milliseconds tick, Work work)
    : name_(std::move(name)), tick_(tick), work_(std::move(work)) {}

BackgroundLane::~BackgroundLane() {
  requestStop();
  join();
}

void BackgroundLane::start() {
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void BackgroundLane::requestStop() {
  if (thread_.joinable()) thread_.request_stop();  // wakes the tick's wait (condition_variable_any)
}

void BackgroundLane::join() {
  if (thread_.joinable()) thread_.join();
}

// The tick is a pause between rounds, not a period: a round that took long is not followed by
// a burst of catch-up rounds.
void BackgroundLane::run(std::stop_token stop) {
  auto& log = Poco::Logger::get("bcauth.worker." + name_);
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    wake_.wait_for(lock, stop, tick_, [] { return false; });
    if (stop.stop_requested()) break;
    lock.unlock();
    try {
      const int handled = work_(stop);
      if (handled > 0 && log.debug()) log.debug(std::to_string(handled) + " handled");
    } catch (const std::exception& e) {
      log.error(std::string("background work failed: ") + e.what());
    } catch (...) {
      log.error("background work failed with an unknown exception");
    }
    ++rounds_;
    lock.lock();
  }
}

}  // namespace bcauth::app
