// /v1/providers: the identity providers the CSP signs its customers in with.
#include "http/routes/routes.h"

namespace bcauth::http {
namespace {

using Poco::Net::HTTPResponse;

void putProvider(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (readJsonBody(call, body)) answer(call, call.context.service.putProvider(call.params[0], body));
}

void getProvider(Call& call) { answer(call, call.context.service.provider(call.params[0])); }

void deleteProvider(Call& call) {
  const Status status = call.context.service.deleteProvider(call.params[0]);
  if (!status) return sendStatus(call.response, status);
  call.response.setStatus(HTTPResponse::HTTP_NO_CONTENT);
  call.response.send();
}

void listProviders(Call& call) {
  auto list = call.context.service.providers(queryValue(call, "enabled") == "true");
  Poco::JSON::Object::Ptr body = new Poco::JSON::Object();
  body->set("providers", *list);
  answer(call, Result<Poco::JSON::Object::Ptr>(body));
}

}  // namespace

std::vector<RouteSpec> providerRoutes() {
  return {
      {"GET", "/v1/providers", true, listProviders},
      {"PUT", "/v1/providers/{}", true, putProvider},
      {"GET", "/v1/providers/{}", true, getProvider},
      {"DELETE", "/v1/providers/{}", true, deleteProvider},
  };
}

}  // namespace bcauth::http
