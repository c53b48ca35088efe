#include "service/event_codec.h"

#include <sstream>

#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Timestamp.h>

#include "protocol/json_writer.h"
#include "protocol/outcome_fields.h"

namespace bcauth::service {
namespace {

using Object = Poco::JSON::Object::Ptr;

Object newObject() { return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER); }

using protocol::json::Writer;

void write(Writer& out, const RequestedData& d) {
  out.field("flow", d.flow).field("providerId", d.providerId);
  out.key("scopes").strings(d.scopes);
}

void write(Writer& out, const MessageData& d) {
  out.field("type", d.type).field("messageId", d.messageId);
  out.key("capabilities").strings(d.capabilities);
  out.key("payload").var(d.payload);
}

void write(Writer& out, const RejectedData& d) {
  out.field("reason", d.reason);
  out.fieldIf("requestIdentifier", d.requestIdentifier);
  out.fieldIf("via", d.via);
}

// The outcome's fields first (without "event": the event's own type says it); a "flow" or
// "by" of both keeps the outcome's place and takes this data's value.
void write(Writer& out, const ConclusionData& d) {
  bool wroteFlow = false, wroteBy = false;
  if (d.outcome) {
    protocol::json::writeOutcomeFields(out, *d.outcome, {d.flow, d.by});
    wroteFlow = protocol::json::writesFlow(*d.outcome);
    wroteBy = protocol::json::writesBy(*d.outcome);
  }
  if (!wroteBy) out.fieldIf("by", d.by);
  if (!wroteFlow) out.fieldIf("flow", d.flow);
  out.fieldIf("providerId", d.providerId);
  out.fieldIf("requestIdentifier", d.requestIdentifier);
  out.fieldIf("tokenAvailable", d.tokenAvailable);
  out.fieldIf("refreshTokenAvailable", d.refreshTokenAvailable);
  out.fieldIf("detail", d.detail);
  if (d.customer) out.key("customer").var(d.customer);
  out.fieldIf("profileError", d.profileError);
}

void write(Writer& out, const DeliveryData& d) {
  out.field("attempts", std::int64_t{d.attempts});
  out.fieldIf("appleStatus", d.appleStatus);
  out.fieldIf("reason", d.reason);
  out.fieldIf("detail", d.detail);
}

}  // namespace

store::Event encodeEvent(const EventRecord& record) {
  Writer data;
  data.beginObject();
  std::visit([&](const auto& d) { write(data, d); }, record.data);
  data.endObject();
  return store::Event{0, std::string(name(record.type)), record.at, record.conversationId, record.authRequestId,
                      data.take(), record.businessId};
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
