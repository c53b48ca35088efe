// Reading the event log: the global feed (with a long-poll wait) and one conversation's timeline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bcauth/status.h"
#include "service/kernel.h"

namespace bcauth::service {

struct EventPage {
  std::vector<store::Event> events;
  std::int64_t next = 0;  // the seq to read after next time
};

class EventLog {
 public:
  explicit EventLog(Kernel& kernel) : k_(kernel) {}

  // Events after seq, waiting up to waitMillis for the first one when there are none yet. The
  // wait wakes on events committed by any instance (Store::watchEvents), re-reads the store every
  // eventsRecheckMillis anyway, and reads it once more before answering empty.
  Result<EventPage> read(std::int64_t afterSeq, std::size_t limit, std::int64_t waitMillis);
  Result<EventPage> conversation(const std::string& conversationId, std::int64_t afterSeq, std::size_t limit);

 private:
  Kernel& k_;
};

}  // namespace bcauth::service
