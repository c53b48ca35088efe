#include "service/event_codec.h"

#include <sstream>

#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Timestamp.h>

namespace bcauth::service {
namespace {

using Object = Poco::JSON::Object::Ptr;

Object newObject() { return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER); }

Poco::JSON::Array::Ptr array(const std::vector<std::string>& items) {
  Poco::JSON::Array::Ptr out = new Poco::JSON::Array();
  for (const auto& item : items) out->add(item);
  return out;
}

template <typename T>
void setIf(Object object, const char* key, const std::optional<T>& value) {
  if (value) object->set(key, *value);
}

Object render(const RequestedData& d) {
  auto o = newObject();
  o->set("flow", d.flow);
  o->set("providerId", d.providerId);
  o->set("scopes", array(d.scopes));
  return o;
}

Object render(const MessageData& d) {
  auto o = newObject();
  o->set("type", d.type);
  o->set("messageId", d.messageId);
  o->set("capabilities", array(d.capabilities));
  o->set("payload", d.payload);
  return o;
}

Object render(const RejectedData& d) {
  auto o = newObject();
  o->set("reason", d.reason);
  setIf(o, "requestIdentifier", d.requestIdentifier);
  setIf(o, "via", d.via);
  return o;
}

Object render(const ConclusionData& d) {
  Object o = newObject();
  if (d.outcome) {
    o = d.outcome->toJson();
    o->remove("event");  // the event's own type says it
  }
  setIf(o, "by", d.by);
  setIf(o, "flow", d.flow);
  setIf(o, "providerId", d.providerId);
  setIf(o, "requestIdentifier", d.requestIdentifier);
  setIf(o, "tokenAvailable", d.tokenAvailable);
  setIf(o, "refreshTokenAvailable", d.refreshTokenAvailable);
  setIf(o, "detail", d.detail);
  if (d.customer) o->set("customer", d.customer);
  setIf(o, "profileError", d.profileError);
  return o;
}

Object render(const DeliveryData& d) {
  auto o = newObject();
  o->set("attempts", d.attempts);
  setIf(o, "appleStatus", d.appleStatus);
  setIf(o, "reason", d.reason);
  setIf(o, "detail", d.detail);
  return o;
}

}  // namespace

store::Event encodeEvent(const EventRecord& record) {
  const Object data = std::visit([](const auto& d) { return render(d); }, record.data);
  std::ostringstream text;
  data->stringify(text);
  return store::Event{0, std::string(name(record.type)), record.at, record.conversationId, record.authRequestId,
                      text.str(), record.businessId};
}

Poco::JSON::Object::Ptr eventObject(const store::Event& event) {
  auto view = newObject();
  view->set("seq", event.seq);
  view->set("type", event.type);
  view->set("at", isoTime(event.at));
  if (!event.businessId.empty()) view->set("businessId", event.businessId);
  view->set("conversationId", event.conversationId);
  if (!event.authRequestId.empty()) view->set("authRequestId", event.authRequestId);
  Poco::JSON::Parser parser;
  view->set("data", parser.parse(event.dataJson).extract<Poco::JSON::Object::Ptr>());
  return view;
}

std::string eventJson(const store::Event& event) {
  std::ostringstream text;
  eventObject(event)->stringify(text);
  return text.str();
}

std::string isoTime(std::int64_t millis) {
  const Poco::Timestamp ts(static_cast<Poco::Timestamp::TimeVal>(millis) * 1000);
  return Poco::DateTimeFormatter::format(ts, "%Y-%m-%dT%H:%M:%S.%iZ");
}

}  // namespace bcauth::service
