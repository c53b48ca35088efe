// The service with a clock the test controls: expiry, single use of keys, idempotency races.
#define BOOST_TEST_MODULE service
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <Poco/JSON/Parser.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "demo/temp_dir.h"
#include "protocol/json_util.h"
#include "service/auth_service.h"
#include "service/provider_cache.h"
#include "service_json.h"

using namespace bcauth;

namespace {

struct Fixture {
  demo::TempDir dir;
  std::unique_ptr<store::Store> db = store::openSqliteStore(dir.path());
  std::atomic<std::int64_t> now{1'700'000'000'000};
  service::AuthService service{*db, crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value(),
                               service::ServiceConfig{}, [this] { return now.load(); }};

  Fixture() {
    Poco::JSON::Parser parser;
    auto body = parser.parse(R"({"name":"IdP","authorizationUrl":"https://i/a","tokenUrl":"https://i/t","clientId":"c","scopes":["openid"]})")
                    .extract<Poco::JSON::Object::Ptr>();
    BOOST_REQUIRE(test::putProvider(service, "idp", body).isOk());
  }

  test::CreatedView create(const std::string& conversation, std::optional<std::string> key = std::nullopt) {
    Poco::JSON::Parser parser;
    auto body = parser.parse(R"({"conversationId":")" + conversation + R"(","businessId":"b","providerId":"idp","flow":"legacy"})")
                    .extract<Poco::JSON::Object::Ptr>();
    auto created = test::createRequest(service, body, key);
    BOOST_REQUIRE_MESSAGE(created.isOk(), created.status().toString());
    return *created;
  }
};

// The event type a delivery of `message` produced; the case stops if the delivery was refused.
std::string inboundEvent(service::AuthService& auth, const std::string& message) {
  const auto inbound = auth.intake.handleInbound(message, "");
  BOOST_REQUIRE_MESSAGE(inbound.isOk(), inbound.status().toString());
  return inbound->eventType;
}

// The stored request `id`; the case stops if there is none.
store::AuthRequest storedRequest(store::Store& db, const std::string& id) {
  auto request = db.request(id);
  BOOST_REQUIRE_MESSAGE(request.has_value(), "no stored request " << id);
  return *request;
}

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
  BOOST_TEST(service.requests.expireDue() == 0);
  now += 901'000;  // past the default 900-second TTL
  BOOST_TEST(service.requests.expireDue() == 1);
  BOOST_TEST(service.requests.expireDue() == 0);
  BOOST_TEST(count(*db, "auth.expired") == 1);
  BOOST_TEST(!db->secret(id, store::secret::kPrivateKey).has_value());
  BOOST_TEST(storedRequest(*db, id).status == "expired");

  const std::string reply = R"({"id":"m1","type":"interactive","sourceId":"urn:mbid:x","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                            created.body->getValue<std::string>("requestIdentifier") +
                            R"(","authenticate":{"status":"failed"}}}})";
  auto inbound = service.intake.handleInbound(reply, "");
  BOOST_REQUIRE(inbound.isOk());
  BOOST_TEST(inbound->eventType == "auth.rejected");
}

// bcauth's own request id is a version-7 UUID carrying its creation time (its B-trees grow at
// the right edge); the requestIdentifier the device sees stays random (version 4).
BOOST_FIXTURE_TEST_CASE(request_ids_sort_by_creation_and_the_request_identifier_stays_random, Fixture) {
  const auto first = create("urn:mbid:order-1");
  now += 5;
  const auto second = create("urn:mbid:order-2");
  const std::string id = first.body->getValue<std::string>("id");
  BOOST_TEST(id[14] == '7');
  BOOST_TEST(std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16) == storedRequest(*db, id).createdAt);
  BOOST_TEST(second.body->getValue<std::string>("id") > id);
  BOOST_TEST(first.body->getValue<std::string>("requestIdentifier")[14] == '4');
}

BOOST_FIXTURE_TEST_CASE(a_reply_after_the_ttl_but_before_the_sweep_is_rejected, Fixture) {
  const auto created = create("urn:mbid:y");
  now += 901'000;
  const std::string reply = R"({"id":"m2","type":"interactive","sourceId":"urn:mbid:y","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                            created.body->getValue<std::string>("requestIdentifier") +
                            R"(","authenticate":{"status":"failed"}}}})";
  BOOST_TEST(inboundEvent(service, reply) == "auth.rejected");
}

BOOST_FIXTURE_TEST_CASE(reply_from_another_conversation_is_rejected, Fixture) {
  const auto created = create("urn:mbid:owner");
  const std::string reply = R"({"id":"m3","type":"interactive","sourceId":"urn:mbid:intruder","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                            created.body->getValue<std::string>("requestIdentifier") +
                            R"(","authenticate":{"status":"failed"}}}})";
  BOOST_TEST(inboundEvent(service, reply) == "auth.rejected");
  BOOST_TEST(storedRequest(*db, created.body->getValue<std::string>("id")).status == "pending");
}

// Issue 12 §8: the rejected reply is recorded on the sender's timeline without naming the other
// conversation's request.
BOOST_FIXTURE_TEST_CASE(a_reply_from_another_conversation_names_no_request_there, Fixture) {
  const auto created = create("urn:mbid:owner-a");
  const std::string requestIdentifier = created.body->getValue<std::string>("requestIdentifier");
  const std::string reply = R"({"id":"m-b","type":"interactive","sourceId":"urn:mbid:intruder-b","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                            requestIdentifier + R"(","authenticate":{"status":"failed"}}}})";
  BOOST_TEST(inboundEvent(service, reply) == "auth.rejected");
  const auto intruder = db->conversationEvents("urn:mbid:intruder-b", 0, 10);
  BOOST_REQUIRE_EQUAL(intruder.size(), 1u);
  BOOST_TEST(intruder[0].type == "auth.rejected");
  BOOST_TEST(intruder[0].authRequestId.empty());
  BOOST_TEST(intruder[0].dataJson.find(created.body->getValue<std::string>("id")) == std::string::npos);
  BOOST_TEST(intruder[0].dataJson.find("conversation_mismatch") != std::string::npos);
  // The owner's timeline is untouched: only its auth.requested.
  BOOST_TEST(db->conversationEvents("urn:mbid:owner-a", 0, 10).size() == 1u);
  // A rejection on the request's own conversation still names it.
  now += 901'000;
  const std::string late = R"({"id":"m-a","type":"interactive","sourceId":"urn:mbid:owner-a","destinationId":"b","interactiveData":{"data":{"requestIdentifier":")" +
                           requestIdentifier + R"(","authenticate":{"status":"failed"}}}})";
  BOOST_TEST(inboundEvent(service, late) == "auth.rejected");
  BOOST_TEST(db->conversationEvents("urn:mbid:owner-a", 0, 10).back().authRequestId == created.body->getValue<std::string>("id"));
}

// Issue 12 §8: every legacy message carries its own state, at least 128 random bits in
// Base64url (Apple's sample sends one); it is not a v2 callback state.
BOOST_FIXTURE_TEST_CASE(legacy_messages_carry_a_fresh_url_safe_state, Fixture) {
  std::set<std::string> states;
  for (int i = 0; i < 3; ++i) {
    const auto created = create("urn:mbid:state-" + std::to_string(i));
    const auto oauth2 = created.body->getObject("message")->getObject("interactiveData")->getObject("data")
                            ->getObject("authenticate")->getObject("oauth2");
    BOOST_REQUIRE(oauth2->has("state"));
    const std::string state = oauth2->getValue<std::string>("state");
    // Unpadded Base64url: 6 bits a character, so 22 characters or more hold 128 bits or more.
    BOOST_TEST(state.size() * 6 >= 128u);
    BOOST_TEST(state.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
               std::string::npos);
    states.insert(state);
    // Stored in the message as sent (GET shows it), never as a state the callback accepts.
    const std::string id = created.body->getValue<std::string>("id");
    BOOST_TEST(!storedRequest(*db, id).state.has_value());
    BOOST_TEST(!db->requestByState(state).has_value());
    const auto view = Poco::JSON::Parser()
                          .parse(http::views::request(service.requests.request(test::kOperator, id).value()))
                          .extract<Poco::JSON::Object::Ptr>();
    BOOST_TEST(view->getObject("message")->getObject("interactiveData")->getObject("data")
                   ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("state") == state);
  }
  BOOST_TEST(states.size() == 3u);
}

// Issue 12 §4, in the service: the key is bound to the body's canonical JSON, and the admission
// (the HTTP layer's rate limit) is asked only about valid new requests.
BOOST_FIXTURE_TEST_CASE(idempotency_and_admission, Fixture) {
  Poco::JSON::Parser parser;
  auto parse = [&](const std::string& text) { return parser.parse(text).extract<Poco::JSON::Object::Ptr>(); };
  int asked = 0;
  bool refuse = false;
  const service::Requests::Admission admit = [&](const std::string& conversation) {
    ++asked;
    BOOST_TEST(conversation == "urn:mbid:admit");
    return refuse ? Status::conflict("refused by the test") : Status::ok();
  };
  const std::string body = R"({"conversationId":"urn:mbid:admit","businessId":"b","providerId":"idp","flow":"legacy","replyMessage":{"title":"Done","subtitle":"x"}})";
  // Invalid: refused before the admission is asked.
  BOOST_TEST(!test::createRequest(service, parse(R"({"conversationId":"urn:mbid:admit","businessId":"b","providerId":"nope"})"), std::nullopt, admit).isOk());
  BOOST_TEST(asked == 0);
  auto first = test::createRequest(service, parse(body), std::string("k"), admit);
  BOOST_REQUIRE(first.isOk());
  BOOST_TEST(first->created);
  BOOST_TEST(asked == 1);
  // Same object, other key order and nesting order: a replay, not asked.
  auto replay = test::createRequest(
      service, parse(R"({"replyMessage":{"subtitle":"x","title":"Done"},"flow":"legacy","providerId":"idp","businessId":"b","conversationId":"urn:mbid:admit"})"),
      std::string("k"), admit);
  BOOST_REQUIRE(replay.isOk());
  BOOST_TEST(!replay->created);
  BOOST_TEST(replay->body->getValue<std::string>("id") == first->body->getValue<std::string>("id"));
  BOOST_TEST(asked == 1);
  // Another body: idempotency_conflict, not asked, nothing created.
  auto conflict = test::createRequest(service, parse(R"({"conversationId":"urn:mbid:admit","businessId":"b","providerId":"idp","flow":"legacy"})"),
                                        std::string("k"), admit);
  BOOST_REQUIRE(!conflict.isOk());
  BOOST_TEST(conflict.status().code() == StatusCode::kIdempotencyConflict);
  BOOST_TEST(conflict.status().field() == "Idempotency-Key");
  BOOST_TEST(asked == 1);
  // A refusal is returned as is and leaves nothing behind.
  refuse = true;
  auto refused = test::createRequest(service, parse(body), std::string("k2"), admit);
  BOOST_REQUIRE(!refused.isOk());
  BOOST_TEST(refused.status().message() == "refused by the test");
  BOOST_TEST(!db->requestByIdempotencyKey("k2").has_value());
  BOOST_TEST(count(*db, "auth.requested") == 1);
}

BOOST_AUTO_TEST_CASE(canonical_json_ignores_order_spacing_and_escapes) {
  Poco::JSON::Parser parser;
  const auto a = parser.parse(R"({"b":[1,{"y":true,"x":null}],"a":"é\/"})");
  const auto b = parser.parse(R"( { "a" : "é/" , "b" : [ 1 , { "x" : null , "y" : true } ] } )");
  BOOST_TEST(protocol::json::canonicalJson(a) == protocol::json::canonicalJson(b));
  BOOST_TEST(protocol::json::canonicalJson(a) == R"({"a":"é/","b":[1,{"x":null,"y":true}]})");
  // Insertion-ordered objects (built in code) come out sorted too.
  auto built = protocol::json::newObject();
  built->set("z", 1);
  built->set("a", 2);
  BOOST_TEST(protocol::json::canonicalJson(Poco::Dynamic::Var(built)) == R"({"a":2,"z":1})");
  // Different arrays order or values are different bodies.
  BOOST_TEST(protocol::json::canonicalJson(parser.parse("[1,2]")) != protocol::json::canonicalJson(parser.parse("[2,1]")));
}

// Creates plan with the provider this process cached, and check it in their transaction: a
// provider another process (or instance) changed is what the next create uses, and a disabled
// one stops it, with no restart and no read of this process's cache by anyone.
BOOST_FIXTURE_TEST_CASE(a_provider_changed_by_another_process_is_what_the_next_create_uses, Fixture) {
  const auto first = create("urn:mbid:a");  // caches the provider
  BOOST_TEST(storedRequest(*db, first.body->getValue<std::string>("id")).scopes == std::vector<std::string>{"openid"});

  auto other = store::openSqliteStore(dir.path());  // another process on the same file
  auto changed = other->provider("idp").value();
  changed.scopes = {"openid", "email"};
  changed.updatedAt += 1;
  other->transaction([&](store::Transaction& tx) { tx.putProvider(changed); });
  const auto second = create("urn:mbid:b");
  BOOST_TEST(storedRequest(*db, second.body->getValue<std::string>("id")).scopes ==
             (std::vector<std::string>{"openid", "email"}));

  changed.enabled = false;  // the same updatedAt: only the row's content tells the change
  other->transaction([&](store::Transaction& tx) { tx.putProvider(changed); });
  Poco::JSON::Parser parser;
  auto body = parser.parse(R"({"conversationId":"urn:mbid:c","businessId":"b","providerId":"idp","flow":"legacy"})")
                  .extract<Poco::JSON::Object::Ptr>();
  const auto refused = test::createRequest(service, body, std::nullopt, {});
  BOOST_REQUIRE(!refused.isOk());
  BOOST_TEST(refused.status().toString().find("provider idp is disabled") != std::string::npos, refused.status().toString());
  BOOST_TEST(count(*db, "auth.requested") == 2);
}

BOOST_AUTO_TEST_CASE(the_provider_cache_is_bounded) {
  service::ProviderCache cache;
  store::Provider provider;
  for (std::size_t i = 0; i <= service::ProviderCache::kMaxProviders; ++i) {
    provider.id = "p" + std::to_string(i);
    cache.put(provider);
    BOOST_TEST(cache.size() <= service::ProviderCache::kMaxProviders);
  }
  BOOST_TEST(cache.get(provider.id).has_value());  // the last one put
  cache.forget(provider.id);
  BOOST_TEST(!cache.get(provider.id).has_value());
  provider.id = "again";
  provider.name = "one";
  cache.put(provider);
  provider.name = "two";
  cache.put(provider);  // replaced, not added
  BOOST_TEST(cache.get("again")->name == "two");
}

BOOST_FIXTURE_TEST_CASE(concurrent_creates_with_one_idempotency_key_and_two_bodies, Fixture) {
  // Half the threads send one body, half another: one request is made; the threads with its
  // body get it, the others idempotency_conflict (also when they lost the insert race).
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> outcomes;  // (conversation sent, id or error code)
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Poco::JSON::Parser parser;
      const std::string conversation = i % 2 == 0 ? "urn:mbid:even" : "urn:mbid:odd";
      auto body = parser.parse(R"({"conversationId":")" + conversation + R"(","businessId":"b","providerId":"idp","flow":"legacy"})")
                      .extract<Poco::JSON::Object::Ptr>();
      auto created = test::createRequest(service, body, std::string("raced-key"));
      std::lock_guard lock(mutex);
      outcomes.emplace_back(conversation, created.isOk() ? created->body->getValue<std::string>("conversationId")
                                                         : std::string(toString(created.status().code())));
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(count(*db, "auth.requested") == 1);
  const auto winner = db->requestByIdempotencyKey("raced-key");
  BOOST_REQUIRE(winner.has_value());
  for (const auto& [sent, got] : outcomes) {
    BOOST_TEST(got == (sent == winner->conversationId ? sent : std::string("idempotency_conflict")));
  }
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
      auto created = test::createRequest(service, body, std::string("same-key"));
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
#include "demo/idp_double.h"

namespace {

struct IdpFixture {
  bcauth::demo::IdpDouble idp;
  demo::TempDir dir;
  std::unique_ptr<store::Store> db = store::openSqliteStore(dir.path());
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
    Poco::JSON::Parser parser;
    auto body = parser.parse(R"({"name":"IdP","authorizationUrl":")" + idp.baseUrl() + R"(/authorize","tokenUrl":")" +
                             idp.baseUrl() + R"(/token","userinfoUrl":")" + idp.baseUrl() + R"(/userinfo","clientId":")" +
                             idp.config().clientId + R"(","clientSecret":")" + idp.config().clientSecret +
                             R"(","scopes":["openid"]})")
                    .extract<Poco::JSON::Object::Ptr>();
    BOOST_REQUIRE(test::putProvider(service, "idp", body).isOk());
  }

  Poco::JSON::Object::Ptr create(const std::string& flow) {
    Poco::JSON::Parser parser;
    auto body = parser.parse(R"({"conversationId":"urn:mbid:t","businessId":"b","providerId":"idp","flow":")" + flow + R"("})")
                    .extract<Poco::JSON::Object::Ptr>();
    auto created = test::createRequest(service, body, std::nullopt);
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
  BOOST_TEST(service.redirect.complete({{"code", code}, {"state", state}}) == "messages-auth://?status=success");

  const std::string id = created->getValue<std::string>("id");
  const auto first = http::views::of(service.requests.token(test::kOperator, id));
  BOOST_REQUIRE(first.isOk());
  now += 3'601'000;  // the IdP said expires_in 3600
  const auto expired = http::views::of(service.requests.token(test::kOperator, id));
  BOOST_REQUIRE(!expired.isOk());
  BOOST_TEST(expired.status().message().find("expired") != std::string::npos);
  const auto refreshed = http::views::of(service.requests.refresh(test::kOperator, id));
  BOOST_REQUIRE_MESSAGE(refreshed.isOk(), refreshed.status().toString());
  BOOST_TEST((*refreshed)->getValue<std::string>("accessToken") != (*first)->getValue<std::string>("accessToken"));
  BOOST_TEST(service.requests.token(test::kOperator, id).isOk());
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
  BOOST_TEST(inboundEvent(service, reply) == "auth.succeeded");
  BOOST_TEST(count(*db, "auth.succeeded") == 0);  // waits for the profile
  BOOST_TEST(service.requests.token(test::kOperator, created->getValue<std::string>("id")).isOk());  // the token does not
  BOOST_TEST(service.intake.completeProfiles() == 1);
  BOOST_TEST(service.intake.completeProfiles() == 0);
  const auto events = db->events(0, 100);
  const auto& last = events.back();
  BOOST_TEST(last.type == "auth.succeeded");
  BOOST_TEST(last.dataJson.find("profileError") != std::string::npos);
  BOOST_TEST(last.dataJson.find("legacy-access-token") == std::string::npos);
}
