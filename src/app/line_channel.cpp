#include "app/line_channel.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <Poco/ConsoleChannel.h>
#include <Poco/Logger.h>

namespace bcauth::app {

void LineChannel::log(const Poco::Message& message) {
  std::string line;
  line.reserve(message.getText().size() + 1);
  line.append(message.getText()).push_back('\n');
  std::lock_guard lock(mutex_);
  for (std::size_t at = 0; at < line.size();) {
    const ssize_t n = ::write(fd_, line.data() + at, line.size() - at);
    if (n < 0 && errno == EINTR) continue;
    // A non-blocking stderr that is full: wait for room a little, then drop the rest (ending the
    // line, so that the next one starts on its own).
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd ready{fd_, POLLOUT, 0};
      if (::poll(&ready, 1, 1000) > 0) continue;
      if (at > 0) {
        [[maybe_unused]] const ssize_t ended = ::write(fd_, "\n", 1);
      }
      return;
    }
    if (n <= 0) return;  // nowhere to log to: the line is dropped, as Poco's channel drops it
    at += static_cast<std::size_t>(n);
  }
}

void LineChannel::replaceDefaultChannels(const Poco::Channel::Ptr& channel) {
  std::vector<std::string> names;
  Poco::Logger::names(names);
  names.push_back(Poco::Logger::ROOT);
  for (const auto& name : names) {
    Poco::Logger& logger = Poco::Logger::get(name);
    if (dynamic_cast<Poco::ConsoleChannel*>(logger.getChannel().get()) != nullptr) logger.setChannel(channel);
  }
}

}  // namespace bcauth::app
