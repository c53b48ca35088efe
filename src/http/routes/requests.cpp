// /v1/auth-requests: create (idempotent, rate limited per conversation), read, cancel, and the
// token and its refresh.
#include <optional>

#include "http/routes/routes.h"

namespace bcauth::http::routes {

using Poco::Net::HTTPResponse;

void createRequest(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (!readJsonBody(call, body)) return;
  std::optional<std::string> key;
  if (call.request.has("Idempotency-Key")) key = call.request.get("Idempotency-Key");
  // Each conversation has its own budget of new requests, so one customer cannot be flooded with
  // sign-in prompts (and one conversation cannot spend the whole API key's rate). The service
  // asks only for a valid request that is not a replay: retries and bad bodies cost nothing.
  std::optional<std::int64_t> wait;
  auto created = call.context.service.requests.create(call.principal, inputs::createRequest(body), inputs::idempotencyKey(key, body),
                                                      [&](const std::string& conversation) {
    wait = call.context.conversationLimiter.acquire(conversation);
    return wait ? Status::conflict("rate limited") : Status::ok();
  });
  if (wait) return sendRateLimited(call, *wait, "too many authenticate requests for this conversation");
  if (!created) return sendStatus(call.response, created.status());
  if (!created->created) call.response.set("Idempotent-Replayed", "true");
  sendJson(call.response, created->created ? HTTPResponse::HTTP_CREATED : HTTPResponse::HTTP_OK,
           views::request(created->state));
}

namespace {

void answerRequest(Call& call, const Result<service::RequestState>& state) {
  if (!state) return sendStatus(call.response, state.status());
  sendJson(call.response, HTTPResponse::HTTP_OK, views::request(*state));
}

}  // namespace

void getRequest(Call& call) { answerRequest(call, call.context.service.requests.request(call.principal, call.params[0])); }

void cancelRequest(Call& call) { answerRequest(call, call.context.service.requests.cancel(call.principal, call.params[0])); }

void requestToken(Call& call) { answer(call, views::of(call.context.service.requests.token(call.principal, call.params[0]))); }

void refreshToken(Call& call) { answer(call, views::of(call.context.service.requests.refresh(call.principal, call.params[0]))); }

}  // namespace bcauth::http::routes
