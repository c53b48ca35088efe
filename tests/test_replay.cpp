// Every inbound fixture replayed over HTTP to a real server, as `bcauth replay` does: the HTTP
// status and the one event each produces must be what fixtures/manifest.json documents.
#define BOOST_TEST_MODULE replay
#include <boost/test/unit_test.hpp>

#include "app/cli.h"
#include "app/replay.h"
#include "server_harness.h"
#include "test_support.h"

using namespace bcauth;
namespace bt = bcauth::test;

namespace {

app::ReplayOptions optionsFor(const bt::TestServer& server) {
  app::ReplayOptions options;
  options.server = "http://127.0.0.1:" + std::to_string(server.port());
  options.cspId = bt::kCspId;
  options.secret = bt::kAppleSecret;
  options.apiKey = bt::kApiKey;
  const auto keys = bt::readJsonObject(bt::kSourceDir + "/fixtures/keys.json");
  for (const auto& name : keys->getNames()) options.privateKeys.push_back(keys->getObject(name)->getValue<std::string>("privateKey"));
  return options;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_inbound_fixture_over_http) {
  bt::TestServer server;
  const auto options = optionsFor(server);
  const auto manifest = bt::readJsonObject(bt::kSourceDir + "/fixtures/manifest.json")->getArray("fixtures");
  int replayed = 0;
  for (std::size_t i = 0; i < manifest->size(); ++i) {
    const auto entry = manifest->getObject(static_cast<unsigned>(i));
    const std::string file = entry->getValue<std::string>("file");
    if (file.rfind("inbound/", 0) != 0) continue;
    const auto result = app::replayPayload(options, bt::readFile(bt::kSourceDir + "/fixtures/" + file));
    BOOST_TEST_CONTEXT(file << " (" << result.setup << ")") {
      if (entry->getValue<std::string>("parse") == "error") {
        BOOST_TEST(result.httpStatus == 400);
        BOOST_TEST(result.eventTypes.empty());
      } else {
        const auto outcome = entry->getObject("outcome");
        BOOST_TEST(result.httpStatus == 200);
        BOOST_REQUIRE_EQUAL(result.eventTypes.size(), 1u);
        BOOST_REQUIRE_EQUAL(result.reasons.size(), 1u);  // one reason per event, "" when none
        if (outcome->getValue<std::string>("event") == "auth.succeeded" && outcome->getValue<std::string>("flow") == "v2") {
          // Over HTTP only bcauth's own callback completes a v2 request; a device "success"
          // for a request the callback never completed proves nothing.
          BOOST_TEST(result.eventTypes[0] == "auth.rejected");
          BOOST_TEST(result.reasons[0] == "success_without_callback");
        } else {
          BOOST_TEST(result.eventTypes[0] == outcome->getValue<std::string>("event"));
          if (outcome->has("reason")) BOOST_TEST(result.reasons[0] == outcome->getValue<std::string>("reason"));
        }
      }
    }
    ++replayed;
  }
  BOOST_TEST(replayed >= 35);
}

BOOST_AUTO_TEST_CASE(the_replay_command) {
  bt::TestServer server;
  std::ostringstream out, err;
  const int code = app::runCli({"replay", "--server", "http://127.0.0.1:" + std::to_string(server.port()), "--csp-id",
                                bt::kCspId, "--secret", crypto::base64Encode(std::string_view(bt::kAppleSecret)),
                                "--api-key", bt::kApiKey, "--keys", bt::kSourceDir + "/fixtures/keys.json",
                                bt::kSourceDir + "/fixtures/inbound/legacy-success.json",
                                bt::kSourceDir + "/fixtures/inbound/legacy-failed-cryptor-2.json"},
                               out, err);
  BOOST_TEST(code == 0, err.str());
  BOOST_TEST(out.str().find("legacy-success.json: HTTP 200") != std::string::npos, out.str());
  BOOST_TEST(out.str().find("auth.succeeded") != std::string::npos);
  BOOST_TEST(out.str().find("auth.failed [configuration_error]") != std::string::npos);

  std::ostringstream out2, err2;
  BOOST_TEST(app::runCli({"replay", "--server", "http://127.0.0.1:1"}, out2, err2) == 2);
  BOOST_TEST(app::runCli({"replay", "--help"}, out2, err2) == 0);
}
