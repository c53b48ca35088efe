#include "app/line_channel.h"

#include <unistd.h>

#include <cerrno>
#include <string>

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
    if (n <= 0) return;  // nowhere to log to: the line is dropped, as Poco's channel drops it
    at += static_cast<std::size_t>(n);
  }
}

bool LineChannel::rootHasDefaultChannel() {
  return dynamic_cast<Poco::ConsoleChannel*>(Poco::Logger::root().getChannel().get()) != nullptr;
}

}  // namespace bcauth::app
