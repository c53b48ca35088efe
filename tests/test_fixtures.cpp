// Every fixture in fixtures/manifest.json: schema verdict, parser verdict and the outcome
// bcauth maps it to, decrypting legacy tokens with the key the manifest names.
#define BOOST_TEST_MODULE fixtures
#include <boost/test/unit_test.hpp>

#include <set>

#include <Poco/File.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "bcauth/crypto.h"
#include "bcauth/outcome.h"
#include "bcauth/protocol.h"
#include "bcauth/schema.h"
#include "test_support.h"

using namespace bcauth;
namespace bt = bcauth::test;

namespace {

const std::string kFixtures = bt::kSourceDir + "/fixtures/";

struct Manifest {
  Poco::JSON::Object::Ptr keys = bt::readJsonObject(kFixtures + "keys.json");
  Poco::JSON::Array::Ptr fixtures = bt::readJsonObject(kFixtures + "manifest.json")->getArray("fixtures");
};

const Manifest& manifest() {
  static const Manifest m;
  return m;
}

std::string str(const Poco::JSON::Object::Ptr& o, const std::string& key, const std::string& fallback = "") {
  return o->has(key) ? o->getValue<std::string>(key) : fallback;
}

void checkSchema(const Poco::JSON::Object::Ptr& entry, const std::string& text) {
  const std::string file = str(entry, "file");
  const auto kind = protocol::schemaKindFromName(str(entry, "schema"));
  BOOST_REQUIRE_MESSAGE(kind, file << ": unknown schema " << str(entry, "schema"));
  const bool expectValid = entry->getValue<bool>("schemaValid");
  Poco::Dynamic::Var payload;
  try {
    Poco::JSON::Parser parser;
    payload = parser.parse(text);
  } catch (const Poco::Exception&) {
    BOOST_CHECK_MESSAGE(!expectValid, file << ": not JSON but the manifest says valid");
    return;
  }
  const auto violations = protocol::validateSchema(*kind, payload);
  if (expectValid) {
    BOOST_CHECK_MESSAGE(violations.empty(), file << ": " << (violations.empty() ? "" : violations.front().pointer + " " +
                                                                                          violations.front().message));
    return;
  }
  BOOST_REQUIRE_MESSAGE(!violations.empty(), file << ": expected a schema violation, got none");
  const std::string pointer = str(entry, "schemaPointer");
  const std::string mentions = str(entry, "schemaMentions");
  bool found = false;
  for (const auto& v : violations) {
    const std::string last = v.pointer.substr(v.pointer.rfind('/') + 1);
    if (v.pointer == pointer && (v.message.find(mentions) != std::string::npos || last == mentions)) found = true;
  }
  BOOST_CHECK_MESSAGE(found, file << ": no violation at " << pointer << " mentioning " << mentions << "; first: "
                                  << violations.front().pointer << " " << violations.front().message);
}

void checkInbound(const Poco::JSON::Object::Ptr& entry, const std::string& text) {
  const std::string file = str(entry, "file");
  auto message = protocol::parseInbound(text);
  if (str(entry, "parse") == "error") {
    BOOST_REQUIRE_MESSAGE(!message.isOk(), file << ": parsed but the manifest says it must not");
    BOOST_CHECK_EQUAL(message.status().field(), str(entry, "parseField"));
    return;
  }
  BOOST_REQUIRE_MESSAGE(message.isOk(), file << ": " << message.status().toString());
  const auto expected = entry->getObject("outcome");
  BOOST_REQUIRE_MESSAGE(expected, file << ": manifest has no outcome");

  bool decrypted = false;
  std::optional<std::string> plaintext;
  if (message->authenticate && message->authenticate->token && entry->has("key")) {
    const auto keyEntry = manifest().keys->getObject(str(entry, "key"));
    auto key = crypto::PrivateKey::fromText(keyEntry->getValue<std::string>("privateKey"));
    BOOST_REQUIRE(key.isOk());
    BOOST_REQUIRE_EQUAL(key->publicKey().toBase64(), keyEntry->getValue<std::string>("publicKey"));
    auto opened = crypto::decrypt(*key, *message->authenticate->token);
    decrypted = opened.isOk();
    if (decrypted) plaintext = std::string(opened->view());
  }
  const auto outcome = protocol::outcomeForMessage(*message, decrypted);
  BOOST_TEST_CONTEXT(file) {
    BOOST_CHECK_EQUAL(outcome.eventType, str(expected, "event"));
    if (expected->has("reason")) BOOST_CHECK_EQUAL(outcome.reason, str(expected, "reason"));
    if (expected->has("retryable")) BOOST_CHECK_EQUAL(outcome.retryable, expected->getValue<bool>("retryable"));
    if (expected->has("alertOps")) BOOST_CHECK_EQUAL(outcome.alertOps, expected->getValue<bool>("alertOps"));
    if (expected->has("flow")) {
      BOOST_REQUIRE(outcome.flow);
      BOOST_CHECK_EQUAL(std::string(protocol::toString(*outcome.flow)), str(expected, "flow"));
    }
    if (expected->has("plaintext")) {
      BOOST_REQUIRE(plaintext);
      BOOST_CHECK_EQUAL(*plaintext, str(expected, "plaintext"));
    }
    if (expected->has("deviceError")) {
      const auto error = expected->getObject("deviceError");
      BOOST_REQUIRE(outcome.deviceError);
      BOOST_CHECK_EQUAL(outcome.deviceError->domain, str(error, "domain"));
      BOOST_CHECK_EQUAL(outcome.deviceError->code, error->getValue<std::int64_t>("code"));
    }
    if (expected->has("by")) BOOST_CHECK_EQUAL(outcome.cancelledBy, str(expected, "by"));
    if (expected->has("type")) BOOST_CHECK_EQUAL(outcome.messageType, str(expected, "type"));
    if (expected->has("interactiveDataRef")) BOOST_CHECK(outcome.interactiveDataRef);
    // Agent and customer messages are always there for failures: the desk has something to show.
    if (outcome.eventType == "auth.failed") BOOST_CHECK(!outcome.agentMessage.empty() && !outcome.customerMessage.empty());
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_fixture_behaves_as_documented) {
  int count = 0;
  for (const auto& item : *manifest().fixtures) {
    const auto entry = item.extract<Poco::JSON::Object::Ptr>();
    const std::string file = str(entry, "file");
    const std::string text = bt::readFile(kFixtures + file);
    checkSchema(entry, text);
    if (file.rfind("inbound/", 0) == 0) checkInbound(entry, text);
    ++count;
  }
  BOOST_TEST_MESSAGE(count << " fixtures checked");
  BOOST_TEST(count >= 50);
}

BOOST_AUTO_TEST_CASE(every_fixture_file_is_in_the_manifest) {
  std::set<std::string> listed;
  for (const auto& item : *manifest().fixtures) listed.insert(str(item.extract<Poco::JSON::Object::Ptr>(), "file"));
  for (const auto& dir : {"outbound", "outbound/invalid", "inbound", "inbound/malformed", "inbound/other"}) {
    Poco::File folder(kFixtures + dir);
    std::vector<std::string> names;
    folder.list(names);
    for (const auto& name : names) {
      if (Poco::File(kFixtures + dir + "/" + name).isFile()) {
        BOOST_CHECK_MESSAGE(listed.count(std::string(dir) + "/" + name) == 1, dir << "/" << name << " is not in manifest.json");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(fixture_keys_are_consistent) {
  for (const auto& name : manifest().keys->getNames()) {
    const auto entry = manifest().keys->getObject(name);
    auto key = crypto::PrivateKey::fromText(entry->getValue<std::string>("privateKey"));
    BOOST_REQUIRE(key.isOk());
    BOOST_TEST(key->publicKey().toBase64() == entry->getValue<std::string>("publicKey"));
  }
}
