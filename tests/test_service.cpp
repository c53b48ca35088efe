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
  // Boost.Test's assertions are not thread-safe (ThreadSanitizer saw create()'s REQUIRE race
  // on its checkpoint): the threads call the service directly and the checks run here.
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::set<std::string> ids;
  std::vector<std::string> failures;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      Poco::JSON::Parser parser;
      auto body = parser.parse(R"({"conversationId":"urn:mbid:idem","businessId":"b","providerId":"idp","flow":"legacy"})")
                      .extract<Poco::JSON::Object::Ptr>();
      auto created = service.createRequest(body, std::string("same-key"));
      std::lock_guard lock(mutex);
      if (created.isOk()) ids.insert(created->body->getValue<std::string>("id"));
      else failures.push_back(created.status().toString());
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures) BOOST_ERROR(f);
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(count(*db, "auth.requested") == 1);
}

// --- tokens and profiles, against the IdP double ---------------------------------------------

#include <Poco/URI.h>

#include "clients/http_call.h"
#include "doubles/idp_double.h"

namespace {

struct IdpFixture {
  bcauth::test::IdpDouble idp;
  std::string dir = Poco::TemporaryFile::tempName();
  std::unique_ptr<store::Store> db = store::openSqliteStore(dir);
  std::atomic<std::int64_t> now{1'700'000'000'000};
  service::AuthService service{*db, crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value(),
                               config(), [this] { return now.load(); }};

  static service::ServiceConfig config() {
    service::ServiceConfig c;
    c.publicUrl = "https://bcauth.test";
    c.allowHttpLoopbackProviders = true;
    c.gateway.baseUrl.clear();
    return c;
  }

  IdpFixture() {
    Poco::TemporaryFile::registerForDeletion(dir);
    Poco::JSON::Parser parser;
    auto body = parser.parse(R"({"name":"IdP","authorizationUrl":")" + idp.baseUrl() + R"(/authorize","tokenUrl":")" +
                             idp.baseUrl() + R"(/token","userinfoUrl":")" + idp.baseUrl() + R"(/userinfo","clientId":")" +
                             idp.config().clientId + R"(","clientSecret":")" + idp.config().clientSecret +
                             R"(","scopes":["openid"]})")
                    .extract<Poco::JSON::Object::Ptr>();
    BOOST_REQUIRE(service.putProvider("idp", body).isOk());
  }

  Poco::JSON::Object::Ptr create(const std::string& flow) {
    Poco::JSON::Parser parser;
    auto body = parser.parse(R"({"conversationId":"urn:mbid:t","businessId":"b","providerId":"idp","flow":")" + flow + R"("})")
                    .extract<Poco::JSON::Object::Ptr>();
    auto created = service.createRequest(body, std::nullopt);
    BOOST_REQUIRE_MESSAGE(created.isOk(), created.status().toString());
    return created->body;
  }
};

std::string queryOf(const std::string& url, const std::string& name) {
  for (const auto& [key, value] : Poco::URI(url).getQueryParameters()) {
    if (key == name) return value;
  }
  return {};
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(expired_tokens_are_not_served_until_refreshed, IdpFixture) {
  const auto created = create("v2");
  const auto oauth2 = created->getObject("message")->getObject("interactiveData")->getObject("data")
                          ->getObject("authenticate")->getObject("oauth2");
  const std::string state = oauth2->getValue<std::string>("state");
  const std::string extra = oauth2->getValue<std::string>("additionalParameters");
  const std::string challenge = extra.substr(extra.find('=') + 1, extra.find('&') - extra.find('=') - 1);
  std::string encodedState;
  Poco::URI::encode(state, "&=+", encodedState);
  const auto login = clients::httpCall("POST", idp.baseUrl() + "/login", {{"Content-Type", "application/x-www-form-urlencoded"}},
                                       "redirect_uri=https%3A%2F%2Fbcauth.test%2Foauth%2Fcallback&state=" + encodedState +
                                           "&code_challenge=" + challenge + "&username=u&password=p",
                                       10);
  const std::string code = queryOf(login.headers.at("Location"), "code");
  BOOST_TEST(service.completeRedirect({{"code", code}, {"state", state}}) == "messages-auth://?status=success");

  const std::string id = created->getValue<std::string>("id");
  const auto first = service.token(id);
  BOOST_REQUIRE(first.isOk());
  now += 3'601'000;  // the IdP said expires_in 3600
  const auto expired = service.token(id);
  BOOST_REQUIRE(!expired.isOk());
  BOOST_TEST(expired.status().message().find("expired") != std::string::npos);
  const auto refreshed = service.refreshToken(id);
  BOOST_REQUIRE_MESSAGE(refreshed.isOk(), refreshed.status().toString());
  BOOST_TEST((*refreshed)->getValue<std::string>("accessToken") != (*first)->getValue<std::string>("accessToken"));
  BOOST_TEST(service.token(id).isOk());
}

BOOST_FIXTURE_TEST_CASE(legacy_profile_failure_is_recorded_not_fatal, IdpFixture) {
  idp.setUserinfoFails(true);
  const auto created = create("legacy");
  const std::string key = created->getObject("message")->getObject("interactiveData")->getObject("data")
                              ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("responseEncryptionKey");
  const std::string token = crypto::encrypt(crypto::PublicKey::fromBase64(key).value(), "legacy-access-token").value();
  const std::string reply = R"({"id":"p1","type":"interactive","sourceId":"urn:mbid:t","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                            created->getValue<std::string>("requestIdentifier") +
                            R"(","authenticate":{"status":"authenticated","token":")" + token + R"("}}}})";
  BOOST_TEST(service.handleInbound(reply, "")->eventType == "auth.succeeded");
  BOOST_TEST(count(*db, "auth.succeeded") == 0);  // waits for the profile
  BOOST_TEST(service.token(created->getValue<std::string>("id")).isOk());  // the token does not
  BOOST_TEST(service.completeProfiles() == 1);
  BOOST_TEST(service.completeProfiles() == 0);
  const auto events = db->events(0, 100);
  const auto& last = events.back();
  BOOST_TEST(last.type == "auth.succeeded");
  BOOST_TEST(last.dataJson.find("profileError") != std::string::npos);
  BOOST_TEST(last.dataJson.find("legacy-access-token") == std::string::npos);
}
