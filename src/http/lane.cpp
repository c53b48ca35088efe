#include "http/lane.h"

#include <Poco/Logger.h>

namespace bcauth::http {

Lane::Lane(std::string name, int threads, std::size_t maxQueued, Work work)
    : name_(std::move(name)), maxQueued_(maxQueued), work_(std::move(work)) {
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

Lane::~Lane() {
  close();
  join();
}

bool Lane::offer(Connection&& connection) {
  {
    std::lock_guard lock(mutex_);
    // A connection is only queued when a worker is free or the queue has room: the queue holds
    // connections whose head has arrived, so its length is the lane's backlog of work.
    const std::size_t idleWorkers = workers_.size() - static_cast<std::size_t>(busy_);
    if (closed_ || queue_.size() >= maxQueued_ + idleWorkers) return false;
    queue_.push_back(std::move(connection));
  }
  wake_.notify_one();
  return true;
}

void Lane::close() {
  std::deque<Connection> dropped;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  idle_.notify_all();
}

bool Lane::waitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return idle_.wait_until(lock, deadline, [this] { return busy_ == 0 && queue_.empty(); });
}

void Lane::join() {
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

int Lane::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

std::size_t Lane::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Lane::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return;  // closed and nothing left
    Connection connection = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    try {
      work_(std::move(connection));
    } catch (const std::exception& e) {
      Poco::Logger::get("bcauth.http").error(name_ + " worker: " + e.what());
    }
    lock.lock();
    --busy_;
    if (busy_ == 0 && queue_.empty()) idle_.notify_all();
  }
}

}  // namespace bcauth::http
