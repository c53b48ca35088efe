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

using namespace bcauth;

namespace {

const std::string kApiKey = "multi-process-api-key-0001";
const std::string kCspId = "csp-multi";
const std::string kSecret = "apple-secret-multi";

class Instance {
 public:
  Instance(const std::string& databaseUrl, const std::string& masterKey) {
    const std::string dir = Poco::TemporaryFile::tempName();
    Poco::TemporaryFile::registerForDeletion(dir);
    Poco::Process::Env env = {{"BCAUTH_CSP_ID", kCspId},
                              {"BCAUTH_APPLE_SECRET", crypto::base64Encode(std::string_view(kSecret))},
                              {"BCAUTH_API_KEYS", kApiKey},
                              {"BCAUTH_MASTER_KEY", masterKey},
                              {"BCAUTH_DATA_DIR", dir},
                              {"BCAUTH_DATABASE_URL", databaseUrl},
                              {"BCAUTH_APPLE_GATEWAY_URL", "none"}};
    handle_ = std::make_unique<Poco::ProcessHandle>(
        Poco::Process::launch(BCAUTH_CLI_PATH, {"serve", "--port", "0"}, ".", nullptr, &out_, &err_, env));
    stream_ = std::make_unique<Poco::PipeInputStream>(out_);
    std::string line;
    std::getline(*stream_, line);
    if (line.find("bcauth listening on http://127.0.0.1:") != 0) throw std::runtime_error("did not start: " + line);
    base_ = "http://127.0.0.1:" + line.substr(line.rfind(':') + 1, line.find(' ', line.rfind(':')) - line.rfind(':') - 1);
  }
  ~Instance() {
    if (handle_) {
      ::kill(handle_->id(), SIGTERM);
      handle_->wait();
    }
  }
  int stop() {
    ::kill(handle_->id(), SIGTERM);
    const int code = handle_->wait();
    handle_.reset();
    return code;
  }

  clients::HttpAnswer api(const std::string& method, const std::string& path, const std::string& body = "") const {
    return clients::httpCall(method, base_ + path, {{"Authorization", "Bearer " + kApiKey}, {"Content-Type", "application/json"}},
                             body, 30);
  }
  clients::HttpAnswer deliver(const std::string& json) const {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return clients::httpCall("POST", base_ + "/message",
                             {{"Authorization", "Bearer " + clients::signAppleJwt(kSecret, kCspId, now.count(), true)},
                              {"Content-Type", "application/json"}, {"capability-list", "AUTH"}},
                             json, 30);
  }

 private:
  Poco::Pipe out_, err_;
  std::unique_ptr<Poco::ProcessHandle> handle_;
  std::unique_ptr<Poco::PipeInputStream> stream_;
  std::string base_;
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
