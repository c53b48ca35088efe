// The server's log channel: each message's text and its newline in one write to a descriptor
// (stderr). Poco's default ConsoleChannel writes them in two (std::clog is unbuffered), so a
// reader of the pipe (journald, a container runtime) is woken twice per line, and the server
// makes two system calls per request for its request log line.
#pragma once

#include <mutex>

#include <Poco/Channel.h>
#include <Poco/Message.h>

namespace bcauth::app {

class LineChannel : public Poco::Channel {
 public:
  explicit LineChannel(int fd = 2) : fd_(fd) {}
  void log(const Poco::Message& message) override;

  // Gives `channel` to every logger that still writes to Poco's default console channel, the
  // root included (loggers made later take their parent's); a channel a configuration set up
  // (a file, a formatter) is kept.
  static void replaceDefaultChannels(const Poco::Channel::Ptr& channel);

 private:
  const int fd_;
  std::mutex mutex_;  // a line longer than the pipe's atomic size is still written whole
};

}  // namespace bcauth::app
