#include "http/views.h"

#include <stdexcept>

#include <Poco/JSON/Array.h>

#include "protocol/json_writer.h"
#include "service/event_codec.h"

namespace bcauth::http::views {
namespace {

using service::isoTime;

Json newObject() { return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER); }

Poco::JSON::Array::Ptr stringArray(const std::vector<std::string>& items) {
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array();
  for (const auto& item : items) array->add(item);
  return array;
}

template <typename Row, typename View>
Json listOf(const char* key, const std::vector<Row>& rows, View view) {
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array();
  for (const auto& row : rows) list->add(view(row));
  auto body = newObject();
  body->set(key, list);
  return body;
}

void writeDelivery(protocol::json::Writer& out, const std::optional<store::Delivery>& d) {
  out.beginObject();
  if (!d) {
    out.field("status", "not_requested");
  } else {
    out.field("status", d->status).field("attempts", std::int64_t{d->attempts});
    if (d->lastHttpStatus != 0) out.field("appleStatus", std::int64_t{d->lastHttpStatus});
    if (!d->lastError.empty()) out.field("lastError", d->lastError);
  }
  out.endObject();
}

}  // namespace

Json provider(const service::ProviderView& shown) {
  const store::Provider& p = shown.provider;
  auto view = newObject();
  view->set("id", p.id);
  if (!p.businessId.empty()) view->set("businessId", p.businessId);
  view->set("shared", shown.shared());
  view->set("name", p.name);
  view->set("authorizationUrl", p.authorizationUrl);
  view->set("tokenUrl", p.tokenUrl);
  if (!p.userinfoUrl.empty()) view->set("userinfoUrl", p.userinfoUrl);
  view->set("clientId", p.clientId);
  view->set("clientSecretSet", p.sealedClientSecret.has_value());
  view->set("tokenAuthMethod", p.tokenAuthMethod);
  view->set("scopes", stringArray(p.scopes));
  view->set("enabled", p.enabled);
  auto profile = newObject();
  for (const auto& [field, claim] : p.profileFields) profile->set(field, claim);
  view->set("profileFields", profile);
  view->set("createdAt", isoTime(p.createdAt));
  view->set("updatedAt", isoTime(p.updatedAt));
  return view;
}

Json webhook(const store::Subscription& sub) {
  auto view = newObject();
  view->set("id", sub.id);
  if (!sub.businessId.empty()) view->set("businessId", sub.businessId);
  view->set("url", sub.url);
  view->set("eventTypes", stringArray(sub.eventTypes));
  view->set("enabled", sub.enabled);
  view->set("secretSet", !sub.sealedSecret.empty());
  view->set("createdAt", isoTime(sub.createdAt));
  view->set("updatedAt", isoTime(sub.updatedAt));
  return view;
}

Json deadLetter(const store::WebhookDelivery& d) {
  auto view = newObject();
  view->set("id", d.id);
  view->set("subscriptionId", d.subscriptionId);
  view->set("eventSeq", d.eventSeq);
  view->set("conversationId", d.conversationId);
  view->set("status", d.status);
  view->set("attempts", d.attempts);
  if (d.lastHttpStatus != 0) view->set("lastHttpStatus", d.lastHttpStatus);
  if (!d.lastError.empty()) view->set("lastError", d.lastError);
  view->set("updatedAt", isoTime(d.updatedAt));
  return view;
}

std::string request(const service::RequestState& state) {
  const store::AuthRequest& r = state.request;
  // The message as stored (its client secret redacted): JSON bcauth wrote itself, copied in as
  // it is rather than parsed into objects and written out again.
  if (r.messageJson.size() < 2 || r.messageJson.front() != '{' || r.messageJson.back() != '}') {
    throw std::runtime_error("views: the stored message of auth request " + r.id + " is not a JSON object");
  }
  protocol::json::Writer out;
  out.beginObject();
  out.field("id", r.id).field("requestIdentifier", r.requestIdentifier).field("conversationId", r.conversationId);
  out.field("businessId", r.businessId).field("providerId", r.providerId).field("flow", r.flow);
  out.key("scopes").strings(r.scopes);
  out.field("status", r.status);
  if (!r.statusReason.empty()) out.field("statusReason", r.statusReason);
  out.field("createdAt", service::isoTime(r.createdAt));
  out.field("updatedAt", service::isoTime(r.updatedAt));
  out.field("expiresAt", service::isoTime(r.expiresAt));
  writeDelivery(out.key("delivery"), state.delivery);
  out.key("tokenAvailable").boolean(state.tokenAvailable);
  out.key("message").raw(r.messageJson);
  out.endObject();
  return out.take();
}

Json token(const service::AccessToken& t) {
  auto view = newObject();
  view->set("authRequestId", t.authRequestId);
  view->set("accessToken", std::string(t.accessToken.view()));
  view->set("tokenType", t.tokenType);
  if (t.expiresAt != 0) view->set("expiresAt", isoTime(t.expiresAt));
  view->set("refreshTokenAvailable", t.refreshTokenAvailable);
  return view;
}

Json events(const service::EventPage& page) {
  auto body = listOf("events", page.events, service::eventObject);
  body->set("next", page.next);
  return body;
}

Json business(const store::Business& b) {
  auto view = newObject();
  view->set("id", b.id);
  view->set("name", b.name);
  view->set("createdAt", isoTime(b.createdAt));
  return view;
}

Json apiKey(const store::ApiKey& key) {
  auto view = newObject();
  view->set("id", key.id);
  view->set("name", key.name);
  if (key.businessId) view->set("businessId", *key.businessId);  // absent: an operator key
  view->set("createdAt", isoTime(key.createdAt));
  if (key.lastUsedAt) view->set("lastUsedAt", isoTime(*key.lastUsedAt));
  if (key.revokedAt) view->set("revokedAt", isoTime(*key.revokedAt));
  return view;
}

Json principal(const service::Principal& who) {
  auto view = newObject();
  view->set("keyId", who.keyId);
  view->set("operator", who.isOperator());
  if (who.businessId) view->set("businessId", *who.businessId);
  return view;
}

Json createdApiKey(const service::CreatedApiKey& created) {
  auto view = apiKey(created.key);
  view->set("key", created.presented);
  return view;
}

Json providers(const std::vector<service::ProviderView>& rows) { return listOf("providers", rows, provider); }
Json webhooks(const std::vector<store::Subscription>& rows) { return listOf("webhooks", rows, webhook); }
Json deadLetters(const std::vector<store::WebhookDelivery>& rows) { return listOf("deadLetters", rows, deadLetter); }
Json businesses(const std::vector<store::Business>& rows) { return listOf("businesses", rows, business); }
Json apiKeys(const std::vector<store::ApiKey>& rows) { return listOf("apiKeys", rows, apiKey); }

}  // namespace bcauth::http::views
