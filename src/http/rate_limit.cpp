#include "http/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace bcauth::http {

RateLimiter::RateLimiter(double ratePerSecond, double burst, std::size_t maxKeys)
    : rate_(ratePerSecond), burst_(std::max(1.0, burst)), maxKeys_(std::max<std::size_t>(1, maxKeys)) {}

double RateLimiter::refill(Bucket& bucket, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
    bucket.updated = now;
  }
  return bucket.tokens;
}

void RateLimiter::dropFullBuckets(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (refill(it->second, now) >= burst_) it = buckets_.erase(it);
    else ++it;
  }
}

std::optional<std::int64_t> RateLimiter::acquire(const std::string& key, Clock::time_point now) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= maxKeys_) dropFullBuckets(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  if (refill(bucket, now) >= 1.0) {
    bucket.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait = (1.0 - bucket.tokens) / rate_;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait)));
}

std::size_t RateLimiter::trackedKeys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace bcauth::http
