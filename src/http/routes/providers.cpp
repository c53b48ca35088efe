// /v1/providers: the identity providers the CSP signs its customers in with.
#include "http/routes/routes.h"

namespace bcauth::http::routes {

void putProvider(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (readJsonBody(call, body)) answer(call, call.context.service.putProvider(call.params[0], body));
}

void getProvider(Call& call) { answer(call, call.context.service.provider(call.params[0])); }

void deleteProvider(Call& call) { answerNoContent(call, call.context.service.deleteProvider(call.params[0])); }

void listProviders(Call& call) {
  auto list = call.context.service.providers(queryValue(call, "enabled") == "true");
  Poco::JSON::Object::Ptr body = new Poco::JSON::Object();
  body->set("providers", *list);
  answer(call, Result<Poco::JSON::Object::Ptr>(body));
}

}  // namespace bcauth::http::routes
