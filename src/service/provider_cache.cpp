#include "service/provider_cache.h"

namespace bcauth::service {

std::optional<store::Provider> ProviderCache::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto found = providers_.find(id);
  if (found == providers_.end()) return std::nullopt;
  return found->second;
}

void ProviderCache::put(const store::Provider& provider) {
  std::lock_guard lock(mutex_);
  // More providers than any CSP registers: start over rather than track which to drop.
  if (providers_.size() >= kMaxProviders && !providers_.contains(provider.id)) providers_.clear();
  providers_.insert_or_assign(provider.id, provider);
}

void ProviderCache::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  providers_.erase(id);
}

std::size_t ProviderCache::size() const {
  std::lock_guard lock(mutex_);
  return providers_.size();
}

}  // namespace bcauth::service
