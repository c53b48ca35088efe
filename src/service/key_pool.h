// Request keys made ahead of time. A legacy authenticate request needs a fresh P-384 key, and
// generating one is a scalar multiplication (~1 ms here) — most of what creating a request
// costs. The pool keeps up to `capacity` keys ready, refilled by background threads running
// at idle priority in the gaps between requests (they use the CPU the server does not, and
// wait for a quiet millisecond after the last key taken), so request creation takes a key in
// microseconds; when the pool is dry, take() generates one on the spot — creation never fails
// or waits for the refill.
//
// Pooled keys live only in memory. They are not persisted: a key written to disk before it
// belongs to a request would be a private key outliving any request, and regenerating the pool
// on start costs capacity × 1 ms of idle time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "bcauth/crypto.h"
#include "bcauth/status.h"

namespace bcauth::service {

struct KeyPoolConfig {
  std::size_t capacity = 0;     // 0: no pool, every key is generated when a request needs it
  std::size_t refillBelow = 0;  // refilling starts when fewer keys are ready; 0 means capacity
  int refillThreads = 1;
  bool idlePriority = true;     // refill threads run as SCHED_IDLE (Linux), never ahead of requests
};

class KeyPool {
 public:
  explicit KeyPool(KeyPoolConfig config);
  ~KeyPool();  // stops and joins the refill threads; pooled keys are freed (OpenSSL clears them)
  KeyPool(const KeyPool&) = delete;
  KeyPool& operator=(const KeyPool&) = delete;

  // A key nobody else has been given: from the pool when one is ready, else generated now.
  Result<crypto::PrivateKey> take();

  struct Stats {
    std::size_t ready = 0;
    std::size_t capacity = 0;
    std::uint64_t taken = 0;      // keys handed out from the pool
    std::uint64_t generatedInline = 0;  // take() found the pool dry
    std::uint64_t generated = 0;  // keys the refill threads made
    std::uint64_t refillWakeups = 0;  // times take() woke the refill threads (below the threshold, or dry)
  };
  Stats stats() const;

  // Blocks until the pool is full (or timeoutMillis passes); true when full. For start-up
  // checks, benchmarks and tests.
  bool waitFull(std::int64_t timeoutMillis) const;

 private:
  // A key a refill thread made, on its way into ready_.
  struct Made {
    crypto::PrivateKey key;
    Made* next;
  };

  void refillLoop();
  void push(Made* made);
  void drainMade();  // under mutex_ (or once the refill threads are joined)
  void wakeRefill();

  const KeyPoolConfig config_;
  const std::size_t threshold_;  // refilling starts when fewer keys than this are ready

  // Request threads take keys under mutex_. Refill threads run at idle priority and never take
  // it: an idle thread preempted while holding a lock the request threads need would make them
  // wait until the CPUs go idle (a priority inversion). They hand keys over through a lock-free
  // stack (made_) and sleep on an atomic (wake_). What kept create p99 low under a burst was
  // the quiet gap before each refill (key_pool.cpp), not this alone.
  mutable std::mutex mutex_;
  std::deque<crypto::PrivateKey> ready_;  // under mutex_
  std::atomic<Made*> made_{nullptr};
  std::atomic<std::size_t> readyCount_{0};  // ready_ + made_
  std::atomic<std::size_t> claimed_{0};     // readyCount_ + keys being generated
  std::atomic<std::uint32_t> wake_{0};
  std::atomic<std::int64_t> lastTakeMicros_{0};  // steady clock
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> taken_{0}, generatedInline_{0}, generated_{0}, refillWakeups_{0};
  std::vector<std::thread> threads_;
};

}  // namespace bcauth::service
