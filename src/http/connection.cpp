#include "http/connection.h"

#include <sys/socket.h>

namespace bcauth::http {

std::shared_ptr<void> AddressTable::admit(const std::string& address, int perAddressCap, int totalCap,
                                          Refusal& refusal) {
  {
    std::lock_guard lock(mutex_);
    refusal = Refusal::kNone;
    if (totalCap > 0 && open_ >= totalCap) refusal = Refusal::kTotal;
    int& count = perAddress_[address];
    if (refusal == Refusal::kNone && perAddressCap > 0 && count >= perAddressCap) refusal = Refusal::kPerAddress;
    if (refusal != Refusal::kNone) {
      if (count == 0) perAddress_.erase(address);
      return nullptr;
    }
    ++count;
    ++open_;
  }
  // The slot keeps the table alive, so a connection may outlive the listener that admitted it.
  auto self = shared_from_this();
  return std::shared_ptr<void>(nullptr, [self, address](void*) { self->release(address); });
}

int AddressTable::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

void AddressTable::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  --open_;
  auto it = perAddress_.find(address);
  if (it != perAddress_.end() && --it->second <= 0) perAddress_.erase(it);
}

Watchdog::Guard::Guard(Watchdog& watchdog, int fd, Clock::time_point deadline) {
  if (deadline == Clock::time_point::max() || fd < 0) return;
  std::lock_guard lock(watchdog.mutex_);
  entry_ = watchdog.reads_.insert(watchdog.reads_.end(), {fd, deadline});
  watchdog_ = &watchdog;
}

Watchdog::Guard::~Guard() {
  if (watchdog_ == nullptr) return;
  std::lock_guard lock(watchdog_->mutex_);
  watchdog_->reads_.erase(entry_);
}

int Watchdog::expire(Clock::time_point now) {
  int expired = 0;
  std::lock_guard lock(mutex_);
  for (auto& [fd, deadline] : reads_) {
    if (fd < 0 || deadline > now) continue;
    // The read returns at once; the worker sees a closed connection and lets it go.
    ::shutdown(fd, SHUT_RDWR);
    fd = -1;  // once is enough; the worker removes the entry when its read returns
    ++expired;
  }
  return expired;
}

}  // namespace bcauth::http
