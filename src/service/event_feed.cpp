#include "service/event_feed.h"

#include <algorithm>
#include <chrono>

namespace bcauth::service {

void EventFeed::notify() {
  {
    std::lock_guard lock(mutex_);
    ++version_;
  }
  changed_.notify_all();
}

void EventFeed::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shuttingDown_ = true;
    ++version_;
  }
  changed_.notify_all();
}

bool EventFeed::stopping() {
  std::lock_guard lock(mutex_);
  return shuttingDown_;
}

std::vector<store::Event> EventFeed::wait(const Read& read, std::int64_t waitMillis) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max<std::int64_t>(waitMillis, 0));
  const auto recheck = std::chrono::milliseconds(std::max<std::int64_t>(recheckMillis_, 1));
  std::vector<store::Event> found;
  std::unique_lock lock(mutex_);
  // Every pass reads the store — the first, each wake (a commit here or in another instance),
  // each recheck, and the last one at the deadline — so an answer is never empty while an
  // event committed before it was waiting in the store.
  for (;;) {
    const auto seen = version_;  // taken before the read: a commit after it wakes the wait
    lock.unlock();
    found = read();
    lock.lock();
    if (!found.empty() || shuttingDown_ || Clock::now() >= deadline) break;
    changed_.wait_until(lock, std::min(deadline, Clock::now() + recheck), [&] { return version_ != seen; });
  }
  return found;
}

}  // namespace bcauth::service
