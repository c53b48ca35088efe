// The callbacks of Store::watchEvents, shared by both stores.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "store/store.h"

namespace bcauth::store {

class EventWatchers {
 public:
  // The watch keeps the list alive, so it may outlive the Store that made it.
  std::unique_ptr<EventWatch> add(std::function<void()> onEvents);
  // Calls every callback. Holds the list's lock meanwhile, so a watch being destroyed waits
  // for a callback of its own that is running (its owner may be going away).
  void notify();

 private:
  struct List {
    std::mutex mutex;
    std::map<std::uint64_t, std::function<void()>> callbacks;
    std::uint64_t next = 0;
  };
  std::shared_ptr<List> list_ = std::make_shared<List>();
};

}  // namespace bcauth::store
