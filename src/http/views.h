// The CSP API's response bodies: the service's rows and results as JSON. Secrets never appear:
// a provider or webhook shows only whether its secret is set, a stored message shows its
// client secret as "[redacted]".
#pragma once

#include <string>
#include <vector>

#include <Poco/JSON/Object.h>

#include "bcauth/status.h"
#include "service/admin.h"
#include "service/event_log.h"
#include "service/requests.h"
#include "service/tenancy.h"
#include "store/store.h"

namespace bcauth::http::views {

using Json = Poco::JSON::Object::Ptr;

Json provider(const service::ProviderView& provider);
Json webhook(const store::Subscription& subscription);
Json deadLetter(const store::WebhookDelivery& delivery);
std::string request(const service::RequestState& state);  // JSON text, with its message as stored
Json token(const service::AccessToken& token);
Json events(const service::EventPage& page);  // {"events": […], "next": seq}
Json business(const store::Business& business);
Json apiKey(const store::ApiKey& key);                     // never the secret nor its hash
Json createdApiKey(const service::CreatedApiKey& created);  // apiKey's, and the key itself, once
Json principal(const service::Principal& who);              // GET /v1/me: {keyId, operator, businessId?}

Json providers(const std::vector<service::ProviderView>& providers);   // {"providers": […]}
Json webhooks(const std::vector<store::Subscription>& subscriptions);   // {"webhooks": […]}
Json deadLetters(const std::vector<store::WebhookDelivery>& deliveries);  // {"deadLetters": […]}
Json businesses(const std::vector<store::Business>& businesses);        // {"businesses": […]}
Json apiKeys(const std::vector<store::ApiKey>& keys);                    // {"apiKeys": […]}

// A result's view, or its failure as it is.
template <typename T>
Result<Json> of(const Result<T>& result) {
  if (!result) return result.status();
  if constexpr (std::is_same_v<T, service::ProviderView>) return provider(*result);
  else if constexpr (std::is_same_v<T, store::Subscription>) return webhook(*result);
  else if constexpr (std::is_same_v<T, store::WebhookDelivery>) return deadLetter(*result);
  else if constexpr (std::is_same_v<T, service::AccessToken>) return token(*result);
  else if constexpr (std::is_same_v<T, store::Business>) return business(*result);
  else if constexpr (std::is_same_v<T, service::CreatedApiKey>) return createdApiKey(*result);
  else return events(*result);
}

}  // namespace bcauth::http::views
