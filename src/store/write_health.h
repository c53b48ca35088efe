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
  // Runs one write transaction, recording whether the store took it; rethrows what it throws.
  void track(const std::function<void()>& write) {
    try {
      write();
    } catch (const UnavailableError&) {
      failing_.store(true);
      throw;
    }
    failing_.store(false);
  }

  // True unless the last write failed with UnavailableError; then runs probe (a small write
  // that throws when the store still cannot take it) at most once per kProbeInterval.
  bool writable(const std::function<void()>& probe) {
    if (!failing_.load()) return true;
    std::lock_guard lock(probeMutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - lastProbe_ < kProbeInterval) return !failing_.load();
    lastProbe_ = now;
    try {
      probe();  // a transaction: track() has recorded its outcome
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
