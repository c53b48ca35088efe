// Wakes the readers of the event feed (long-polls, streams) when events may have been committed,
// here or — through Store::watchEvents — in another instance. It holds no events: a waiting
// reader re-reads the store on every wake, every recheck interval (the safety net should a
// notification be lost) and once more at its deadline.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "store/store.h"

namespace bcauth::service {

class EventFeed {
 public:
  explicit EventFeed(std::int64_t recheckMillis) : recheckMillis_(recheckMillis) {}

  void notify();    // events may have been committed
  void shutdown();  // every wait answers now, and later ones at once
  bool stopping();

  // read() until it finds something, the wait is over or the feed shuts down; read runs
  // without the feed's lock held.
  using Read = std::function<std::vector<store::Event>()>;
  std::vector<store::Event> wait(const Read& read, std::int64_t waitMillis);

 private:
  std::int64_t recheckMillis_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t version_ = 0;
  bool shuttingDown_ = false;
};

}  // namespace bcauth::service
