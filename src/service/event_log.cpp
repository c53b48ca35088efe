#include "service/event_log.h"

#include "protocol/ids.h"

namespace bcauth::service {
namespace {

EventPage pageOf(std::vector<store::Event> events, std::int64_t afterSeq) {
  const std::int64_t next = events.empty() ? afterSeq : events.back().seq;
  return {std::move(events), next};
}

}  // namespace

Result<EventPage> EventLog::read(std::int64_t afterSeq, std::size_t limit, std::int64_t waitMillis) {
  return pageOf(k_.feed.wait([&] { return k_.store.events(afterSeq, limit); }, waitMillis), afterSeq);
}

Result<EventPage> EventLog::conversation(const std::string& conversationId, std::int64_t afterSeq, std::size_t limit) {
  if (auto valid = protocol::ids::checkConversationId(conversationId); !valid) return valid;
  return pageOf(k_.store.conversationEvents(conversationId, afterSeq, limit), afterSeq);
}

}  // namespace bcauth::service
