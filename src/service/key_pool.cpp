#include "service/key_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>

namespace bcauth::service {

namespace {
// SCHED_IDLE needs no privilege; if the platform refuses, the thread simply keeps its priority.
void lowerToIdlePriority() {
#ifdef SCHED_IDLE
  sched_param param{};
  param.sched_priority = 0;
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
#endif
}
}  // namespace

KeyPool::KeyPool(KeyPoolConfig config) : config_(config) {
  if (config_.capacity == 0) return;
  const int threads = std::max(1, config_.refillThreads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { refillLoop(); });
}

KeyPool::~KeyPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& thread : threads_) thread.join();
}

Result<crypto::PrivateKey> KeyPool::take() {
  {
    std::lock_guard lock(mutex_);
    if (!ready_.empty()) {
      crypto::PrivateKey key = std::move(ready_.front());
      ready_.pop_front();
      ++taken_;
      const std::size_t threshold = config_.refillBelow == 0 ? config_.capacity : config_.refillBelow;
      if (!refilling_ && ready_.size() < threshold) {
        refilling_ = true;
        changed_.notify_all();
      }
      return key;
    }
    ++generatedInline_;
    if (config_.capacity > 0 && !refilling_) {
      refilling_ = true;
      changed_.notify_all();
    }
  }
  return crypto::PrivateKey::generate();
}

KeyPool::Stats KeyPool::stats() const {
  std::lock_guard lock(mutex_);
  return Stats{ready_.size(), config_.capacity, taken_, generatedInline_, generated_};
}

bool KeyPool::waitFull(std::int64_t timeoutMillis) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeoutMillis),
                           [this] { return ready_.size() >= config_.capacity; });
}

// Fills the pool to capacity, then sleeps until take() brings it under the threshold. Each
// thread claims one slot before generating, so several threads never overshoot the capacity.
void KeyPool::refillLoop() {
  if (config_.idlePriority) lowerToIdlePriority();
  std::unique_lock lock(mutex_);
  refilling_ = true;  // the first fill
  while (!stopping_) {
    if (!refilling_ || ready_.size() + inProgress_ >= config_.capacity) {
      if (ready_.size() >= config_.capacity) refilling_ = false;
      changed_.wait(lock, [this] { return stopping_ || (refilling_ && ready_.size() + inProgress_ < config_.capacity); });
      continue;
    }
    ++inProgress_;
    lock.unlock();
    auto key = crypto::PrivateKey::generate();
    lock.lock();
    --inProgress_;
    if (key) {
      ready_.push_back(std::move(*key));
      ++generated_;
    }
    if (ready_.size() >= config_.capacity) refilling_ = false;
    changed_.notify_all();
    if (!key) {
      // Generation only fails when OpenSSL cannot allocate: back off instead of spinning.
      changed_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    }
  }
}

}  // namespace bcauth::service
