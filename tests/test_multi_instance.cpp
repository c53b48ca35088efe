// Two bcauth instances on one PostgreSQL database, as operators run them behind a load balancer.
// Runs when BCAUTH_TEST_POSTGRES_URL names a database (scripts/with-postgres sets it; so does
// scripts/test); otherwise every case is reported skipped (tests/postgres_database.h).
#define BOOST_TEST_MODULE multi_instance
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <set>
#include <thread>

#include <Poco/JSON/Parser.h>
#include <Poco/TemporaryFile.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "postgres_database.h"
#include "server_harness.h"
#include "service/auth_service.h"
#include "service_json.h"

using namespace bcauth;
using bcauth::test::TestServer;

namespace {

struct Pair {
  std::string url = bcauth::test::freshPostgresDatabase();
  std::string masterKey = crypto::base64Encode(crypto::randomBytes(32));
  std::unique_ptr<TestServer> a, b;

  Pair() {
    a = std::make_unique<TestServer>(settings());
    b = std::make_unique<TestServer>(settings());
    BOOST_REQUIRE_EQUAL(a->call("PUT", "/v1/providers/idp",
                                R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t","clientId":"c","scopes":["openid"]})")
                            .status,
                        200);
  }

  app::Settings settings() {
    auto s = bcauth::test::testSettings(TestServer::freshDir());
    s.databaseUrl = url;
    s.masterKey = masterKey;  // the instances share the master key, as they share the data
    return s;
  }
};

std::string reply(const std::string& conversation, const std::string& requestIdentifier, const std::string& token,
                  const std::string& id) {
  return R"({"id":")" + id + R"(","type":"interactive","sourceId":")" + conversation +
         R"(","destinationId":"biz","interactiveData":{"data":{"requestIdentifier":")" + requestIdentifier +
         R"(","authenticate":{"status":"authenticated","token":")" + token + R"("}}}})";
}

int count(const TestServer& server, const std::string& type) {
  const auto events = server.call("GET", "/v1/events?limit=1000").json()->getArray("events");
  int n = 0;
  for (std::size_t i = 0; i < events->size(); ++i) n += events->getObject(static_cast<unsigned>(i))->getValue<std::string>("type") == type;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(created_on_a_completed_through_b, BCAUTH_NEEDS_POSTGRES) {
  Pair pair;
  auto created = pair.a->call("POST", "/v1/auth-requests",
                              R"({"conversationId":"urn:mbid:x","businessId":"biz","providerId":"idp","flow":"legacy"})");
  BOOST_REQUIRE_EQUAL(created.status, 201);
  const auto body = created.json();
  const std::string key = body->getObject("message")->getObject("interactiveData")->getObject("data")
                              ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("responseEncryptionKey");
  const std::string token = crypto::encrypt(crypto::PublicKey::fromBase64(key).value(), "cross-instance").value();
  BOOST_TEST(pair.b->deliver(reply("urn:mbid:x", body->getValue<std::string>("requestIdentifier"), token, crypto::randomUuid())).status == 200);
  auto fromA = pair.a->call("GET", "/v1/auth-requests/" + body->getValue<std::string>("id") + "/token");
  BOOST_REQUIRE_EQUAL(fromA.status, 200);
  BOOST_TEST(fromA.json()->getValue<std::string>("accessToken") == "cross-instance");
}

BOOST_AUTO_TEST_CASE(one_reply_to_both_instances_succeeds_once, BCAUTH_NEEDS_POSTGRES) {
  Pair pair;
  auto created = pair.a->call("POST", "/v1/auth-requests",
                              R"({"conversationId":"urn:mbid:y","businessId":"biz","providerId":"idp","flow":"legacy"})").json();
  const std::string key = created->getObject("message")->getObject("interactiveData")->getObject("data")
                              ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("responseEncryptionKey");
  const std::string token = crypto::encrypt(crypto::PublicKey::fromBase64(key).value(), "once").value();
  const std::string message = reply("urn:mbid:y", created->getValue<std::string>("requestIdentifier"), token, crypto::randomUuid());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      if ((i % 2 ? *pair.a : *pair.b).deliver(message).status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(ok.load() == 40);
  BOOST_TEST(count(*pair.a, "auth.succeeded") == 1);
}

BOOST_AUTO_TEST_CASE(sweeps_on_both_instances_never_duplicate, BCAUTH_NEEDS_POSTGRES) {
  const std::string url = bcauth::test::freshPostgresDatabase();
  auto first = store::openPostgresStore(url);
  auto second = store::openPostgresStore(url);
  std::atomic<std::int64_t> now{1'700'000'000'000};
  const auto sealer = crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value();
  service::ServiceConfig config;
  config.gateway.baseUrl.clear();
  service::AuthService a(*first, sealer, config, [&] { return now.load(); });
  service::AuthService b(*second, sealer, config, [&] { return now.load(); });
  Poco::JSON::Parser parser;
  BOOST_REQUIRE(test::putProvider(a, "idp", parser.parse(R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t","clientId":"c","scopes":["openid"]})")
                                         .extract<Poco::JSON::Object::Ptr>())
                    .isOk());
  for (int i = 0; i < 20; ++i) {
    parser.reset();
    auto body = parser.parse(R"({"conversationId":"urn:mbid:z)" + std::to_string(i) +
                             R"(","businessId":"b","providerId":"idp","flow":"legacy"})")
                    .extract<Poco::JSON::Object::Ptr>();
    BOOST_REQUIRE(test::createRequest(i % 2 ? a : b, body, std::nullopt).isOk());
  }
  now += 901'000;
  std::atomic<int> expired{0};
  std::thread left([&] { expired += a.requests.expireDue(); });
  std::thread right([&] { expired += b.requests.expireDue(); });
  left.join();
  right.join();
  BOOST_TEST(expired.load() == 20);
  int events = 0;
  for (const auto& e : first->events(0, 1000)) events += e.type == "auth.expired";
  BOOST_TEST(events == 20);
}

BOOST_AUTO_TEST_CASE(readers_see_a_strictly_increasing_gap_free_feed, BCAUTH_NEEDS_POSTGRES) {
  Pair pair;
  std::atomic<bool> done{false};
  std::atomic<int> refused{0};  // counted here, checked after the join: Boost.Test is not thread-safe
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        const auto response = (w % 2 ? *pair.a : *pair.b)
            .deliver(R"({"id":")" + crypto::randomUuid() + R"(","type":"text","sourceId":"urn:mbid:feed","destinationId":"biz"})", "AUTH");
        if (response.status != 200) ++refused;
      }
    });
  }
  std::vector<std::int64_t> seen;
  std::int64_t after = 0;
  std::thread reader([&] {
    for (;;) {
      // Read the flag before the page: only a page fetched after every writer returned proves the
      // feed is drained. Checking it after the fetch let an empty page read just before the last
      // commit end the loop one event short.
      const bool writersDone = done.load();
      const auto batch = pair.a->call("GET", "/v1/events?limit=1000&after=" + std::to_string(after)).json();
      const auto events = batch->getArray("events");
      for (std::size_t i = 0; i < events->size(); ++i) seen.push_back(events->getObject(static_cast<unsigned>(i))->getValue<std::int64_t>("seq"));
      after = batch->getValue<std::int64_t>("next");
      if (writersDone && events->size() == 0) break;
    }
  });
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  BOOST_REQUIRE_EQUAL(refused.load(), 0);
  BOOST_REQUIRE_EQUAL(seen.size(), 100u);
  for (std::size_t i = 1; i < seen.size(); ++i) BOOST_TEST(seen[i] == seen[i - 1] + 1);
}

#include "service/rekey.h"

BOOST_AUTO_TEST_CASE(rekey_on_postgres, BCAUTH_NEEDS_POSTGRES) {
  auto db = store::openPostgresStore(bcauth::test::freshPostgresDatabase());
  const auto oldKey = crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value();
  const auto newKey = crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value();
  service::ServiceConfig config;
  config.gateway.baseUrl.clear();
  config.allowHttpLoopbackProviders = true;
  service::AuthService svc(*db, oldKey, config, [] { return std::int64_t{1'700'000'000'000}; });
  Poco::JSON::Parser parser;
  BOOST_REQUIRE(test::putProvider(svc, "idp", parser.parse(R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t","clientId":"c","clientSecret":"pg-secret","scopes":["openid"]})")
                                           .extract<Poco::JSON::Object::Ptr>())
                    .isOk());
  parser.reset();
  BOOST_REQUIRE(svc.admin.putWebhook(test::kOperator, "desk", http::inputs::webhook(test::json(R"({"url":"http://127.0.0.1:9/h","secret":"webhook-secret-0123456789"})")))
                    .isOk());
  parser.reset();
  BOOST_REQUIRE(test::createRequest(svc, parser.parse(R"({"conversationId":"c","businessId":"b","providerId":"idp","flow":"legacy"})")
                                      .extract<Poco::JSON::Object::Ptr>(),
                                  std::nullopt)
                    .isOk());
  BOOST_TEST(!service::rekey(*db, newKey, newKey).isOk());  // the wrong old key changes nothing
  const auto count = service::rekey(*db, oldKey, newKey);
  BOOST_REQUIRE(count.isOk());
  BOOST_TEST(*count == 3);  // provider secret, webhook secret, request private key
  for (const auto& value : db->sealedValues()) BOOST_TEST(!oldKey.unseal(value.sealed, "x").isOk());
  const auto provider = db->provider("idp");
  BOOST_TEST(std::string(newKey.unseal(*provider->sealedClientSecret, service::sealContext(service::SealKind::kProviderSecret, "idp"))->view()) == "pg-secret");
}

// API keys live in the store and are looked up on every call: a key made through A works on
// B, and its revocation through A holds on B at B's next call (no cache to expire).
BOOST_AUTO_TEST_CASE(a_key_revoked_on_a_stops_at_once_on_b, BCAUTH_NEEDS_POSTGRES) {
  Pair pair;
  const auto made = pair.a->call("POST", "/v1/api-keys", R"({"name":"ops"})");
  BOOST_REQUIRE_EQUAL(made.status, 201);
  const std::string key = made.json()->getValue<std::string>("key");
  const std::map<std::string, std::string> bearer = {{"Authorization", "Bearer " + key}};
  BOOST_TEST(pair.b->call("GET", "/v1/providers", "", bearer, false).status == 200);
  BOOST_REQUIRE_EQUAL(pair.a->call("DELETE", "/v1/api-keys/" + made.json()->getValue<std::string>("id")).status, 204);
  BOOST_TEST(pair.b->call("GET", "/v1/providers", "", bearer, false).status == 403);
  BOOST_TEST(pair.a->call("GET", "/v1/providers", "", bearer, false).status == 403);
}

// Each instance creates with the providers it cached and checks them in the create's
// transaction: a provider changed through b is what a creates with next, and one b disables
// stops a's creates at once.
BOOST_AUTO_TEST_CASE(a_provider_changed_on_b_is_what_a_creates_with_next, BCAUTH_NEEDS_POSTGRES) {
  Pair pair;
  const std::string create = R"({"conversationId":"urn:mbid:p","businessId":"biz","providerId":"idp","flow":"legacy"})";
  BOOST_REQUIRE_EQUAL(pair.a->call("POST", "/v1/auth-requests", create).status, 201);  // a caches idp
  const std::string provider =
      R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t","clientId":"c","scopes":["openid","email"])";
  BOOST_REQUIRE_EQUAL(pair.b->call("PUT", "/v1/providers/idp", provider + "}").status, 200);
  const auto second = pair.a->call("POST", "/v1/auth-requests", create);
  BOOST_REQUIRE_EQUAL(second.status, 201);
  const auto scopes = second.json()->getArray("scopes");
  BOOST_REQUIRE(scopes);
  BOOST_TEST(scopes->size() == 2u);
  BOOST_REQUIRE_EQUAL(pair.b->call("PUT", "/v1/providers/idp", provider + R"(,"enabled":false})").status, 200);
  const auto refused = pair.a->call("POST", "/v1/auth-requests", create);
  BOOST_TEST(refused.status == 409);
  BOOST_TEST(refused.body.find("disabled") != std::string::npos, refused.body);
}
