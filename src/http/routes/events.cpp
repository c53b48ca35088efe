// The event feed: a conversation's events, the global feed (long-polled with waitSeconds) and
// its Server-Sent Events stream.
#include "http/integer.h"
#include "http/long_poll.h"
#include "http/routes/routes.h"

namespace bcauth::http::routes {

// Server-Sent Events of the global feed, resumable with Last-Event-ID (or ?after=). Holds a
// worker thread, so it counts against the same cap as long-polls.
void eventStream(Call& call) {
  std::int64_t after = 0;
  const std::string lastEventId = call.request.get("Last-Event-ID", "");
  auto fromQuery = queryInteger(call, "after", 0, 0, INT64_MAX);
  if (!fromQuery) return sendStatus(call.response, fromQuery.status());
  after = *fromQuery;
  if (!lastEventId.empty()) {
    const auto fromHeader = parseInteger(lastEventId, "Last-Event-ID", 0, INT64_MAX);
    if (!fromHeader) return sendStatus(call.response, fromHeader.status());
    after = *fromHeader;
  }
  LongPollSlot slot(call);
  if (!slot) return;
  call.response.setContentType("text/event-stream");
  call.response.set("Cache-Control", "no-store");
  call.response.setChunkedTransferEncoding(true);
  std::ostream& out = call.response.send();
  out << "retry: 2000\n\n" << std::flush;
  while (out.good() && !call.context.service.stopping()) {
    auto batch = views::of(call.context.service.events.read(call.principal, after, 100, 15000));
    if (!batch) break;
    const auto events = (*batch)->getArray("events");
    if (events->size() == 0) {
      out << ": keep-alive\n\n" << std::flush;  // also notices a client that went away
      continue;
    }
    for (std::size_t i = 0; i < events->size(); ++i) {
      const auto event = events->getObject(static_cast<unsigned>(i));
      std::ostringstream data;
      event->stringify(data);
      out << "id: " << event->getValue<std::int64_t>("seq") << "\nevent: " << event->getValue<std::string>("type")
          << "\ndata: " << data.str() << "\n\n";
      after = event->getValue<std::int64_t>("seq");
    }
    out << std::flush;
  }
}

void conversationEvents(Call& call) {
  auto after = queryInteger(call, "after", 0, 0, INT64_MAX);
  if (!after) return sendStatus(call.response, after.status());
  auto limit = queryInteger(call, "limit", 100, 1, 1000);
  if (!limit) return sendStatus(call.response, limit.status());
  answer(call, views::of(call.context.service.events.conversation(call.principal, call.params[0], *after, static_cast<std::size_t>(*limit))));
}

void events(Call& call) {
  auto after = queryInteger(call, "after", 0, 0, INT64_MAX);
  if (!after) return sendStatus(call.response, after.status());
  auto limit = queryInteger(call, "limit", 100, 1, 1000);
  if (!limit) return sendStatus(call.response, limit.status());
  auto wait = queryInteger(call, "waitSeconds", 0, 0, 60);
  if (!wait) return sendStatus(call.response, wait.status());
  if (*wait > 0) {
    LongPollSlot slot(call);
    if (!slot) return;
    return answer(call, views::of(call.context.service.events.read(call.principal, *after, static_cast<std::size_t>(*limit), *wait * 1000)));
  }
  answer(call, views::of(call.context.service.events.read(call.principal, *after, static_cast<std::size_t>(*limit), 0)));
}

}  // namespace bcauth::http::routes
