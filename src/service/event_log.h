// Reading the event log: the global feed (with a long-poll wait) and one conversation's timeline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bcauth/status.h"
#include "service/kernel.h"
#include "service/principal.h"

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
  // A business key reads its business's events only.
  Result<EventPage> read(const Principal& who, std::int64_t afterSeq, std::size_t limit, std::int64_t waitMillis);
  // A business key: a conversation that never wrote to its business is not_found.
  Result<EventPage> conversation(const Principal& who, const std::string& conversationId, std::int64_t afterSeq,
                                 std::size_t limit);

 private:
  Kernel& k_;
};

}  // namespace bcauth::service
