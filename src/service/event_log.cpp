#include "service/event_log.h"

#include "protocol/ids.h"

namespace bcauth::service {
namespace {

EventPage pageOf(std::vector<store::Event> events, std::int64_t afterSeq) {
  const std::int64_t next = events.empty() ? afterSeq : events.back().seq;
  return {std::move(events), next};
}

}  // namespace

Result<EventPage> EventLog::read(const Principal& who, std::int64_t afterSeq, std::size_t limit,
                                 std::int64_t waitMillis) {
  return pageOf(k_.feed.wait(
                    [&] {
                      return who.isOperator() ? k_.store.events(afterSeq, limit)
                                              : k_.store.businessEvents(*who.businessId, afterSeq, limit);
                    },
                    waitMillis),
                afterSeq);
}

Result<EventPage> EventLog::conversation(const Principal& who, const std::string& conversationId,
                                         std::int64_t afterSeq, std::size_t limit) {
  if (auto valid = protocol::ids::checkConversationId(conversationId); !valid) return valid;
  if (who.isOperator()) return pageOf(k_.store.conversationEvents(conversationId, afterSeq, limit), afterSeq);
  auto events = k_.store.businessConversationEvents(*who.businessId, conversationId, afterSeq, limit);
  // An operator may have asked a customer before they wrote: such a conversation has events of
  // the business but no row. Neither: not the business's conversation.
  if (events.empty() && !k_.store.conversation(*who.businessId, conversationId)) {
    return Status::notFound("conversation " + conversationId + " does not exist");
  }
  return pageOf(std::move(events), afterSeq);
}

}  // namespace bcauth::service
