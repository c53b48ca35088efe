// The service's one source of time: unix milliseconds, injected so tests can move it by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

namespace bcauth::service {

class Clock {
 public:
  explicit Clock(std::function<std::int64_t()> nowMillis) : nowMillis_(std::move(nowMillis)) {}
  std::int64_t nowMillis() const { return nowMillis_(); }

 private:
  std::function<std::int64_t()> nowMillis_;
};

}  // namespace bcauth::service
