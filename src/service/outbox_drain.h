// drainOutbox (outbox.h): the shared loop of both outboxes.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include <Poco/Logger.h>

namespace bcauth::service {

template <typename T>
int drainOutbox(const std::vector<std::vector<T>>& groups, std::size_t parallelism, const std::stop_token& stop,
                const std::function<void(const T&)>& attempt, const std::function<std::string(const T&)>& describe) {
  std::atomic<std::size_t> next{0};
  std::atomic<int> tried{0};
  const auto work = [&] {
    for (std::size_t i = next++; i < groups.size(); i = next++) {
      for (const auto& item : groups[i]) {
        if (stop.stop_requested()) return;
        try {  // on a helper thread an escaping exception would end the process
          attempt(item);
        } catch (const std::exception& e) {
          Poco::Logger::get("bcauth.service").error(describe(item) + ": " + e.what());
        }
        ++tried;
      }
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (std::size_t n = 1; n < std::min(groups.size(), parallelism); ++n) helpers.emplace_back(work);
    work();
  }  // the helpers join here
  return tried;
}

}  // namespace bcauth::service
