// The JSON Schemas: compiled in unchanged, and every builder output validates.
#define BOOST_TEST_MODULE schemas
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include <Poco/JSON/Parser.h>

#include "bcauth/schema.h"
#include "request_factory.h"
#include "test_support.h"

using namespace bcauth;
using namespace bcauth::protocol;
using bcauth::test::legacy;
using bcauth::test::redirect;

namespace {
Poco::Dynamic::Var parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text);
}

void expectValid(const AuthenticateRequest& request) {
  auto message = AuthenticateMessage::create(request);
  BOOST_REQUIRE_MESSAGE(message.isOk(), message.status().toString());
  const auto payload = parse(message->toJsonString());
  BOOST_TEST(detectSchema(payload) == SchemaKind::kAuthenticateRequest);
  const auto violations = validateSchema(SchemaKind::kAuthenticateRequest, payload);
  BOOST_CHECK_MESSAGE(violations.empty(), message->toJsonString() << "\n"
                                              << (violations.empty() ? "" : violations.front().pointer + ": " +
                                                                                   violations.front().message));
}
}  // namespace

BOOST_AUTO_TEST_CASE(embedded_schemas_match_the_files) {
  for (auto kind : {SchemaKind::kAuthenticateRequest, SchemaKind::kAuthenticateReply, SchemaKind::kInboundMessage}) {
    const std::string path = bcauth::test::kSourceDir + "/schemas/" + std::string(schemaName(kind)) + ".schema.json";
    BOOST_TEST(std::string(schemaText(kind)) == bcauth::test::readFile(path));
    BOOST_TEST((schemaKindFromName(schemaName(kind)) == kind));
  }
  BOOST_TEST(!schemaKindFromName("nope"));
}

BOOST_AUTO_TEST_CASE(every_builder_output_validates) {
  expectValid(bcauth::test::legacyRequest());
  expectValid(bcauth::test::v2Request());
  for (int i = 0; i < 50; ++i) {
    auto r = (i % 2 == 0) ? bcauth::test::legacyRequest() : bcauth::test::v2Request();
    r.id = crypto::randomUuid();
    r.requestIdentifier = crypto::randomUuid();
    if (i % 3 == 0) {
      r.images.push_back({"1", "iVBORw0KGgo=", std::string("logo")});
      r.receivedMessage.imageIdentifier = "1";
      r.receivedMessage.style = (i % 4 == 0) ? "large" : "small";
      r.replyMessage.subtitle = "sub";
      r.locale = "en_US";
      r.sessionIdentifier = "s-" + std::to_string(i);
    }
    if (i % 5 == 0) std::visit([](auto& o) { o.responseType = "token"; }, r.oauth2);
    if (i % 2 == 0) {
      if (i % 4 == 0) legacy(r).state.reset();
      if (i % 8 == 0) legacy(r).clientSecret.reset();
    } else {
      redirect(r).state = crypto::randomUrlToken(16);
      if (i % 3 == 0) redirect(r).additionalParameters.reset();
      if (i % 7 == 0) r.version = "2.0";
    }
    expectValid(r);
  }
}

BOOST_AUTO_TEST_CASE(detects_the_matching_schema) {
  BOOST_TEST(detectSchema(parse(R"({"interactiveData":{"data":{"authenticate":{"status":"failed"}}}})")) ==
             SchemaKind::kAuthenticateReply);
  BOOST_TEST(detectSchema(parse(R"({"type":"text"})")) == SchemaKind::kInboundMessage);
  BOOST_TEST(detectSchema(parse(R"([1,2])")) == SchemaKind::kInboundMessage);
}

BOOST_AUTO_TEST_CASE(violations_carry_json_pointers) {
  const auto violations = validateSchema(SchemaKind::kInboundMessage, parse(R"({"id":"x","type":"text"})"));
  BOOST_REQUIRE(!violations.empty());
  BOOST_TEST(violations.front().pointer == "");
  BOOST_TEST(!violations.front().message.empty());
}

BOOST_AUTO_TEST_CASE(huge_tokens_do_not_crash_validation) {
  // valijson evaluates patterns with std::regex; the schemas avoid patterns that recurse per
  // character on long values, so a 4 MiB token is an ordinary violation-free check.
  const std::string token(4 << 20, 'A');
  const std::string body = R"({"id":"1","type":"interactive","v":1,"sourceId":"s","destinationId":"d","interactiveData":{"data":{"requestIdentifier":"r","authenticate":{"status":"authenticated","token":")" +
                           token + R"("}}}})";
  const auto violations = validateSchema(SchemaKind::kAuthenticateReply, parse(body));
  BOOST_TEST(violations.empty());
}

// The id rules (issue 13: the schemas say what the parser accepts) are a bounded repetition, so
// a 4 MiB id is refused without std::regex recursing once per character.
BOOST_AUTO_TEST_CASE(huge_ids_do_not_crash_validation) {
  const std::string huge(4 << 20, 'a');
  for (const auto kind : {SchemaKind::kInboundMessage, SchemaKind::kAuthenticateReply}) {
    const std::string body = R"({"id":")" + huge + R"(","type":"interactive","v":1,"sourceId":"s","destinationId":"d",)" +
                             R"("interactiveData":{"data":{"requestIdentifier":"r","authenticate":{"status":"failed"}}}})";
    const auto violations = validateSchema(kind, parse(body));
    BOOST_REQUIRE(!violations.empty());
    BOOST_TEST(violations.front().pointer == "/id");
  }
  // And the rules themselves: bcauth's id characters, not . or .., at most 256.
  const std::vector<std::string> bad = {"m id", ".", "..", "a\\nb", std::string(257, 'a')};
  for (const std::string& id : bad) {
    BOOST_TEST(!validateSchema(SchemaKind::kInboundMessage,
                               parse(R"({"id":")" + id + R"(","type":"text","sourceId":"s","destinationId":"d"})"))
                    .empty(),
               id);
  }
  const std::vector<std::string> good = {"urn:mbid:AQAAY4Yyh+/=", "...", "a.b", std::string(256, 'a')};
  for (const std::string& id : good) {
    BOOST_TEST(validateSchema(SchemaKind::kInboundMessage,
                              parse(R"({"id":")" + id + R"(","type":"text","sourceId":"s","destinationId":"d"})"))
                   .empty(),
               id);
  }
}
