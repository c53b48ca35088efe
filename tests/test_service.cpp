// The service with a clock the test controls: expiry, single use of keys, idempotency races.
#define BOOST_TEST_MODULE service
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <Poco/JSON/Parser.h>
#include <Poco/TemporaryFile.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "service/auth_service.h"

using namespace bcauth;

namespace {

struct Fixture {
  std::string dir = Poco::TemporaryFile::tempName();
  std::unique_ptr<store::Store> db = store::openSqliteStore(dir);
  std::atomic<std::int64_t> now{1'700'000'000'000};
  service::AuthService service{*db, crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value(),
                               service::ServiceConfig{}, [this] { return now.load(); }};

  Fixture() {
    Poco::TemporaryFile::registerForDeletion(dir);
    Poco::JSON::Parser parser;
    auto body = parser.parse(R"({"name":"IdP","authorizationUrl":"https://i/a","tokenUrl":"https://i/t","clientId":"c","scopes":["openid"]})")
                    .extract<Poco::JSON::Object::Ptr>();
    BOOST_REQUIRE(service.putProvider("idp", body).isOk());
  }

  service::Created create(const std::string& conversation, std::optional<std::string> key = std::nullopt) {
    Poco::JSON::Parser parser;
    auto body = parser.parse(R"({"conversationId":")" + conversation + R"(","businessId":"b","providerId":"idp","flow":"legacy"})")
                    .extract<Poco::JSON::Object::Ptr>();
    auto created = service.createRequest(body, key);
    BOOST_REQUIRE_MESSAGE(created.isOk(), created.status().toString());
    return *created;
  }
};

int count(store::Store& db, const std::string& type) {
  int n = 0;
  for (const auto& e : db.events(0, 1000)) n += e.type == type;
  return n;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(expiry_deletes_the_key_and_rejects_late_replies, Fixture) {
  const auto created = create("urn:mbid:x");
  const std::string id = created.body->getValue<std::string>("id");
  BOOST_TEST(db->secret(id, store::secret::kPrivateKey).has_value());
  BOOST_TEST(service.expireDue() == 0);
  now += 901'000;  // past the default 900-second TTL
  BOOST_TEST(service.expireDue() == 1);
  BOOST_TEST(service.expireDue() == 0);
  BOOST_TEST(count(*db, "auth.expired") == 1);
  BOOST_TEST(!db->secret(id, store::secret::kPrivateKey).has_value());
  BOOST_TEST(db->request(id)->status == "expired");

  const std::string reply = R"({"id":"m1","type":"interactive","sourceId":"urn:mbid:x","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                            created.body->getValue<std::string>("requestIdentifier") +
                            R"(","authenticate":{"status":"failed"}}}})";
  auto inbound = service.handleInbound(reply, "");
  BOOST_REQUIRE(inbound.isOk());
  BOOST_TEST(inbound->eventType == "auth.rejected");
}

BOOST_FIXTURE_TEST_CASE(a_reply_after_the_ttl_but_before_the_sweep_is_rejected, Fixture) {
  const auto created = create("urn:mbid:y");
  now += 901'000;
  const std::string reply = R"({"id":"m2","type":"interactive","sourceId":"urn:mbid:y","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                            created.body->getValue<std::string>("requestIdentifier") +
                            R"(","authenticate":{"status":"failed"}}}})";
  BOOST_TEST(service.handleInbound(reply, "")->eventType == "auth.rejected");
}

BOOST_FIXTURE_TEST_CASE(reply_from_another_conversation_is_rejected, Fixture) {
  const auto created = create("urn:mbid:owner");
  const std::string reply = R"({"id":"m3","type":"interactive","sourceId":"urn:mbid:intruder","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                            created.body->getValue<std::string>("requestIdentifier") +
                            R"(","authenticate":{"status":"failed"}}}})";
  BOOST_TEST(service.handleInbound(reply, "")->eventType == "auth.rejected");
  BOOST_TEST(db->request(created.body->getValue<std::string>("id"))->status == "pending");
}

BOOST_FIXTURE_TEST_CASE(concurrent_creates_with_one_idempotency_key, Fixture) {
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::set<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto created = create("urn:mbid:idem", std::string("same-key"));
      std::lock_guard lock(mutex);
      ids.insert(created.body->getValue<std::string>("id"));
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(count(*db, "auth.requested") == 1);
}
