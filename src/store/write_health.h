// Whether a store's writes go through, shared by both stores: set by every transaction's
// outcome, and probed again while writes fail so that /readyz recovers when space returns.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>

#include "store/store.h"

namespace bcauth::store {

class WriteHealth {
 public:
  void succeeded() { failing_.store(false); }
  void failed() { failing_.store(true); }

  // True unless the last write failed with UnavailableError; then runs probe (a small write
  // that throws when the store still cannot take it) at most once per kProbeInterval.
  bool writable(const std::function<void()>& probe) {
    if (!failing_.load()) return true;
    std::lock_guard lock(probeMutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - lastProbe_ < kProbeInterval) return !failing_.load();
    lastProbe_ = now;
    try {
      probe();
      succeeded();
    } catch (const std::exception&) {
      // Still failing (UnavailableError) or failing otherwise: not writable either way.
    }
    return !failing_.load();
  }

 private:
  // /readyz is unauthenticated: a flood of it must not become a flood of writes.
  static constexpr std::chrono::seconds kProbeInterval{1};

  std::atomic<bool> failing_{false};
  std::mutex probeMutex_;
  std::chrono::steady_clock::time_point lastProbe_{};
};

}  // namespace bcauth::store
