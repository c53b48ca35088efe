// /v1/businesses and /v1/api-keys: the tenants and the keys that act for them. The route table
// marks them KeyScope::kOperatorOnly, so only an operator's key reaches these handlers.
#include "http/routes/routes.h"

namespace bcauth::http::routes {

namespace {

// Reads the body into an input (read), makes the thing (make) and answers 201 with its view.
template <typename Read, typename Make>
void create(Call& call, Read read, Make make) {
  Poco::JSON::Object::Ptr body;
  if (!readJsonBody(call, body)) return;
  const auto input = read(body);
  if (!input) return sendStatus(call.response, input.status());
  answer(call, views::of(make(*input)), Poco::Net::HTTPResponse::HTTP_CREATED);
}

}  // namespace

void createBusiness(Call& call) {
  create(call, inputs::business, [&](const service::BusinessInput& in) {
    return call.context.service.tenancy.createBusiness(in);
  });
}

void listBusinesses(Call& call) {
  answer(call, Result<views::Json>(views::businesses(call.context.service.tenancy.businesses())));
}

void getBusiness(Call& call) { answer(call, views::of(call.context.service.tenancy.business(call.params[0]))); }

// The answer holds the key itself: the only time it is shown (never logged: the log line
// carries the route, not the body).
void createApiKey(Call& call) {
  create(call, inputs::apiKey, [&](const service::ApiKeyInput& in) {
    return call.context.service.tenancy.createApiKey(in);
  });
}

void listApiKeys(Call& call) {
  answer(call, Result<views::Json>(views::apiKeys(call.context.service.tenancy.apiKeys())));
}

// Who the presented key is: every key may ask (the console tells an operator's sign-in from a
// business's by it). Never the key itself.
void me(Call& call) { answer(call, Result<views::Json>(views::principal(call.principal))); }

void revokeApiKey(Call& call) { answerNoContent(call, call.context.service.tenancy.revokeApiKey(call.params[0])); }

}  // namespace bcauth::http::routes
