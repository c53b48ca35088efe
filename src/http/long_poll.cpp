#include "http/long_poll.h"

#include <algorithm>

namespace bcauth::http {

LongPollSlot::LongPollSlot(Call& call) : count_(call.context.longPolls) {
  const int cap = std::max(1, call.context.config.maxThreads / 4);
  granted_ = ++count_ <= cap;
  if (!granted_) {
    --count_;
    call.response.set("Retry-After", "1");
    sendStatus(call.response, Status::refusal(StatusCode::kTooManyRequests,
                                              "too many streams and long-polls are open; retry, or poll without waitSeconds"));
  }
}

LongPollSlot::~LongPollSlot() {
  if (granted_) --count_;
}

}  // namespace bcauth::http
