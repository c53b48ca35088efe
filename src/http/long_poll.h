// Long-polls and event streams each hold a worker thread; at most a quarter of the threads may,
// so Apple's intake always finds one.
#pragma once

#include <atomic>

#include "http/call.h"

namespace bcauth::http {

// Held for as long as a long-poll or stream is open. A refused slot has already answered 429
// (with Retry-After: 1).
class LongPollSlot {
 public:
  explicit LongPollSlot(Call& call);
  ~LongPollSlot();
  LongPollSlot(const LongPollSlot&) = delete;
  LongPollSlot& operator=(const LongPollSlot&) = delete;
  explicit operator bool() const { return granted_; }

 private:
  std::atomic<int>& count_;
  bool granted_ = false;
};

}  // namespace bcauth::http
