// Crash safety: `bcauth serve` is killed with SIGKILL in the middle of a burst of creates and
// replies, then started again on the same data directory. Every request that was answered 201
// exists; every reply that was answered 200 is reflected in exactly one event (also after Apple
// redelivers every reply, answered or not); no private key outlives its request.
#define BOOST_TEST_MODULE crash_safety
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/JSON/Parser.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "process_harness.h"

using namespace bcauth;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

struct Tracked {
  std::string id, requestIdentifier, conversationId, reply;
  bool replySent = false;
  bool replyAccepted = false;  // answered 200 before the crash
};

const std::map<std::string, std::string> kEnv = {{"BCAUTH_RATE_LIMIT_PER_KEY", "0"},
                                                 {"BCAUTH_RATE_LIMIT_PER_CONVERSATION", "0"},
                                                 {"BCAUTH_KEY_POOL_SIZE", "16"}};

std::string legacyReply(const Tracked& t, const std::string& token) {
  return R"({"id":")" + crypto::randomUuid() + R"(","type":"interactive","sourceId":")" + t.conversationId +
         R"(","destinationId":"biz","interactiveData":{"data":{"requestIdentifier":")" + t.requestIdentifier +
         R"(","authenticate":{"status":"authenticated","token":")" + token + R"("}}}})";
}

// One worker of the burst: create, then (every other request) reply, until the server dies.
// Boost.Test's assertions are not thread-safe: a worker records what went wrong instead.
void burst(const test::ServeProcess& server, int worker, std::atomic<bool>& stop, std::mutex& mutex,
           std::vector<Tracked>& tracked, std::atomic<int>& unanswered, std::vector<std::string>& errors) {
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(mutex);
    errors.push_back(what);
  };
  for (int i = 0; !stop; ++i) {
    Tracked t;
    t.conversationId = "urn:mbid:crash-" + std::to_string(worker) + "-" + std::to_string(i);
    const auto created = server.api("POST", "/v1/auth-requests",
                                    R"({"conversationId":")" + t.conversationId +
                                        R"(","businessId":"biz","providerId":"idp","flow":"legacy"})");
    if (!created.reached) {
      ++unanswered;
      return;
    }
    if (created.status != 201) return fail("create answered " + std::to_string(created.status) + ": " + created.body);
    const auto request = parse(created.body);
    t.id = request->getValue<std::string>("id");
    t.requestIdentifier = request->getValue<std::string>("requestIdentifier");
    const std::string key = request->getObject("message")->getObject("interactiveData")->getObject("data")
                                ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("responseEncryptionKey");
    if (i % 2 == 0) {
      t.reply = legacyReply(t, crypto::encrypt(crypto::PublicKey::fromBase64(key).value(), "token-" + t.id).value());
      t.replySent = true;
      const auto answer = server.deliver(t.reply);
      if (answer.reached) {
        if (answer.status != 200) return fail("reply answered " + std::to_string(answer.status) + ": " + answer.body);
        t.replyAccepted = true;
      } else {
        ++unanswered;
      }
    }
    const bool cutOff = t.replySent && !t.replyAccepted;
    std::lock_guard lock(mutex);
    tracked.push_back(std::move(t));
    if (cutOff) return;
  }
}

int countEvents(const test::ServeProcess& server, const Tracked& t, const std::string& type) {
  const auto answer = server.api("GET", "/v1/conversations/" + t.conversationId + "/events?limit=1000");
  BOOST_REQUIRE_EQUAL(answer.status, 200);
  const auto events = parse(answer.body)->getArray("events");
  int count = 0;
  for (std::size_t i = 0; i < events->size(); ++i) {
    const auto event = events->getObject(static_cast<unsigned>(i));
    if (event->getValue<std::string>("type") == type && event->optValue<std::string>("authRequestId", "") == t.id) ++count;
  }
  return count;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sigkill_mid_burst_loses_nothing_and_keeps_no_stale_key) {
  const std::string dir = test::freshTempDir();
  const std::string masterKey = crypto::base64Encode(crypto::randomBytes(32));
  std::vector<Tracked> tracked;
  std::atomic<int> unanswered{0};
  {
    test::ServeProcess server(dir, masterKey, kEnv);
    BOOST_REQUIRE_EQUAL(server.api("PUT", "/v1/providers/idp",
                                   R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t","clientId":"c","scopes":["openid"]})")
                            .status,
                        200);
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::vector<std::string> errors;
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
      workers.emplace_back([&, w] { burst(server, w, stop, mutex, tracked, unanswered, errors); });
    }
    // Let the burst run — at least 1.5 s and until it has done enough work to check, however
    // slow the build — then kill the server in the middle of it: no shutdown code runs.
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + std::chrono::seconds(120);
    auto enoughDone = [&] {
      std::lock_guard lock(mutex);
      std::size_t accepted = 0;
      for (const auto& t : tracked) accepted += t.replyAccepted;
      return !errors.empty() || (tracked.size() >= 20 && accepted >= 10);
    };
    while (std::chrono::steady_clock::now() < deadline &&
           (std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1500) || !enoughDone())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    server.kill(SIGKILL);
    stop = true;
    for (auto& t : workers) t.join();
    for (const auto& e : errors) BOOST_ERROR(e);
  }
  std::size_t created = 0, accepted = 0;
  for (const auto& t : tracked) {
    created += 1;
    accepted += t.replyAccepted;
  }
  BOOST_TEST_MESSAGE(created << " requests answered 201, " << accepted << " replies answered 200, " << unanswered.load()
                             << " calls cut off by the kill");
  BOOST_REQUIRE(created >= 20);
  BOOST_REQUIRE(accepted >= 10);

  test::ServeProcess restarted(dir, masterKey, kEnv);
  for (const auto& t : tracked) {
    const auto answer = restarted.api("GET", "/v1/auth-requests/" + t.id);
    BOOST_REQUIRE_MESSAGE(answer.status == 200, "request " << t.id << " answered 201 is gone: " << answer.body);
    const std::string status = parse(answer.body)->getValue<std::string>("status");
    if (t.replyAccepted) {
      BOOST_TEST(status == "succeeded", t.id);
      BOOST_TEST(countEvents(restarted, t, "auth.succeeded") == 1, t.id);
      BOOST_TEST(countEvents(restarted, t, "auth.requested") == 1, t.id);
    }
  }
  // Apple redelivers every reply it sent, whether or not it saw an answer: each ends in
  // exactly one auth.succeeded and the redeliveries of accepted ones are duplicates.
  for (const auto& t : tracked) {
    if (!t.replySent) continue;
    const auto answer = restarted.deliver(t.reply);
    BOOST_REQUIRE_EQUAL(answer.status, 200);
    if (t.replyAccepted) BOOST_TEST(parse(answer.body)->getValue<std::string>("status") == "duplicate");
    BOOST_TEST(countEvents(restarted, t, "auth.succeeded") == 1, t.id);
    const auto token = restarted.api("GET", "/v1/auth-requests/" + t.id + "/token");
    BOOST_REQUIRE_EQUAL(token.status, 200);
    BOOST_TEST(parse(token.body)->getValue<std::string>("accessToken") == "token-" + t.id);
  }
  BOOST_TEST(restarted.stop() == 0);

  // In the store itself: a private key exists only for a request still waiting for its reply.
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session session("SQLite", dir + "/bcauth.db");
  int stale = -1, pendingWithoutKey = -1;
  session << "SELECT COUNT(*) FROM request_secrets s JOIN auth_requests r ON r.id = s.request_id "
             "WHERE s.kind = 'private_key' AND r.status <> 'pending'",
      into(stale), now;
  session << "SELECT COUNT(*) FROM auth_requests r WHERE r.flow = 'legacy' AND r.status = 'pending' AND NOT EXISTS "
             "(SELECT 1 FROM request_secrets s WHERE s.request_id = r.id AND s.kind = 'private_key')",
      into(pendingWithoutKey), now;
  BOOST_TEST(stale == 0);
  BOOST_TEST(pendingWithoutKey == 0);
  int orphans = -1;
  session << "SELECT COUNT(*) FROM request_secrets s WHERE NOT EXISTS (SELECT 1 FROM auth_requests r WHERE r.id = s.request_id)",
      into(orphans), now;
  BOOST_TEST(orphans == 0);
}
