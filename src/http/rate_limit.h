// Token buckets keyed by a string (an API key's index, a conversation id): `burst` requests at
// once, then `ratePerSecond` sustained. A refusal says how long until the next token, which
// becomes the 429's Retry-After.
//
// Memory stays bounded without a sweeper thread: once the table holds maxKeys buckets, every
// bucket that has refilled completely is dropped (forgetting it changes no answer), so only
// keys active within the last burst/rate seconds are kept — at most what the API-key limit lets
// through in that time.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace bcauth::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // ratePerSecond <= 0 turns the limiter off (every acquire succeeds).
  RateLimiter(double ratePerSecond, double burst, std::size_t maxKeys = 100000);

  bool enabled() const { return rate_ > 0; }
  // Takes one token for key. std::nullopt: allowed; otherwise the whole seconds (≥ 1) until a
  // token will be available.
  std::optional<std::int64_t> acquire(const std::string& key, Clock::time_point now = Clock::now());
  std::size_t trackedKeys() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  double refill(Bucket& bucket, Clock::time_point now) const;
  void dropFullBuckets(Clock::time_point now);

  const double rate_;
  const double burst_;
  const std::size_t maxKeys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace bcauth::http
