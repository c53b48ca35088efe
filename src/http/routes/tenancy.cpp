// /v1/businesses and /v1/api-keys: the tenants and the keys that act for them. The route table
// marks them KeyScope::kOperatorOnly, so only an operator's key reaches these handlers.
#include "http/routes/routes.h"

namespace bcauth::http::routes {

using Poco::Net::HTTPResponse;

void createBusiness(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (!readJsonBody(call, body)) return;
  const auto input = inputs::business(body);
  if (!input) return sendStatus(call.response, input.status());
  answer(call, views::of(call.context.service.tenancy.createBusiness(*input)), HTTPResponse::HTTP_CREATED);
}

void listBusinesses(Call& call) {
  answer(call, Result<views::Json>(views::businesses(call.context.service.tenancy.businesses())));
}

void getBusiness(Call& call) { answer(call, views::of(call.context.service.tenancy.business(call.params[0]))); }

// The answer holds the key itself: the only time it is shown (never logged: the log line
// carries the route, not the body).
void createApiKey(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (!readJsonBody(call, body)) return;
  const auto input = inputs::apiKey(body);
  if (!input) return sendStatus(call.response, input.status());
  answer(call, views::of(call.context.service.tenancy.createApiKey(*input)), HTTPResponse::HTTP_CREATED);
}

void listApiKeys(Call& call) { answer(call, Result<views::Json>(views::apiKeys(call.context.service.tenancy.apiKeys()))); }

void revokeApiKey(Call& call) { answerNoContent(call, call.context.service.tenancy.revokeApiKey(call.params[0])); }

}  // namespace bcauth::http::routes
