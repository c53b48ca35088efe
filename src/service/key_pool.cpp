#include "service/key_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <optional>

namespace bcauth::service {

namespace {
// Refill threads wait for this long a gap after the last take() before generating a key: a
// burst of creates spends the pool, and the pool is refilled in the gaps between requests,
// not on the CPUs the burst is using (refilling during a burst tripled create p99 on 2 cores,
// idle priority notwithstanding).
constexpr std::chrono::microseconds kQuietBeforeRefill{1000};

std::int64_t steadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// SCHED_IDLE needs no privilege; if the platform refuses, the thread simply keeps its priority.
void lowerToIdlePriority() {
#ifdef SCHED_IDLE
  sched_param param{};
  param.sched_priority = 0;
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
#endif
}
}  // namespace

KeyPool::KeyPool(KeyPoolConfig config)
    : config_(config), threshold_(config.refillBelow == 0 ? config.capacity : config.refillBelow) {
  if (config_.capacity == 0) return;
  const int threads = std::max(1, config_.refillThreads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { refillLoop(); });
}

KeyPool::~KeyPool() {
  stopping_ = true;
  wakeRefill();
  for (auto& thread : threads_) thread.join();
  drainMade();  // the threads are gone: no lock needed; ready_ frees the keys
}

Result<crypto::PrivateKey> KeyPool::take() {
  std::optional<crypto::PrivateKey> key;
  {
    std::lock_guard lock(mutex_);
    if (ready_.empty()) drainMade();
    if (!ready_.empty()) {
      key.emplace(std::move(ready_.front()));
      ready_.pop_front();
    }
  }
  lastTakeMicros_ = steadyMicros();
  if (key) {
    ++taken_;
    --claimed_;
    if (--readyCount_ < threshold_) wakeRefill();
    return std::move(*key);
  }
  ++generatedInline_;
  if (config_.capacity > 0) wakeRefill();
  return crypto::PrivateKey::generate();
}

KeyPool::Stats KeyPool::stats() const {
  return Stats{readyCount_.load(), config_.capacity, taken_.load(), generatedInline_.load(), generated_.load(),
               refillWakeups_.load()};
}

bool KeyPool::waitFull(std::int64_t timeoutMillis) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMillis);
  while (readyCount_.load() < config_.capacity) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void KeyPool::wakeRefill() {
  ++refillWakeups_;
  wake_.fetch_add(1);
  wake_.notify_all();
}

void KeyPool::push(Made* made) {
  made->next = made_.load(std::memory_order_relaxed);
  while (!made_.compare_exchange_weak(made->next, made, std::memory_order_release, std::memory_order_relaxed)) {
  }
}

// Moves what the refill threads made into ready_ (the stack comes out newest first; the order
// of keys does not matter).
void KeyPool::drainMade() {
  for (Made* made = made_.exchange(nullptr, std::memory_order_acquire); made != nullptr;) {
    ready_.push_back(std::move(made->key));
    Made* next = made->next;
    delete made;
    made = next;
  }
}

// Fills the pool to capacity, then sleeps until fewer than threshold_ keys are ready. Each key
// is claimed before it is generated, so several threads never overshoot the capacity.
void KeyPool::refillLoop() {
  if (config_.idlePriority) lowerToIdlePriority();
  bool filling = true;  // the first fill
  while (true) {
    // wake_ is read before anything it guards: a bump after this read makes wait() return.
    const std::uint32_t seen = wake_.load();
    if (stopping_) return;
    std::size_t claimed = claimed_.load();
    if (claimed >= config_.capacity) filling = false;
    else if (!filling && readyCount_.load() < threshold_) filling = true;
    if (!filling) {
      wake_.wait(seen);  // returns at once if take() or the destructor bumped wake_ meanwhile
      continue;
    }
    const std::int64_t quietFor = steadyMicros() - lastTakeMicros_.load();
    if (quietFor < kQuietBeforeRefill.count()) {
      std::this_thread::sleep_for(std::chrono::microseconds(kQuietBeforeRefill.count() - quietFor));
      continue;
    }
    if (!claimed_.compare_exchange_weak(claimed, claimed + 1)) continue;
    // Claiming the last free slot ends this fill: keys taken while it runs do not extend it
    // (only falling below the threshold starts another), so the pool refills in whole batches.
    if (claimed + 1 >= config_.capacity) filling = false;
    auto key = crypto::PrivateKey::generate();
    if (!key) {
      // Generation only fails when OpenSSL cannot allocate: back off instead of spinning.
      --claimed_;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    ++generated_;   // before readyCount_: whoever sees the pool full sees the key counted
    ++readyCount_;  // before the key can be taken, so take() never counts below zero
    push(new Made{std::move(*key), nullptr});
  }
}

}  // namespace bcauth::service
