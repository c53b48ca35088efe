// /v1/providers: the identity providers the CSP signs its customers in with.
#include "http/routes/routes.h"

namespace bcauth::http::routes {

void putProvider(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (readJsonBody(call, body)) {
    answer(call, views::of(call.context.service.admin.putProvider(call.principal, call.params[0], inputs::provider(body))));
  }
}

void getProvider(Call& call) { answer(call, views::of(call.context.service.admin.provider(call.principal, call.params[0]))); }

void deleteProvider(Call& call) { answerNoContent(call, call.context.service.admin.deleteProvider(call.principal, call.params[0])); }

void listProviders(Call& call) {
  answer(call, Result<views::Json>(views::providers(call.context.service.admin.providers(call.principal, queryValue(call, "enabled") == "true"))));
}

void enableProvider(Call& call) {
  answerNoContent(call, call.context.service.admin.setProviderEnabledFor(call.principal, call.params[0], call.params[1], true));
}

void disableProvider(Call& call) {
  answerNoContent(call, call.context.service.admin.setProviderEnabledFor(call.principal, call.params[0], call.params[1], false));
}

}  // namespace bcauth::http::routes
