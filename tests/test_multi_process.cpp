// Two `bcauth serve` processes on one PostgreSQL database, as operators run them behind a load
// balancer: a request created through one completes through the other, and one reply delivered
// to both at once succeeds exactly once. Needs BCAUTH_TEST_POSTGRES_URL (scripts/with-postgres).
#define BOOST_TEST_MODULE multi_process
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/JSON/Parser.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "clients/apple_gateway.h"
#include "clients/http_call.h"
#include "process_harness.h"

using namespace bcauth;

namespace {

// Both instances share the database (and so the master key); each has its own data directory.
class Instance : public test::ServeProcess {
 public:
  Instance(const std::string& databaseUrl, const std::string& masterKey)
      : ServeProcess(test::freshTempDir(), masterKey, {{"BCAUTH_DATABASE_URL", databaseUrl}}) {}
};

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_processes_share_the_work) {
  const char* url = std::getenv("BCAUTH_TEST_POSTGRES_URL");
  if (url == nullptr) {
    BOOST_TEST_MESSAGE("skipped: BCAUTH_TEST_POSTGRES_URL is not set (run under scripts/with-postgres)");
    return;
  }
  {
    Poco::Data::PostgreSQL::Connector::registerConnector();
    Poco::Data::Session session("PostgreSQL", url);
    session << "DROP SCHEMA public CASCADE", Poco::Data::Keywords::now;
    session << "CREATE SCHEMA public", Poco::Data::Keywords::now;
  }
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
