// Two `bcauth serve` processes on one PostgreSQL database, as operators run them behind a load
// balancer: a request created through one completes through the other, and one reply delivered
// to both at once succeeds exactly once; an event written through one reaches the other's
// readers within a second. Needs BCAUTH_TEST_POSTGRES_URL (scripts/with-postgres).
#define BOOST_TEST_MODULE multi_process
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "clients/apple_gateway.h"
#include "clients/http_call.h"
#include "postgres_database.h"
#include "process_harness.h"

using namespace bcauth;

namespace {

// Both instances share the database (and so the master key); each has its own data directory.
class Instance : public test::ServeProcess {
 public:
  Instance(const std::string& databaseUrl, const std::string& masterKey, std::map<std::string, std::string> env = {})
      : ServeProcess(test::freshTempDir(), masterKey, withDatabase(std::move(env), databaseUrl)) {}

 private:
  static std::map<std::string, std::string> withDatabase(std::map<std::string, std::string> env, const std::string& url) {
    env["BCAUTH_DATABASE_URL"] = url;
    return env;
  }
};

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

using Clock = std::chrono::steady_clock;

double millisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The value of a gauge in the instance's /metrics.
long gauge(const Instance& instance, const std::string& name) {
  const std::string text = instance.api("GET", "/metrics").body;
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stol(text.substr(at + name.size() + 2));
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_processes_share_the_work, BCAUTH_NEEDS_POSTGRES) {
  const std::string url = test::freshPostgresDatabase();
  const std::string masterKey = crypto::base64Encode(crypto::randomBytes(32));
  Instance a(url, masterKey);
  Instance b(url, masterKey);
  BOOST_REQUIRE_EQUAL(a.api("PUT", "/v1/providers/idp",
                            R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t","clientId":"c","scopes":["openid"]})")
                          .status,
                      200);
  const auto created = a.api("POST", "/v1/auth-requests",
                             R"({"conversationId":"urn:mbid:procs","businessId":"biz","providerId":"idp","flow":"legacy"})");
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  const auto request = parse(created.body);
  const std::string key = request->getObject("message")->getObject("interactiveData")->getObject("data")
                              ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("responseEncryptionKey");
  const std::string token = crypto::encrypt(crypto::PublicKey::fromBase64(key).value(), "two-processes").value();
  const std::string reply = R"({"id":")" + crypto::randomUuid() +
                            R"(","type":"interactive","sourceId":"urn:mbid:procs","destinationId":"biz","interactiveData":{"data":{"requestIdentifier":")" +
                            request->getValue<std::string>("requestIdentifier") +
                            R"(","authenticate":{"status":"authenticated","token":")" + token + R"("}}}})";
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 30; ++i) {
    threads.emplace_back([&, i] {
      if ((i % 2 ? a : b).deliver(reply).status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(ok.load() == 30);
  const auto events = parse(b.api("GET", "/v1/events?limit=1000").body)->getArray("events");
  int succeeded = 0;
  for (std::size_t i = 0; i < events->size(); ++i) succeeded += events->getObject(static_cast<unsigned>(i))->getValue<std::string>("type") == "auth.succeeded";
  BOOST_TEST(succeeded == 1);
  const auto fromB = b.api("GET", "/v1/auth-requests/" + request->getValue<std::string>("id") + "/token");
  BOOST_REQUIRE_EQUAL(fromB.status, 200);
  BOOST_TEST(parse(fromB.body)->getValue<std::string>("accessToken") == "two-processes");
  BOOST_TEST(a.stop() == 0);
  BOOST_TEST(b.stop() == 0);
}

// Issue 12 §9: A's event stream and A's long-poll see a message Apple posted to B within a
// second. A re-reads the store only every 60 s here, so the wake can only come from B's commit
// (LISTEN/NOTIFY); before, A's readers slept until their own deadline (15 s, waitSeconds).
BOOST_AUTO_TEST_CASE(readers_on_one_instance_see_events_written_through_the_other, BCAUTH_NEEDS_POSTGRES) {
  const std::string url = test::freshPostgresDatabase();
  const std::string masterKey = crypto::base64Encode(crypto::randomBytes(32));
  Instance a(url, masterKey, {{"BCAUTH_EVENTS_RECHECK_MS", "60000"}});
  Instance b(url, masterKey);

  Poco::Net::HTTPClientSession stream("127.0.0.1", a.port());
  stream.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest request("GET", "/v1/events/stream", Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("Authorization", "Bearer " + test::kProcessApiKey);
  stream.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = stream.receiveResponse(response);
  BOOST_REQUIRE_EQUAL(response.getStatus(), Poco::Net::HTTPResponse::HTTP_OK);

  constexpr int kRounds = 5;
  std::vector<double> streamMs, pollMs;
  std::int64_t after = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto poll = std::async(std::launch::async, [&a, after] {
      return a.api("GET", "/v1/events?after=" + std::to_string(after) + "&waitSeconds=20");
    });
    // Both readers hold their slot (the stream since its first line) before B commits.
    for (int i = 0; i < 2000 && gauge(a, "bcauth_long_polls_open") < 2; ++i) std::this_thread::yield();
    BOOST_REQUIRE_EQUAL(gauge(a, "bcauth_long_polls_open"), 2);

    const auto posted = Clock::now();
    const std::string message = R"({"id":")" + crypto::randomUuid() +
                                R"(","type":"text","sourceId":"urn:mbid:feed","destinationId":"biz","body":"hello"})";
    BOOST_REQUIRE_EQUAL(b.deliver(message).status, 200);
    std::int64_t seen = 0;
    for (std::string line; seen == 0 && std::getline(in, line);) {
      if (line.rfind("id: ", 0) == 0) seen = std::stoll(line.substr(4));
    }
    streamMs.push_back(millisSince(posted));
    const auto polled = poll.get();
    pollMs.push_back(millisSince(posted));
    BOOST_REQUIRE_EQUAL(polled.status, 200);
    const auto events = parse(polled.body)->getArray("events");
    BOOST_REQUIRE_EQUAL(events->size(), 1u);
    BOOST_TEST(seen == events->getObject(0)->getValue<std::int64_t>("seq"));
    BOOST_TEST(events->getObject(0)->getValue<std::string>("type") == "message.received");
    after = seen;
  }
  // One second is the promise; three keeps a loaded CI machine from failing it.
  const double worstStream = *std::max_element(streamMs.begin(), streamMs.end());
  const double worstPoll = *std::max_element(pollMs.begin(), pollMs.end());
  BOOST_TEST(worstStream < 3000.0);
  BOOST_TEST(worstPoll < 3000.0);
  std::ostringstream report;
  report << "B's POST /message → A's reader (ms, " << kRounds << " rounds): stream";
  for (double ms : streamMs) report << ' ' << ms;
  report << "; long-poll";
  for (double ms : pollMs) report << ' ' << ms;
  BOOST_TEST_MESSAGE(report.str());
  stream.reset();
  BOOST_TEST(a.stop() == 0);
  BOOST_TEST(b.stop() == 0);
}
