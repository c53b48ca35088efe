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

  // Whether the root logger still has Poco's default channel, which serve replaces (a channel a
  // configuration set up is kept).
  static bool rootHasDefaultChannel();

 private:
  const int fd_;
  std::mutex mutex_;  // a line longer than the pipe's atomic size is still written whole
};

}  // namespace bcauth::app
