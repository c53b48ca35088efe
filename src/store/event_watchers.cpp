#include "store/event_watchers.h"

#include <utility>

namespace bcauth::store {
namespace {

template <typename List>
class Watch final : public EventWatch {
 public:
  Watch(std::shared_ptr<List> list, std::uint64_t id) : list_(std::move(list)), id_(id) {}
  ~Watch() override {
    std::lock_guard lock(list_->mutex);
    list_->callbacks.erase(id_);
  }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

 private:
  std::shared_ptr<List> list_;
  std::uint64_t id_;
};

}  // namespace

std::unique_ptr<EventWatch> EventWatchers::add(std::function<void()> onEvents) {
  std::lock_guard lock(list_->mutex);
  const auto id = list_->next++;
  list_->callbacks.emplace(id, std::move(onEvents));
  return std::make_unique<Watch<List>>(list_, id);
}

void EventWatchers::notify() {
  std::lock_guard lock(list_->mutex);
  for (const auto& [id, callback] : list_->callbacks) callback();
}

}  // namespace bcauth::store
