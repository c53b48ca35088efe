// Input bounds (issue 12, sections 5 and 6) as pure functions: UTF-8 repair and bounded foreign
// text, the id rules, the JSON parse every body goes through (duplicate keys), and the gzip check.
#define BOOST_TEST_MODULE input_bounds
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "bcauth/protocol.h"
#include "http/body.h"
#include "protocol/ids.h"
#include "protocol/json_util.h"
#include "protocol/text.h"
#include "test_support.h"

using namespace bcauth;
namespace ids = bcauth::protocol::ids;

namespace {

const std::string kFffd = "\xEF\xBF\xBD";

// A status that names the field and whose message does not quote the value.
void expectRefused(const Status& status, const std::string& field, const std::string& value) {
  BOOST_TEST(!status.isOk());
  BOOST_TEST(status.code() == StatusCode::kInvalidArgument);
  BOOST_TEST(status.field() == field);
  if (value.size() > 2) BOOST_TEST(status.message().find(value) == std::string::npos);
}

}  // namespace

// --- UTF-8 -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(valid_utf8_passes_unchanged) {
  for (const std::string text : {"", "plain", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x94\x91 key", "\xF4\x8F\xBF\xBF"}) {
    BOOST_TEST(protocol::isValidUtf8(text));
    BOOST_TEST(protocol::toValidUtf8(text) == text);
  }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_replacement_characters) {
  const std::pair<std::string, std::string> cases[] = {
      {"\xFF", kFffd},                                     // never valid
      {"a\x80z", "a" + kFffd + "z"},                       // stray continuation byte
      {"\xC0\x80", kFffd + kFffd},                         // overlong NUL
      {"\xE0\x80\xAF", kFffd + kFffd + kFffd},             // overlong '/'
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},             // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd}, // above U+10FFFF
      {"ok\xE2\x82", "ok" + kFffd + kFffd},                // cut short
      {"unexpected byte '\xFF'", "unexpected byte '" + kFffd + "'"},
  };
  for (const auto& [in, out] : cases) {
    BOOST_TEST(!protocol::isValidUtf8(in));
    BOOST_TEST(protocol::toValidUtf8(in) == out);
    BOOST_TEST(protocol::isValidUtf8(protocol::toValidUtf8(in)));
  }
}

BOOST_AUTO_TEST_CASE(foreign_text_is_bounded_and_has_no_control_characters) {
  BOOST_TEST(protocol::boundedText("invalid_grant") == "invalid_grant");
  BOOST_TEST(protocol::boundedText("line1\nline2\r\x1b[31m\x7f") == "line1 line2  [31m ");
  BOOST_TEST(protocol::boundedText("a\xC2\x85" "b") == "a b");                    // C1 NEL
  BOOST_TEST(protocol::boundedText("\xE2\x80\xAE" "evil") == " evil");            // RIGHT-TO-LEFT OVERRIDE
  BOOST_TEST(protocol::boundedText("bad\xFF") == "bad" + kFffd);
  const std::string longText(1000, 'x');
  const std::string bounded = protocol::boundedText(longText);
  BOOST_TEST(bounded == std::string(protocol::kMaxForeignTextChars, 'x') + "\xE2\x80\xA6");
  // Counted in characters, never cut inside one.
  std::string accents;
  for (int i = 0; i < 300; ++i) accents += "\xC3\xA9";
  const std::string cut = protocol::boundedText(accents, 10);
  BOOST_TEST(cut.size() == 10 * 2 + 3);
  BOOST_TEST(protocol::isValidUtf8(cut));
}

// --- ids ---------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(apples_opaque_ids_are_valid_conversation_ids) {
  BOOST_TEST(ids::checkConversationId(
                 "urn:mbid:AQAAY8/8qxiGhkTvUhq7V0ouHfsh7+RHoZNniWV9opJizR9XU11maSQUtU/Pz3xYcslB+gKwWl3hkyNLKUU=")
                 .isOk());
  BOOST_TEST(ids::checkBusinessId("b9159070-c454-4135-8bf3-049809624818").isOk());
  BOOST_TEST(ids::checkAppleMessageId("0161a14d-f7dd-4d91-9fc4-1abde0b36b12").isOk());
  // Every id in the recorded inbound fixtures passes the rules parseInbound applies.
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(test::kSourceDir + "/fixtures/inbound")) {
    if (entry.path().extension() != ".json") continue;
    Poco::JSON::Object::Ptr message;
    try {
      message = test::readJsonObject(entry.path().string());
    } catch (const std::exception&) {
      continue;
    }
    BOOST_TEST_CONTEXT(entry.path().filename().string()) {
      if (message->has("sourceId")) BOOST_TEST(ids::checkConversationId(message->getValue<std::string>("sourceId")).isOk());
      if (message->has("destinationId")) BOOST_TEST(ids::checkBusinessId(message->getValue<std::string>("destinationId")).isOk());
      if (message->has("id")) BOOST_TEST(ids::checkAppleMessageId(message->getValue<std::string>("id")).isOk());
    }
    ++checked;
  }
  BOOST_TEST(checked > 10);
}

BOOST_AUTO_TEST_CASE(ids_have_a_maximum_length) {
  BOOST_TEST(ids::checkConversationId(std::string(ids::kOpaqueId.maxLength, 'a')).isOk());
  expectRefused(ids::checkConversationId(std::string(ids::kOpaqueId.maxLength + 1, 'a')), "conversationId",
                std::string(ids::kOpaqueId.maxLength + 1, 'a'));
  expectRefused(ids::checkConversationId(std::string(100000, 'c')), "conversationId", std::string(100000, 'c'));
  BOOST_TEST(ids::checkProviderId(std::string(128, 'p')).isOk());
  expectRefused(ids::checkProviderId(std::string(129, 'p')), "providerId", std::string(129, 'p'));
  expectRefused(ids::checkWebhookId(std::string(129, 'w')), "webhookId", std::string(129, 'w'));
  expectRefused(ids::checkAuthRequestId(std::string(129, 'r')), "authRequestId", std::string(129, 'r'));
  BOOST_TEST(ids::checkIdempotencyKey(std::string(200, 'k')).isOk());
  expectRefused(ids::checkIdempotencyKey(std::string(201, 'k')), "Idempotency-Key", std::string(201, 'k'));
  for (const auto& status : {ids::checkConversationId(""), ids::checkProviderId(""), ids::checkIdempotencyKey("")}) {
    BOOST_TEST(!status.isOk());
  }
}

BOOST_AUTO_TEST_CASE(dot_dot_nul_and_control_characters_are_refused) {
  const std::string bad[] = {".", "..", std::string("a\0b", 3), "a\nb", "tab\there", "del\x7f", "sp ace", "caf\xC3\xA9",
                             "\xFF", std::string(1, '\0')};
  for (const auto& value : bad) {
    BOOST_TEST_CONTEXT(protocol::toValidUtf8(value)) {
      expectRefused(ids::checkConversationId(value), "conversationId", value);
      expectRefused(ids::checkBusinessId(value), "businessId", value);
      expectRefused(ids::checkAppleMessageId(value), "id", value);
      expectRefused(ids::checkProviderId(value), "providerId", value);
      expectRefused(ids::checkWebhookId(value), "webhookId", value);
      expectRefused(ids::checkAuthRequestId(value), "authRequestId", value);
      expectRefused(ids::checkIdempotencyKey(value), "Idempotency-Key", value);
    }
  }
  // Dots inside an id are fine; only the path names "." and ".." are refused.
  BOOST_TEST(ids::checkProviderId("idp.example").isOk());
  BOOST_TEST(ids::checkConversationId("...").isOk());
  // Resource ids are URL-unreserved; opaque ids also take Base64's + / = and a URN's :.
  BOOST_TEST(!ids::checkProviderId("a/b").isOk());
  BOOST_TEST(!ids::checkWebhookId("a:b").isOk());
  BOOST_TEST(ids::checkConversationId("urn:mbid:a/b+c=").isOk());
  BOOST_TEST(ids::checkIdempotencyKey("order-42/retry#1").isOk());
}

// --- the JSON parse of every body ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_duplicate_key_is_refused_at_any_depth) {
  for (const std::string body : {R"({"a":1,"a":2})", R"({"a":1,"b":{"c":1,"c":1}})", R"({"a":[{"x":1},{"y":1,"y":2}]})",
                                 R"({"name":"a","name":"a"})"}) {
    BOOST_TEST_CONTEXT(body) {
      auto parsed = protocol::json::parseObject(body);
      BOOST_REQUIRE(!parsed);
      BOOST_TEST(parsed.status().code() == StatusCode::kInvalidArgument);
      BOOST_TEST(parsed.status().message().find("same key twice") != std::string::npos);
    }
  }
  // The same key in different objects is not a duplicate.
  BOOST_TEST(protocol::json::parseObject(R"({"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]})").isOk());
}

BOOST_AUTO_TEST_CASE(a_duplicate_key_in_apples_payload_is_refused) {
  const std::string message = R"({"id":"m-1","type":"text","v":1,"sourceId":"urn:mbid:x","destinationId":"biz",)"
                              R"("sourceId":"urn:mbid:y","body":"hi"})";
  auto parsed = protocol::parseInbound(message);
  BOOST_REQUIRE(!parsed);
  BOOST_TEST(parsed.status().message().find("same key twice") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parse_errors_quote_no_input_byte_and_no_parser_internals) {
  for (const std::string body : {"[1,2", "\x80", "{\"a\":\xFF}", "1", "\"text\"", "{\"a\":", "", "{\"a\":1} trailing",
                                 "{\"a\":\"\\ud800\"}"}) {
    BOOST_TEST_CONTEXT(protocol::toValidUtf8(body)) {
      auto parsed = protocol::json::parseObject(body);
      BOOST_REQUIRE(!parsed);
      const std::string& message = parsed.status().message();
      BOOST_TEST(protocol::isValidUtf8(message));
      BOOST_TEST(message.find("stack") == std::string::npos);
      BOOST_TEST(message.find('\'') == std::string::npos);  // Poco quotes the offending byte in '...'
    }
  }
  BOOST_TEST(protocol::json::parseObject("1").status().message() == "the body must be a JSON object");
  BOOST_TEST(protocol::json::parseObject("[1,2").status().message() == "the body must be a JSON object");
  BOOST_TEST(protocol::json::parseObject("{\"a\":").status().message().find("malformed JSON") == 0u);
}

BOOST_AUTO_TEST_CASE(apples_ids_follow_the_rules) {
  const auto inbound = [](const std::string& id, const std::string& source, const std::string& destination) {
    return protocol::parseInbound(R"({"id":")" + id + R"(","type":"text","v":1,"sourceId":")" + source +
                                  R"(","destinationId":")" + destination + R"(","body":"hi"})");
  };
  BOOST_TEST(inbound("m-1", "urn:mbid:AQAAY4Yyh+/=", "b9159070-c454-4135-8bf3-049809624818").isOk());
  const auto refused = [](const Result<protocol::InboundMessage>& parsed, const std::string& field) {
    BOOST_REQUIRE(!parsed);
    BOOST_TEST(parsed.status().field() == field);
  };
  refused(inbound("m-1", std::string(300, 'c'), "biz"), "sourceId");
  refused(inbound("m-1", "..", "biz"), "sourceId");
  refused(inbound("m-1", "urn:mbid:a\\u0000b", "biz"), "sourceId");
  refused(inbound("m\\n1", "urn:mbid:a", "biz"), "id");
  refused(inbound(std::string(300, 'm'), "urn:mbid:a", "biz"), "id");
  refused(inbound("m-1", "urn:mbid:a", "."), "destinationId");
}

// --- gzip ----------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gzip_must_be_exactly_one_complete_member) {
  const std::string json = R"({"id":"m-1"})";
  const std::string gz = http::gzip(json);
  std::string body = gz;
  BOOST_TEST((http::inflateIfGzip(body, 1 << 20) == http::BodyError::kNone));
  BOOST_TEST(body == json);

  const std::string bad[] = {gz + "trailing", gz + std::string(1, '\0'), gz + gz, gz.substr(0, gz.size() - 1),
                             gz.substr(0, 10), std::string("\x1f\x8b", 2), std::string("\x1f\x8b\x08garbage", 10)};
  for (const auto& candidate : bad) {
    BOOST_TEST_CONTEXT("size " << candidate.size()) {
      std::string copy = candidate;
      BOOST_TEST((http::inflateIfGzip(copy, 1 << 20) == http::BodyError::kBadGzip));
      BOOST_TEST(copy == candidate);  // left as it was
    }
  }
  // Not gzip at all: left alone for the JSON parser to judge.
  std::string plain = json;
  BOOST_TEST((http::inflateIfGzip(plain, 1 << 20) == http::BodyError::kNone));
  BOOST_TEST(plain == json);
  // A bomb still stops at the cap.
  std::string bomb = http::gzip(std::string(100000, 'a'));
  BOOST_TEST((http::inflateIfGzip(bomb, 4096) == http::BodyError::kTooLarge));
}
