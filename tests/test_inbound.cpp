// The inbound parser: envelopes, both reply flows, both placements, and clear errors.
#define BOOST_TEST_MODULE inbound
#include <boost/test/unit_test.hpp>

#include "bcauth/protocol.h"

using namespace bcauth;
using namespace bcauth::protocol;

namespace {

std::string reply(const std::string& authenticate, const std::string& extraData = "",
                  const std::string& extraInteractive = "") {
  return R"({"id":"93527aa0-068b-48d6-8ad5-504ac906f429","type":"interactive","v":1,"sourceId":"urn:mbid:AQAAY4Yyh+/=",)"
         R"("destinationId":"b9159070-c454-4135-8bf3-049809624818","locale":"en_US","futureField":{"x":1},)"
         R"("interactiveData":{"bid":"b","sessionIdentifier":"sess-1",)" + extraInteractive +
         R"("data":{"requestIdentifier":"REQ-1","version":"1.0",)" + extraData + R"("authenticate":)" + authenticate + "}}}";
}

InboundMessage parseOk(const std::string& body) {
  auto m = parseInbound(body);
  BOOST_REQUIRE_MESSAGE(m.isOk(), m.status().toString());
  return *m;
}

void expectError(const std::string& body, const std::string& field) {
  auto m = parseInbound(body);
  BOOST_REQUIRE_MESSAGE(!m.isOk(), "parsed, expected an error naming " << field);
  BOOST_CHECK_EQUAL(m.status().field(), field);
}

}  // namespace

BOOST_AUTO_TEST_CASE(legacy_success_reply) {
  const auto m = parseOk(reply(R"({"status":"authenticated","token":"BPkAIU=="})",
                               R"("receivedMessage":{"title":"Sign in","style":"icon"},"replyMessage":{"title":"Done","alternateTitle":"Done!"},)"));
  BOOST_TEST(m.id == "93527aa0-068b-48d6-8ad5-504ac906f429");
  BOOST_TEST(m.sourceId == "urn:mbid:AQAAY4Yyh+/=");
  BOOST_TEST(*m.v == 1);
  BOOST_TEST(*m.locale == "en_US");
  BOOST_REQUIRE(m.authenticate);
  const auto& r = *m.authenticate;
  BOOST_TEST(r.requestIdentifier == "REQ-1");
  BOOST_TEST(r.status == "authenticated");
  BOOST_TEST(r.flow == Flow::kLegacy);
  BOOST_TEST(*r.token == "BPkAIU==");
  BOOST_TEST(*r.sessionIdentifier == "sess-1");
  BOOST_TEST(r.receivedMessage->title == "Sign in");
  BOOST_TEST(*r.replyMessage->alternateTitle == "Done!");
  // Unknown fields are kept, not fatal.
  BOOST_TEST(m.json->has("futureField"));
}

BOOST_AUTO_TEST_CASE(bubbles_beside_data_are_read_too) {
  const auto m = parseOk(reply(R"({"status":"failed"})", "", R"("receivedMessage":{"title":"Outside"},"replyMessage":{"title":"Out2"},)"));
  BOOST_TEST(m.authenticate->receivedMessage->title == "Outside");
  BOOST_TEST(m.authenticate->replyMessage->title == "Out2");
}

BOOST_AUTO_TEST_CASE(legacy_failure_with_errors) {
  const auto m = parseOk(reply(
      R"({"status":"failed","errors":[{"code":2,"domain":"com.apple.icloud.messages.business.cryptor","message":"Failed creating key"}]})"));
  BOOST_REQUIRE_EQUAL(m.authenticate->errors.size(), 1u);
  BOOST_TEST(m.authenticate->errors[0].code == 2);
  BOOST_TEST(m.authenticate->errors[0].domain == "com.apple.icloud.messages.business.cryptor");
  BOOST_TEST(m.authenticate->errors[0].message == "Failed creating key");
  BOOST_TEST(!m.authenticate->token);
}

BOOST_AUTO_TEST_CASE(v2_replies) {
  auto m = parseOk(reply(R"({"status":"success"})"));
  BOOST_TEST(m.authenticate->flow == Flow::kV2);
  m = parseOk(reply(R"({"status":"FAILURE","error_code":3})"));
  BOOST_TEST(m.authenticate->flow == Flow::kV2);
  BOOST_TEST(*m.authenticate->errorCode == 3);
  m = parseOk(reply(R"({"status":"failure","error_code":"4"})"));
  BOOST_TEST(*m.authenticate->errorCode == 4);
  m = parseOk(reply(R"({"status":"cancel"})"));
  BOOST_TEST(m.authenticate->flow == Flow::kV2);
  // The v2 status may be missing (spec §4.3): an error_code alone is a failure.
  m = parseOk(reply(R"({"error_code":3})"));
  BOOST_TEST(m.authenticate->flow == Flow::kV2);
  BOOST_TEST(m.authenticate->status == "failure");
  BOOST_TEST(*m.authenticate->errorCode == 3);
}

BOOST_AUTO_TEST_CASE(other_messages_have_no_reply) {
  auto m = parseOk(R"({"id":"1","type":"text","sourceId":"s","destinationId":"d","body":"Hello","intent":"billing","group":"g"})");
  BOOST_TEST(!m.authenticate);
  BOOST_TEST(*m.body == "Hello");
  BOOST_TEST(*m.intent == "billing");
  m = parseOk(R"({"id":"1","type":"interactive","sourceId":"s","destinationId":"d","interactiveDataRef":{"url":"https://x","bid":"b","size":12345}})");
  BOOST_REQUIRE(m.interactiveDataRef);
  BOOST_TEST(*m.interactiveDataRef->url == "https://x");
  BOOST_TEST(*m.interactiveDataRef->size == 12345);
  m = parseOk(R"({"id":"1","type":"interactive","sourceId":"s","destinationId":"d","interactiveData":{"data":{"listPicker":{}}}})");
  BOOST_TEST(!m.authenticate);
}

BOOST_AUTO_TEST_CASE(errors_name_the_field) {
  expectError(R"({"type":"text","sourceId":"s","destinationId":"d"})", "id");
  expectError(R"({"id":"1","sourceId":"s","destinationId":"d"})", "type");
  expectError(R"({"id":"1","type":"text","destinationId":"d"})", "sourceId");
  expectError(R"({"id":1,"type":"text","sourceId":"s","destinationId":"d"})", "id");
  expectError(R"({"id":"1","type":"text","sourceId":"s","destinationId":"d","v":"x"})", "v");
  expectError(R"({"id":"1","type":"interactive","sourceId":"s","destinationId":"d","interactiveData":[]})", "interactiveData");
  expectError(R"({"id":"1","type":"interactive","sourceId":"s","destinationId":"d","interactiveData":{"data":{"authenticate":{"status":"failed"}}}})",
              "interactiveData.data.requestIdentifier");
  expectError(reply(R"({"token":"x"})"), "interactiveData.data.authenticate.status");
  expectError(reply(R"("authenticated")"), "interactiveData.data.authenticate");
  expectError(reply(R"({"status":"failed","errors":{}})"), "interactiveData.data.authenticate.errors");
  expectError(reply(R"({"status":"failed","errors":[{"domain":"d","message":"m"}]})"), "interactiveData.data.authenticate.errors[0].code");
  expectError(reply(R"({"status":"failed","errors":[{"code":1,"message":"m"}]})"), "interactiveData.data.authenticate.errors[0].domain");
  expectError(reply(R"({"status":"failed","errors":[{"code":1,"domain":"d"}]})"), "interactiveData.data.authenticate.errors[0].message");
  expectError(reply(R"({"status":"failed","errors":["x"]})"), "interactiveData.data.authenticate.errors[0]");
  expectError(reply(R"({"status":"authenticated","token":42})"), "interactiveData.data.authenticate.token");
  expectError(reply(R"({"status":"failure","error_code":"three"})"), "interactiveData.data.authenticate.error_code");
  expectError(reply(R"({"status":"failed"})", R"("receivedMessage":"x",)"), "interactiveData.data.receivedMessage");
}

BOOST_AUTO_TEST_CASE(malformed_json_is_a_clear_error) {
  for (const char* bad : {"", "{", "[]", "\"text\"", "{\"id\":\"1\",}", "{\"id\":\"1\"} trailing", "\x1f\x8b\x08"}) {
    auto m = parseInbound(bad);
    BOOST_REQUIRE(!m.isOk());
    BOOST_TEST(m.status().code() == StatusCode::kInvalidArgument);
  }
  // Deep nesting is refused, not a stack overflow.
  std::string deep(100000, '[');
  BOOST_TEST(!parseInbound("{\"a\":" + deep).isOk());
}

BOOST_AUTO_TEST_CASE(capability_list_header) {
  const auto caps = parseCapabilityList(" quick, LIST ,time,auth,Auth2,,FORM,auth ");
  BOOST_TEST(caps == (std::vector<std::string>{"QUICK", "LIST", "TIME", "AUTH", "AUTH2", "FORM"}));
  BOOST_TEST(hasCapability(caps, "auth2"));
  BOOST_TEST(hasCapability(caps, "AUTH"));
  BOOST_TEST(!hasCapability(parseCapabilityList("AUTH2"), "AUTH"));
  BOOST_TEST(parseCapabilityList("").empty());
}

// Issue 13: the parser and schemas/inbound-message.schema.json agree on every envelope (the
// inbound fuzz target's oracle). v and interactiveDataRef.size are JSON integers as the schema
// says (not 1.0, not "1"); interactiveDataRef's fields are typed, its url not empty; v may be
// absent; interactiveData.data is an object.
BOOST_AUTO_TEST_CASE(the_envelope_is_read_as_the_schema_describes_it) {
  const std::string head = R"({"id":"1","type":"interactive","sourceId":"s","destinationId":"d")";
  BOOST_TEST(*parseOk(head + R"(,"v":1})").v == 1);
  BOOST_TEST(!parseOk(head + "}").v);
  expectError(head + R"(,"v":1.0})", "v");
  expectError(head + R"(,"v":"1"})", "v");
  expectError(head + R"(,"v":9223372036854775808})", "v");
  expectError(head + R"(,"interactiveDataRef":{"size":"12"}})", "interactiveDataRef.size");
  expectError(head + R"(,"interactiveDataRef":{"size":12.0}})", "interactiveDataRef.size");
  expectError(head + R"(,"interactiveDataRef":{"url":""}})", "interactiveDataRef.url");
  expectError(head + R"(,"interactiveDataRef":{"url":7}})", "interactiveDataRef.url");
  expectError(head + R"(,"interactiveDataRef":{"bid":false}})", "interactiveDataRef.bid");
  expectError(head + R"(,"interactiveDataRef":{"owner":7}})", "interactiveDataRef.owner");
  expectError(head + R"(,"interactiveDataRef":{"signature":[]}})", "interactiveDataRef.signature");
  expectError(head + R"(,"interactiveDataRef":{"key":{}}})", "interactiveDataRef.key");
  expectError(head + R"(,"interactiveData":{"data":[1]}})", "interactiveData.data");
  const auto ref = parseOk(head + R"(,"interactiveDataRef":{"url":"https://x","bid":"b","owner":"o","signature":"5e","key":"00ab","size":9223372036854775807}})");
  BOOST_REQUIRE(ref.interactiveDataRef);
  BOOST_TEST(*ref.interactiveDataRef->size == 9223372036854775807);
}
