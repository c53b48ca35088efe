// The JSON writer behind the stored message and the events: its text is what Poco::JSON's
// stringify writes for the same values, byte for byte, so nothing stored before reads otherwise.
#define BOOST_TEST_MODULE json_writer
#include <boost/test/unit_test.hpp>

#include <random>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include "bcauth/outcome.h"
#include "http/views.h"
#include "protocol/json_writer.h"
#include "request_factory.h"
#include "service/event_codec.h"

using namespace bcauth;
using protocol::json::Writer;

namespace {

std::string pocoText(const Poco::JSON::Object& object) {
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

// text parsed with its key order kept, then stringified by Poco: the same text when the writer
// escaped and laid out everything as Poco does.
std::string pocoRoundTrip(const std::string& text) {
  Poco::JSON::ParseHandler::Ptr handler = new Poco::JSON::ParseHandler(true);
  Poco::JSON::Parser parser(handler);
  const auto object = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
  return pocoText(*object);
}

Poco::JSON::Object::Ptr ordered() { return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER); }

}  // namespace

BOOST_AUTO_TEST_CASE(every_byte_is_escaped_as_poco_escapes_it) {
  for (int c = 0; c < 256; ++c) {
    const std::string value = std::string("a") + static_cast<char>(c) + "b";
    auto expected = ordered();
    expected->set(value, value);
    Writer out;
    out.beginObject().field(value, value).endObject();
    BOOST_CHECK_MESSAGE(out.text() == pocoText(*expected), "byte " << c << ": " << out.text());
  }
}

BOOST_AUTO_TEST_CASE(random_strings_and_nesting_match_poco) {
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string value(random() % 40, '\0');
    for (auto& c : value) c = static_cast<char>(random() % 256);
    auto inner = ordered();
    inner->set("s", value);
    inner->set("n", static_cast<Poco::Int64>(random()) - 1000000);
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array();
    list->add(value);
    list->add(std::string());
    auto expected = ordered();
    expected->set("inner", inner);
    expected->set("list", list);
    expected->set("empty", Poco::JSON::Array::Ptr(new Poco::JSON::Array()));
    expected->set("flag", round % 2 == 0);

    Writer out;
    out.beginObject();
    out.key("inner").beginObject().field("s", value).field("n", inner->getValue<Poco::Int64>("n")).endObject();
    out.key("list").strings({value, ""});
    out.key("empty").strings({});
    out.key("flag").boolean(round % 2 == 0);
    out.endObject();
    BOOST_REQUIRE_EQUAL(out.text(), pocoText(*expected));
  }
}

BOOST_AUTO_TEST_CASE(a_poco_value_is_written_as_poco_writes_it) {
  auto customer = ordered();
  customer->set("email", std::string("a@example.com"));
  customer->set("name", std::string("Zoë \"Z\""));
  Writer out;
  out.beginObject().field("before", "x").key("customer").var(customer).field("after", std::int64_t{2}).endObject();
  BOOST_CHECK_EQUAL(out.text(), R"({"before":"x","customer":{"email":"a@example.com","name":"Zoë \"Z\""},"after":2})");
}

BOOST_AUTO_TEST_CASE(authenticate_messages_render_as_poco_would) {
  auto legacy = test::legacyRequest();
  legacy.locale = "en_US";
  legacy.sessionIdentifier = "session\n1";
  test::legacy(legacy).clientSecret = "s3cret\"";
  legacy.receivedMessage.subtitle = "tab\there";
  auto v2 = test::v2Request();
  for (auto request : {legacy, v2}) {
    auto message = protocol::AuthenticateMessage::create(request);
    BOOST_REQUIRE(message.isOk());
    for (const std::string& text : {message->toJsonString(), message->toRedactedJsonString()}) {
      BOOST_CHECK_EQUAL(text, pocoRoundTrip(text));
    }
  }
  auto message = protocol::AuthenticateMessage::create(legacy);
  BOOST_CHECK(message->toJsonString().find(R"("clientSecret":"s3cret\"")") != std::string::npos);
  BOOST_CHECK(message->toRedactedJsonString().find(R"("clientSecret":"[redacted]")") != std::string::npos);
  BOOST_CHECK(message->toJsonString().rfind(R"({"id":")", 0) == 0);
}

// The order and the merge of an outcome's fields with a conclusion's, as the Poco tree had
// them: the outcome's first (but "event"), and a "flow" or "by" in both keeps the outcome's
// place with the conclusion's value.
BOOST_AUTO_TEST_CASE(a_conclusion_merges_its_outcome_as_before) {
  protocol::Outcome cancelled;
  cancelled.eventType = protocol::event::kCancelled;
  cancelled.flow = protocol::Flow::kLegacy;
  cancelled.cancelledBy = "customer";
  cancelled.agentMessage = "The customer cancelled.";
  service::ConclusionData data;
  data.outcome = cancelled;
  data.by = "agent";
  data.flow = "v2";
  data.providerId = "idp";
  data.tokenAvailable = false;
  const auto event = service::encodeEvent({service::EventType::kAuthCancelled, 1, "biz", "conv", "req", data});
  BOOST_CHECK_EQUAL(event.dataJson,
                    R"({"flow":"v2","by":"agent","agentMessage":"The customer cancelled.","providerId":"idp","tokenAvailable":false})");

  protocol::Outcome failed;
  failed.eventType = protocol::event::kFailed;
  failed.reason = "device_error";
  failed.deviceError = protocol::DeviceError{-3, "com.apple", "no \"network\""};
  failed.retryable = true;
  service::ConclusionData failure;
  failure.outcome = failed;
  failure.by = "reply";
  failure.detail = "x";
  const auto failedEvent = service::encodeEvent({service::EventType::kAuthFailed, 1, "biz", "conv", "req", failure});
  BOOST_CHECK_EQUAL(
      failedEvent.dataJson,
      R"({"reason":"device_error","deviceError":{"domain":"com.apple","code":-3,"message":"no \"network\""},"retryable":true,"alertOps":false,"by":"reply","detail":"x"})");
  BOOST_CHECK_EQUAL(failedEvent.dataJson, pocoRoundTrip(failedEvent.dataJson));
}

// A request's view: Poco would write the same text for it, stored message included.
BOOST_AUTO_TEST_CASE(a_request_view_is_what_poco_would_write) {
  auto message = protocol::AuthenticateMessage::create(test::legacyRequest());
  BOOST_REQUIRE(message.isOk());
  service::RequestState state;
  state.request.id = "id-1";
  state.request.requestIdentifier = "rid \"1\"";
  state.request.conversationId = "urn:mbid:conv\n";
  state.request.businessId = "biz";
  state.request.providerId = "idp";
  state.request.flow = "legacy";
  state.request.scopes = {"openid", "email"};
  state.request.status = "failed";
  state.request.statusReason = "device_error";
  state.request.createdAt = 1700000000123;
  state.request.updatedAt = 1700000000456;
  state.request.expiresAt = 1700000600000;
  state.request.messageJson = message->toRedactedJsonString();
  for (const auto& delivery : {std::optional<store::Delivery>(), std::optional<store::Delivery>(store::Delivery{})}) {
    state.delivery = delivery;
    if (state.delivery) {
      state.delivery->status = "failed";
      state.delivery->attempts = 3;
      state.delivery->lastHttpStatus = 503;
      state.delivery->lastError = "gateway \\ said no";
    }
    const std::string view = http::views::request(state);
    BOOST_CHECK_EQUAL(view, pocoRoundTrip(view));
    BOOST_CHECK(view.find(R"("createdAt":"2023-11-14T22:13:20.123Z")") != std::string::npos);
    BOOST_CHECK(view.find(state.delivery ? R"("delivery":{"status":"failed","attempts":3,"appleStatus":503,)"
                                         : R"("delivery":{"status":"not_requested"})") != std::string::npos);
  }
  state.request.messageJson = "not json";
  BOOST_CHECK_THROW(http::views::request(state), std::runtime_error);
}
