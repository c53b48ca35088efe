// /v1/webhooks: subscriptions, and the deliveries that ran out of attempts (dead letters) with
// their replay.
#include "http/integer.h"
#include "http/routes/routes.h"

namespace bcauth::http::routes {

void putWebhook(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (readJsonBody(call, body)) {
    answer(call, views::of(call.context.service.admin.putWebhook(call.principal, call.params[0], inputs::webhook(body))));
  }
}

void getWebhook(Call& call) { answer(call, views::of(call.context.service.admin.webhook(call.principal, call.params[0]))); }

void listWebhooks(Call& call) { answer(call, Result<views::Json>(views::webhooks(call.context.service.admin.webhooks(call.principal)))); }

void deleteWebhook(Call& call) { answerNoContent(call, call.context.service.admin.deleteWebhook(call.principal, call.params[0])); }

void deadLetters(Call& call) {
  auto limit = queryInteger(call, "limit", 100, 1, 1000);
  if (!limit) return sendStatus(call.response, limit.status());
  answer(call, Result<views::Json>(views::deadLetters(call.context.service.admin.deadLetters(call.principal, static_cast<std::size_t>(*limit)))));
}

void replayDeadLetter(Call& call) {
  const auto id = parseInteger(call.params[0], "deliveryId", 0, INT64_MAX);
  if (!id) return sendStatus(call.response, id.status());
  answer(call, views::of(call.context.service.admin.replayDeadLetter(call.principal, *id)));
}

}  // namespace bcauth::http::routes
