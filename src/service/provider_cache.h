// Providers as this process last read them, for request creation.
//
// A create plans with its provider (the scopes it may ask, the client secret its message
// carries, whether it is enabled and whose it is) before its write transaction, and that read
// was a read transaction of its own: the largest of a create's reads (about 3% of the server's
// CPU per round trip). Providers change rarely, so a create plans with the row this cache holds
// and its write transaction compares that row with the one stored (a read on the writer's
// warm connection): a provider another process or instance changed since fails the comparison,
// and the create plans again from the store. A create is thus recorded only with its provider as
// it stands at the commit — which the uncached read, outside the transaction, did not ensure.
//
// Thread-safe. Bounded: it is emptied when it would hold more than kMaxProviders.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/store.h"

namespace bcauth::service {

class ProviderCache {
 public:
  static constexpr std::size_t kMaxProviders = 1024;

  std::optional<store::Provider> get(const std::string& id) const;
  void put(const store::Provider& provider);
  void forget(const std::string& id);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, store::Provider> providers_;
};

}  // namespace bcauth::service
