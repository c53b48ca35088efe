// /v1/providers: the identity providers the CSP signs its customers in with.
#include "http/routes/routes.h"

namespace bcauth::http::routes {

void putProvider(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (readJsonBody(call, body)) {
    answer(call, views::of(call.context.service.admin.putProvider(call.params[0], inputs::provider(body))));
  }
}

void getProvider(Call& call) { answer(call, views::of(call.context.service.admin.provider(call.params[0]))); }

void deleteProvider(Call& call) { answerNoContent(call, call.context.service.admin.deleteProvider(call.params[0])); }

void listProviders(Call& call) {
  answer(call, Result<views::Json>(views::providers(call.context.service.admin.providers(queryValue(call, "enabled") == "true"))));
}

}  // namespace bcauth::http::routes
