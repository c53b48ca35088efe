// Isolation between the businesses of one CSP (issue 14). Two businesses on one server, each with
// its own key, identity provider, webhooks and conversations (Apple's messages addressed to it),
// both flows completed for both; then every route is tried with the other business's key and
// ids. Another business's object is answered exactly as an id that does not exist (404), lists,
// feeds, the event stream and webhooks carry only the key's own business, and a property test
// over routes × keys × ids finds no cross-business read. A revoked key stops at once on every
// `bcauth serve` process of one PostgreSQL database.
#define BOOST_TEST_MODULE isolation
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "bcauth/crypto.h"
#include "demo/device_simulator.h"
#include "demo/idp_double.h"
#include "demo/loopback_server.h"
#include "http/router.h"
#include "postgres_database.h"
#include "process_harness.h"
#include "server_harness.h"

using namespace bcauth;
using bcauth::test::Response;
using bcauth::test::TestServer;
using bcauth::test::waitUntil;

namespace {

const std::string kShared = "idp-shared";              // the operator's shared provider
const std::string kBothConversation = "urn:mbid:both";  // one customer id that wrote to both businesses
const std::string kStranger = "urn:mbid:stranger";     // wrote to a business bcauth does not know

std::string segment(const std::string& id) {
  std::string out;
  Poco::URI::encode(id, "/+=:?#%", out);
  return out;
}

std::string withId(std::string pattern, const std::string& id) {
  return pattern.replace(pattern.find("{}"), 2, segment(id));
}

std::string errorCode(const Response& r) { return r.json()->getObject("error")->getValue<std::string>("code"); }
std::string errorField(const Response& r) { return r.json()->getObject("error")->optValue<std::string>("field", ""); }

// The body with every occurrence of id replaced: an error that quotes the id it was given is the
// same answer for any id.
std::string masked(std::string body, const std::string& id) {
  for (auto at = body.find(id); !id.empty() && at != std::string::npos; at = body.find(id, at)) {
    body.replace(at, id.size(), "{id}");
  }
  return body;
}

// The markers found in an answer that the request did not name itself (an error may quote the id
// it was given: that reveals nothing). JSON may write "/" as "\/".
std::vector<std::string> leaked(std::string answer, const std::string& request, const std::vector<std::string>& markers) {
  for (auto at = answer.find("\\/"); at != std::string::npos; at = answer.find("\\/", at)) answer.erase(at, 1);
  std::vector<std::string> found;
  for (const auto& m : markers) {
    if (answer.find(m) != std::string::npos && request.find(m) == std::string::npos) found.push_back(m);
  }
  return found;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::vector<Poco::JSON::Object::Ptr> items(const Response& r, const std::string& name) {
  std::vector<Poco::JSON::Object::Ptr> out;
  const auto array = r.json()->getArray(name);
  for (std::size_t i = 0; i < array->size(); ++i) out.push_back(array->getObject(static_cast<unsigned>(i)));
  return out;
}

// A CSP endpoint on loopback: records every body it is sent and answers each with one status.
class Endpoint {
 public:
  explicit Endpoint(int status = 200) : status_(status) {}
  std::string url() const { return server_.baseUrl() + "/hooks"; }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  int status_;
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  demo::LoopbackServer server_{[this](Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    {
      std::lock_guard lock(mutex_);
      bodies_.push_back(body);
    }
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status_));
    response.setContentLength(0);
    response.send();
  }};  // last: stops first
};

demo::IdpDouble::Config idpConfig(const std::string& name) {
  demo::IdpDouble::Config config;
  config.clientId = "client-" + name;
  config.clientSecret = "idp-secret-" + name + "-0001";
  return config;
}

// One business and everything it owns; every id holds its name, so a failure says whose it is.
struct Tenant {
  explicit Tenant(const std::string& n) : name(n), idp(idpConfig(n)) {}

  std::string name;
  std::string businessId = "biz-" + name;
  std::string providerId = "idp-" + name;
  std::string webhookId = "hook-" + name;
  std::string deadHookId = "dead-" + name;  // its endpoint always fails: its deliveries become dead letters
  std::string convAuth = "urn:mbid:" + name + "-auth";    // capability-list AUTH: the legacy flow
  std::string convAuth2 = "urn:mbid:" + name + "-auth2";  // AUTH2: the iOS 16+ flow
  std::string webhookSecret = "whsec-" + name + "-0123456789";
  demo::IdpDouble idp;
  Endpoint receiver;
  Endpoint failing{503};
  std::string key, keyId;
  std::string legacyRequest, v2Request;
  std::vector<std::string> requests, tokens, messageIds;
  std::int64_t deadLetter = 0;

  Response call(const TestServer& server, const std::string& method, const std::string& path, const std::string& body = "",
                std::map<std::string, std::string> headers = {}) const {
    headers["Authorization"] = "Bearer " + key;
    return server.call(method, path, body, headers, false);
  }

  // owner: the body's "businessId" ("": none).
  std::string providerBody(const std::string& owner = "") const {
    const std::string base = idp.baseUrl();
    return R"({"name":"IdP of )" + name + R"(","authorizationUrl":")" + base + R"(/authorize","tokenUrl":")" + base +
           R"(/token","userinfoUrl":")" + base + R"(/userinfo","clientId":")" + idp.config().clientId +
           R"(","clientSecret":")" + idp.config().clientSecret +
           R"(","scopes":["openid","email","profile"],"profileFields":{"email":"email"})" +
           (owner.empty() ? "" : R"(,"businessId":")" + owner + R"(")") + "}";
  }
  std::string webhookBody(const Endpoint& endpoint, const std::string& types = "") const {
    return R"({"url":")" + endpoint.url() + R"(","secret":")" + webhookSecret + R"(")" +
           (types.empty() ? "" : R"(,"eventTypes":)" + types) + "}";
  }
  std::set<std::string> conversations() const { return {convAuth, convAuth2, kBothConversation}; }

  // Every id and secret of this business: none may reach another business's key.
  std::vector<std::string> markers() const {
    std::vector<std::string> out = {businessId, key, keyId, providerId, webhookId, deadHookId, convAuth, convAuth2,
                                    webhookSecret, idp.config().clientId, idp.config().clientSecret, idp.baseUrl() + "/",
                                    receiver.url(), failing.url()};
    for (const auto* more : {&requests, &tokens, &messageIds}) out.insert(out.end(), more->begin(), more->end());
    return out;
  }
};

std::unique_ptr<TestServer> isolationServer() {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.webhookMaxAttempts = 2;
  settings.webhookRetryBaseMs = 50;
  return std::make_unique<TestServer>(settings);
}

// Businesses alpha and bravo on one server, each with its key, provider (its own IdP double),
// webhooks and conversations, both flows completed for both; a shared provider; a revoked key of
// alpha; a message to a business bcauth does not know.
struct TwoBusinesses {
  Tenant a{"alpha"};
  Tenant b{"bravo"};
  std::unique_ptr<TestServer> server = isolationServer();  // last: stops first
  std::string bcauthUrl = "http://127.0.0.1:" + std::to_string(server->port());
  std::string revokedKey;

  TwoBusinesses() {
    const auto shared = server->call("PUT", "/v1/providers/" + kShared,
                                     R"({"name":"Shared","authorizationUrl":"https://shared.example.com/a",)"
                                     R"("tokenUrl":"https://shared.example.com/t","clientId":"shared",)"
                                     R"("scopes":["openid"]})");
    BOOST_REQUIRE_MESSAGE(shared.status == 200, shared.body);
    for (Tenant* t : {&a, &b}) {
      const auto made = server->call("POST", "/v1/businesses", R"({"id":")" + t->businessId + R"("})");
      BOOST_REQUIRE_MESSAGE(made.status == 201, made.body);
      const auto key = server->call("POST", "/v1/api-keys", R"({"name":"desk","businessId":")" + t->businessId + R"("})");
      BOOST_REQUIRE_MESSAGE(key.status == 201, key.body);
      t->key = key.json()->getValue<std::string>("key");
      t->keyId = key.json()->getValue<std::string>("id");
    }
    const auto old = server->call("POST", "/v1/api-keys", R"({"name":"old","businessId":")" + a.businessId + R"("})");
    BOOST_REQUIRE_EQUAL(old.status, 201);
    revokedKey = old.json()->getValue<std::string>("key");
    BOOST_REQUIRE_EQUAL(server->call("DELETE", "/v1/api-keys/" + old.json()->getValue<std::string>("id")).status, 204);

    for (Tenant* t : {&a, &b}) {
      // Business keys from here on: today's main answers these 403 ("cannot use this route yet").
      for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
               {"/v1/providers/" + t->providerId, t->providerBody()},
               {"/v1/webhooks/" + t->webhookId, t->webhookBody(t->receiver)},
               {"/v1/webhooks/" + t->deadHookId, t->webhookBody(t->failing, R"(["message.received"])")}}) {
        const auto put = t->call(*server, "PUT", path, body);
        BOOST_REQUIRE_MESSAGE(put.status == 200, "PUT " << path << ": " << put.status << " " << put.body);
        BOOST_TEST(put.json()->optValue<std::string>("businessId", "") == t->businessId);
      }
    }
    // Every webhook exists before the first message: each receives all its business's events.
    for (Tenant* t : {&a, &b}) {
      deliver(*t, t->convAuth, "AUTH");
      deliver(*t, t->convAuth2, "QUICK,AUTH,AUTH2");
      deliver(*t, kBothConversation, "AUTH");
    }
    deliver(b, kStranger, "AUTH", "biz-stranger");
    for (Tenant* t : {&a, &b}) {
      runLegacy(*t);
      runV2(*t);
    }
    // Each dead webhook's first deliveries are dead letters (two failed attempts each).
    BOOST_REQUIRE(waitUntil(std::chrono::seconds(60), [&] {
      for (const auto& letter : items(server->call("GET", "/v1/webhooks/dead-letters"), "deadLetters")) {
        Tenant& owner = letter->getValue<std::string>("subscriptionId") == a.deadHookId ? a : b;
        if (owner.deadLetter == 0) owner.deadLetter = letter->getValue<std::int64_t>("id");
      }
      return a.deadLetter != 0 && b.deadLetter != 0;
    }));
  }

  // A message from the customer conversation to the business, as Apple delivers it.
  void deliver(Tenant& t, const std::string& conversation, const std::string& capabilities, std::string business = "") {
    if (business.empty()) business = t.businessId;
    const std::string id = crypto::randomUuid();
    if (business == t.businessId) t.messageIds.push_back(id);
    const auto r = server->deliver(R"({"id":")" + id + R"(","type":"text","sourceId":")" + conversation +
                                       R"(","destinationId":")" + business + R"(","body":"hi"})",
                                   capabilities);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  }

  Poco::JSON::Object::Ptr create(Tenant& t, const std::string& body) {
    const auto r = t.call(*server, "POST", "/v1/auth-requests", body);
    BOOST_REQUIRE_MESSAGE(r.status == 201, t.name << ": " << r.status << " " << r.body);
    auto created = r.json();
    BOOST_TEST(created->getValue<std::string>("businessId") == t.businessId);
    t.requests.push_back(created->getValue<std::string>("id"));
    return created;
  }

  std::string readToken(Tenant& t, const std::string& id) {
    const auto r = t.call(*server, "GET", "/v1/auth-requests/" + id + "/token");
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.json()->getValue<std::string>("accessToken");
  }

  // The legacy flow: the device encrypts its token to the request's key and replies via Apple.
  void runLegacy(Tenant& t) {
    // No businessId: a business key's create takes it from the key.
    const auto created = create(t, R"({"conversationId":")" + t.convAuth + R"(","providerId":")" + t.providerId + R"("})");
    BOOST_REQUIRE_EQUAL(created->getValue<std::string>("flow"), "legacy");
    t.legacyRequest = created->getValue<std::string>("id");
    const std::string responseKey = created->getObject("message")->getObject("interactiveData")->getObject("data")
                                        ->getObject("authenticate")->getObject("oauth2")
                                        ->getValue<std::string>("responseEncryptionKey");
    const std::string token = "token-" + t.name + "-legacy";
    const std::string sealed = crypto::encrypt(crypto::PublicKey::fromBase64(responseKey).value(), token).value();
    const std::string replyId = crypto::randomUuid();
    t.messageIds.push_back(replyId);
    const auto reply = server->deliver(
        R"({"id":")" + replyId + R"(","type":"interactive","sourceId":")" + t.convAuth + R"(","destinationId":")" +
        t.businessId + R"(","interactiveData":{"data":{"version":"1.0","requestIdentifier":")" +
        created->getValue<std::string>("requestIdentifier") + R"(","authenticate":{"status":"authenticated","token":")" +
        sealed + R"("}}}})");
    BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
    BOOST_TEST(readToken(t, t.legacyRequest) == token);
    t.tokens.push_back(token);
  }

  // The iOS 16+ flow: the device signs in at the business's IdP, which redirects to /oauth/callback.
  void runV2(Tenant& t) {
    const auto created = create(t, R"({"conversationId":")" + t.convAuth2 + R"(","businessId":")" + t.businessId +
                                       R"(","providerId":")" + t.providerId + R"("})");
    BOOST_REQUIRE_EQUAL(created->getValue<std::string>("flow"), "v2");
    t.v2Request = created->getValue<std::string>("id");
    const auto run = demo::runV2Device(created->getObject("message"), t.idp.config().clientId, t.idp.baseUrl(),
                                       server->settings().publicUrl, bcauthUrl);
    BOOST_REQUIRE_EQUAL(run.finalLocation, "messages-auth://?status=success");
    BOOST_REQUIRE_EQUAL(server->deliver(demo::v2DeviceReply(created->getObject("message"), run.finalLocation)).status, 200);
    const std::string token = readToken(t, t.v2Request);
    BOOST_TEST(token.rfind("idp-access-", 0) == 0u);
    t.tokens.push_back(token);
    const auto refreshed = t.call(*server, "POST", "/v1/auth-requests/" + t.v2Request + "/refresh");
    BOOST_REQUIRE_MESSAGE(refreshed.status == 200, refreshed.body);
    t.tokens.push_back(refreshed.json()->getValue<std::string>("accessToken"));
    BOOST_TEST(readToken(t, t.v2Request) == t.tokens.back());
  }

  // Every event `t`'s key reads from the feed, oldest first.
  std::vector<Poco::JSON::Object::Ptr> feed(const Tenant& t) {
    std::vector<Poco::JSON::Object::Ptr> all;
    for (std::int64_t after = 0;;) {
      const auto page = t.call(*server, "GET", "/v1/events?limit=1000&after=" + std::to_string(after));
      BOOST_REQUIRE_MESSAGE(page.status == 200, page.body);
      const auto events = items(page, "events");
      if (events.empty()) return all;
      all.insert(all.end(), events.begin(), events.end());
      after = events.back()->getValue<std::int64_t>("seq");
    }
  }

  // What `self` must never see: the other business's ids and secrets, and the unknown business's.
  std::vector<std::string> forbidden(const Tenant& self) const {
    auto out = (&self == &a ? b : a).markers();
    out.insert(out.end(), {"biz-stranger", kStranger});
    return out;
  }
};

// An event is `t`'s: one of its conversations, and nothing of another business in it.
void checkOwnEvent(const TwoBusinesses& f, const Tenant& t, const std::string& text, const std::string& where) {
  const auto event = parse(text);
  BOOST_TEST(t.conversations().count(event->getValue<std::string>("conversationId")) == 1u, where << ": " << text);
  const auto found = leaked(text, "", f.forbidden(t));
  BOOST_TEST(found.empty(), where << " carries " << joined(found) << " to " << t.name);
}

// Calls a route on the other business's object and on an id that does not exist: both 404, and
// the same answer but for the id.
struct Probe {
  std::string method, pattern, otherId, unknownId;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(isolation, TwoBusinesses)

// The fixture itself: both flows ran with each business's own key (above); each reads its own.
BOOST_AUTO_TEST_CASE(each_business_runs_both_flows_with_its_own_key) {
  for (Tenant* t : {&a, &b}) {
    for (const auto& id : {t->legacyRequest, t->v2Request}) {
      const auto view = t->call(*server, "GET", "/v1/auth-requests/" + id);
      BOOST_REQUIRE_EQUAL(view.status, 200);
      BOOST_TEST(view.json()->getValue<std::string>("status") == "succeeded");
      BOOST_TEST(view.json()->getValue<std::string>("businessId") == t->businessId);
    }
    BOOST_TEST(readToken(*t, t->legacyRequest) == t->tokens.front());
    std::string encoded = segment(t->convAuth2);
    const auto events = t->call(*server, "GET", "/v1/conversations/" + encoded + "/events");
    BOOST_REQUIRE_EQUAL(events.status, 200);
    BOOST_TEST(events.body.find("auth.succeeded") != std::string::npos);
  }
  // The operator sees both businesses and the unknown one.
  std::string all;
  for (std::int64_t after = 0;;) {
    const auto page = server->call("GET", "/v1/events?limit=1000&after=" + std::to_string(after));
    const auto events = items(page, "events");
    if (events.empty()) break;
    all += page.body;
    after = events.back()->getValue<std::int64_t>("seq");
  }
  for (const auto& id : {a.convAuth, b.convAuth2, kStranger}) BOOST_TEST(all.find(id) != std::string::npos, id);
}

// Every route on the other business's ids: 404 exactly as for an unknown id (PUT on a taken id:
// 409), nothing of the other business in the answer, and the other's objects untouched.
BOOST_AUTO_TEST_CASE(another_business_objects_answer_as_unknown_ids) {
  for (const auto& [self, other] : {std::pair<Tenant*, Tenant*>{&a, &b}, {&b, &a}}) {
    const auto hidden = forbidden(*self);
    std::vector<Probe> probes = {
        {"GET", "/v1/providers/{}", other->providerId, "idp-nobody"},
        {"DELETE", "/v1/providers/{}", other->providerId, "idp-nobody"},
        {"GET", "/v1/conversations/{}/events", other->convAuth, "urn:mbid:nobody"},
        {"GET", "/v1/conversations/{}/events", other->convAuth2, "urn:mbid:nobody"},
        {"GET", "/v1/webhooks/{}", other->webhookId, "hook-nobody"},
        {"DELETE", "/v1/webhooks/{}", other->deadHookId, "hook-nobody"},
        {"POST", "/v1/webhooks/dead-letters/{}/replay", std::to_string(other->deadLetter), "999999"},
        {"PUT", "/v1/businesses/{}/providers/" + kShared, other->businessId, "biz-nobody"},
        {"DELETE", "/v1/businesses/{}/providers/" + kShared, other->businessId, "biz-nobody"},
        {"GET", "/v1/businesses/{}", other->businessId, "biz-nobody"},
        {"DELETE", "/v1/api-keys/{}", other->keyId, "0123456789abcdef"},
    };
    for (const auto& id : {other->legacyRequest, other->v2Request}) {
      for (const auto& [method, pattern] : std::vector<std::pair<std::string, std::string>>{
               {"GET", "/v1/auth-requests/{}"}, {"POST", "/v1/auth-requests/{}/cancel"},
               {"GET", "/v1/auth-requests/{}/token"}, {"POST", "/v1/auth-requests/{}/refresh"}}) {
        probes.push_back({method, pattern, id, crypto::randomUuid()});
      }
    }
    for (const auto& p : probes) {
      const std::string what = self->name + ": " + p.method + " " + p.pattern + " with " + p.otherId;
      const auto theirs = self->call(*server, p.method, withId(p.pattern, p.otherId));
      const auto unknown = self->call(*server, p.method, withId(p.pattern, p.unknownId));
      BOOST_TEST(theirs.status == 404, what << ": " << theirs.status << " " << theirs.body);
      BOOST_TEST(unknown.status == 404, what << " (unknown id): " << unknown.status << " " << unknown.body);
      if (theirs.status == 404) BOOST_TEST(errorCode(theirs) == "not_found", what);
      BOOST_TEST(masked(theirs.body, p.otherId) == masked(unknown.body, p.unknownId), what);
      const auto found = leaked(theirs.body, p.otherId, hidden);
      BOOST_TEST(found.empty(), what << " shows " << joined(found));
    }
    // A taken id: 409 for a PUT, whoever holds it, and the holder's object unchanged.
    for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
             {"/v1/providers/" + other->providerId, self->providerBody()},
             {"/v1/webhooks/" + other->webhookId, self->webhookBody(self->receiver)}}) {
      const auto taken = self->call(*server, "PUT", path, body);
      BOOST_TEST(taken.status == 409, self->name << ": PUT " << path << ": " << taken.status << " " << taken.body);
      if (taken.status == 409) BOOST_TEST(errorCode(taken) == "conflict");
      BOOST_TEST(leaked(taken.body, path + body, hidden).empty(), taken.body);
    }
    // The operator's routes do not exist for a business key.
    for (const auto& [method, path, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"GET", "/v1/businesses", ""},
             {"POST", "/v1/businesses", R"({"id":"biz-new"})"},
             {"GET", "/v1/businesses/" + self->businessId, ""},
             {"GET", "/v1/api-keys", ""},
             {"POST", "/v1/api-keys", R"({"name":"more","businessId":")" + other->businessId + R"("})"}}) {
      const auto refused = self->call(*server, method, path, body);
      BOOST_TEST(refused.status == 404, self->name << ": " << method << " " << path << ": " << refused.status);
      BOOST_TEST(leaked(refused.body, path + body, hidden).empty(), refused.body);
    }
    // The other's objects are as they were, read with its own key.
    const auto provider = other->call(*server, "GET", "/v1/providers/" + other->providerId);
    BOOST_REQUIRE_EQUAL(provider.status, 200);
    BOOST_TEST(provider.json()->getValue<std::string>("tokenUrl") == other->idp.baseUrl() + "/token");
    const auto hook = other->call(*server, "GET", "/v1/webhooks/" + other->webhookId);
    BOOST_REQUIRE_EQUAL(hook.status, 200);
    BOOST_TEST(hook.json()->getValue<std::string>("url") == other->receiver.url());
    BOOST_TEST(other->call(*server, "GET", "/v1/webhooks/" + other->deadHookId).status == 200);
    for (const auto& id : {other->legacyRequest, other->v2Request}) {
      const auto view = other->call(*server, "GET", "/v1/auth-requests/" + id).json();
      BOOST_TEST(view->getValue<std::string>("status") == "succeeded");
    }
    BOOST_TEST(readToken(*other, other->legacyRequest) == other->tokens.front());
    BOOST_TEST(readToken(*other, other->v2Request) == other->tokens.back());  // no refresh by the other
    bool stillDead = false;
    for (const auto& d : items(other->call(*server, "GET", "/v1/webhooks/dead-letters"), "deadLetters")) {
      stillDead = stillDead || d->getValue<std::int64_t>("id") == other->deadLetter;
    }
    BOOST_TEST(stillDead, other->name << "'s dead letter was replayed by " << self->name);
  }
}

// Lists and feeds of a business key hold its own business's objects only (and shared providers).
BOOST_AUTO_TEST_CASE(lists_and_feeds_hold_only_the_keys_business) {
  for (Tenant* self : {&a, &b}) {
    const auto hidden = forbidden(*self);
    const auto clean = [&](const Response& r, const std::string& what) {
      BOOST_TEST(r.status == 200, self->name << ": " << what << ": " << r.status << " " << r.body);
      const auto found = leaked(r.body, "", hidden);
      BOOST_TEST(found.empty(), self->name << ": " << what << " shows " << joined(found));
    };
    const auto providers = self->call(*server, "GET", "/v1/providers");
    clean(providers, "GET /v1/providers");
    std::set<std::string> providerIds;
    for (const auto& p : items(providers, "providers")) {
      providerIds.insert(p->getValue<std::string>("id"));
      const bool shared = p->getValue<std::string>("id") == kShared;
      BOOST_TEST(p->optValue<std::string>("businessId", "") == (shared ? "" : self->businessId));
    }
    BOOST_TEST((providerIds == std::set<std::string>{self->providerId, kShared}));

    const auto webhooks = self->call(*server, "GET", "/v1/webhooks");
    clean(webhooks, "GET /v1/webhooks");
    std::set<std::string> webhookIds;
    for (const auto& w : items(webhooks, "webhooks")) {
      webhookIds.insert(w->getValue<std::string>("id"));
      BOOST_TEST(w->optValue<std::string>("businessId", "") == self->businessId);
    }
    BOOST_TEST((webhookIds == std::set<std::string>{self->webhookId, self->deadHookId}));

    const auto letters = self->call(*server, "GET", "/v1/webhooks/dead-letters");
    clean(letters, "GET /v1/webhooks/dead-letters");
    BOOST_TEST(!items(letters, "deadLetters").empty());
    for (const auto& d : items(letters, "deadLetters")) {
      BOOST_TEST(d->getValue<std::string>("subscriptionId") == self->deadHookId);
    }

    const auto events = feed(*self);
    std::set<std::string> types;
    for (const auto& e : events) {
      std::ostringstream text;
      e->stringify(text);
      checkOwnEvent(*this, *self, text.str(), "GET /v1/events");
      types.insert(e->getValue<std::string>("type"));
    }
    BOOST_TEST(types.count("auth.succeeded") == 1u);
    const auto polled = self->call(*server, "GET", "/v1/events?waitSeconds=5&limit=1000");
    clean(polled, "GET /v1/events?waitSeconds");
    BOOST_TEST(items(polled, "events").size() == std::min<std::size_t>(events.size(), 1000));

    // One customer id wrote to both: each business reads its own message only.
    const auto both = self->call(*server, "GET", "/v1/conversations/" + segment(kBothConversation) + "/events");
    clean(both, "GET /v1/conversations/both/events");
    BOOST_TEST(items(both, "events").size() == 1u);

    // A long poll waiting past the key's last event: the other business's message does not
    // answer it, its own next one does.
    auto poll = std::async(std::launch::async, [&, after = events.back()->getValue<std::int64_t>("seq")] {
      return self->call(*server, "GET", "/v1/events?waitSeconds=20&after=" + std::to_string(after));
    });
    BOOST_TEST(waitUntil(std::chrono::seconds(10), [&] { return server->metric("bcauth_long_polls_open") == 1; }));
    Tenant& other = self == &a ? b : a;
    deliver(other, other.convAuth, "AUTH");
    deliver(*self, self->convAuth, "AUTH");
    const auto woken = poll.get();
    clean(woken, "GET /v1/events?waitSeconds&after");
    BOOST_TEST(woken.body.find(self->messageIds.back()) != std::string::npos, woken.body);
  }
}

// A's event stream, read up to A's last event, carries A's events and none of B's; A's webhook
// receives A's events and none of B's.
BOOST_AUTO_TEST_CASE(stream_and_webhooks_carry_only_the_keys_business) {
  for (Tenant* self : {&a, &b}) {
    const auto events = feed(*self);
    BOOST_REQUIRE(!events.empty());
    std::set<std::int64_t> own;
    for (const auto& e : events) own.insert(e->getValue<std::int64_t>("seq"));
    const std::int64_t last = *own.rbegin();

    Poco::Net::HTTPClientSession session("127.0.0.1", server->port());
    session.setTimeout(Poco::Timespan(10, 0));  // bounds the read if the stream stops short
    Poco::Net::HTTPRequest request("GET", "/v1/events/stream", Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer " + self->key);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    BOOST_REQUIRE_EQUAL(response.getStatus(), Poco::Net::HTTPResponse::HTTP_OK);
    std::set<std::int64_t> streamed;
    std::string latest;  // the data of the latest event read
    const auto readUntil = [&](const std::function<bool()>& done) {
      try {
        std::int64_t id = 0;
        for (std::string line; !done() && std::getline(in, line);) {
          if (line.rfind("id: ", 0) == 0) id = std::stoll(line.substr(4));
          if (line.rfind("data: ", 0) != 0) continue;
          latest = line.substr(6);
          checkOwnEvent(*this, *self, latest, "the event stream");
          streamed.insert(id);
        }
      } catch (const Poco::TimeoutException&) {  // the stream stopped short: the checks below fail
      }
    };
    readUntil([&] { return streamed.count(last) != 0; });
    BOOST_TEST((streamed == own), self->name << ": the stream's events are not the feed's");
    // Live: a message to the other business, then one to this one; the stream carries only the second.
    Tenant& other = self == &a ? b : a;
    deliver(other, other.convAuth, "AUTH");
    deliver(*self, self->convAuth, "AUTH");
    const std::string newest = self->messageIds.back();
    readUntil([&] { return latest.find(newest) != std::string::npos; });
    BOOST_TEST(latest.find(newest) != std::string::npos, self->name << ": the stream missed its own new message");
    session.reset();

    // Once the receiver has every event of the business (and a whole webhook round sent nothing
    // more), nothing it got is another's.
    const auto received = [&] {
      std::set<std::int64_t> seqs;
      for (const auto& body : self->receiver.bodies()) seqs.insert(parse(body)->getValue<std::int64_t>("seq"));
      return seqs;
    };
    BOOST_TEST(waitUntil(std::chrono::seconds(60),
                         [&] {
                           const auto seqs = received();
                           return std::includes(seqs.begin(), seqs.end(), own.begin(), own.end());
                         }),
               self->name << ": its webhook did not receive all its events");
    BOOST_REQUIRE(server->waitForFullRound("webhooks"));
    for (const auto& body : self->receiver.bodies()) checkOwnEvent(*this, *self, body, "the webhook");
  }
}

// A business key creates requests only in its own business, conversations and providers.
BOOST_AUTO_TEST_CASE(a_key_creates_requests_only_for_its_business) {
  const auto post = [&](const Tenant& t, const std::string& body, std::map<std::string, std::string> headers = {}) {
    return t.call(*server, "POST", "/v1/auth-requests", body, std::move(headers));
  };
  const auto body = [](const std::string& conversation, const std::string& provider, const std::string& extra = "") {
    return R"({"conversationId":")" + conversation + R"(","providerId":")" + provider + R"(","flow":"legacy")" + extra +
           "}";
  };
  for (const auto& [self, other] : {std::pair<Tenant*, Tenant*>{&a, &b}, {&b, &a}}) {
    // The other's conversation is unknown to this business (auto or legacy alike).
    for (const auto& flow : {R"(,"flow":"legacy")", R"(,"flow":"auto")"}) {
      const auto r = post(*self, R"({"conversationId":")" + other->convAuth + R"(","providerId":")" + self->providerId +
                                     R"(")" + flow + "}");
      BOOST_TEST(r.status == 404, self->name << ": " << r.status << " " << r.body);
      if (r.status == 404) BOOST_TEST(errorCode(r) == "not_found");
      BOOST_TEST(leaked(r.body, other->convAuth, forbidden(*self)).empty(), r.body);
    }
    // The other's provider is no provider, as an unknown id.
    const auto theirs = post(*self, body(self->convAuth, other->providerId));
    const auto unknown = post(*self, body(self->convAuth, "idp-nobody"));
    BOOST_TEST(theirs.status == 400, theirs.body);
    if (theirs.status == 400) BOOST_TEST(errorField(theirs) == "providerId");
    BOOST_TEST(masked(theirs.body, other->providerId) == masked(unknown.body, "idp-nobody"));
    // Naming the other business: 403 on the field.
    const auto named =
        post(*self, body(self->convAuth, self->providerId, R"(,"businessId":")" + other->businessId + R"(")"));
    BOOST_TEST(named.status == 403, named.body);
    if (named.status == 403) BOOST_TEST(errorField(named) == "businessId");
  }

  // One Idempotency-Key, three principals: three requests. The operator's body is alpha's
  // byte for byte, so a key shared across principals would replay alpha's request.
  const std::string same = body(a.convAuth, a.providerId, R"(,"businessId":")" + a.businessId + R"(")");
  const auto ofA = post(a, same, {{"Idempotency-Key", "same"}});
  const auto ofB = post(b, body(b.convAuth, b.providerId), {{"Idempotency-Key", "same"}});
  const auto ofOperator = server->call("POST", "/v1/auth-requests", same, {{"Idempotency-Key", "same"}});
  BOOST_REQUIRE_EQUAL(ofA.status, 201);
  BOOST_REQUIRE_MESSAGE(ofB.status == 201, ofB.body);
  BOOST_REQUIRE_MESSAGE(ofOperator.status == 201, ofOperator.body);
  const std::set<std::string> ids = {ofA.json()->getValue<std::string>("id"), ofB.json()->getValue<std::string>("id"),
                                     ofOperator.json()->getValue<std::string>("id")};
  BOOST_TEST(ids.size() == 3u);
  const auto replay = post(a, same, {{"Idempotency-Key", "same"}});  // within one principal it still replays
  BOOST_TEST(replay.status == 200);
  BOOST_TEST(replay.body.find(ofA.json()->getValue<std::string>("id")) != std::string::npos);
}

// A shared provider is usable by the businesses that enabled it; a business key manages only its
// own enabling, and cannot take or drop the shared provider itself.
BOOST_AUTO_TEST_CASE(a_shared_provider_is_enabled_per_business) {
  const auto enabledFor = [&](const Tenant& t, const std::string& query) {
    for (const auto& p : items(t.call(*server, "GET", "/v1/providers" + query), "providers")) {
      if (p->getValue<std::string>("id") == kShared) return p->getValue<bool>("enabled");
    }
    return false;
  };
  const auto withShared = [](const Tenant& t) {
    return R"({"conversationId":")" + t.convAuth + R"(","providerId":")" + kShared + R"(","flow":"legacy"})";
  };
  const std::string createA = withShared(a);
  BOOST_TEST(!enabledFor(a, ""));
  BOOST_TEST(a.call(*server, "POST", "/v1/auth-requests", createA).status == 400);
  BOOST_TEST(a.call(*server, "PUT", "/v1/businesses/" + a.businessId + "/providers/" + kShared).status == 204);
  BOOST_TEST(enabledFor(a, "?enabled=true"));
  BOOST_TEST(!enabledFor(b, ""));  // alpha's enabling is alpha's
  BOOST_TEST(a.call(*server, "POST", "/v1/auth-requests", createA).status == 201);
  BOOST_TEST(b.call(*server, "POST", "/v1/auth-requests", withShared(b)).status == 400);

  BOOST_TEST(a.call(*server, "PUT", "/v1/businesses/" + a.businessId + "/providers/idp-nobody").status == 404);
  BOOST_TEST(a.call(*server, "PUT", "/v1/businesses/" + a.businessId + "/providers/" + a.providerId).status == 404);
  BOOST_TEST(a.call(*server, "PUT", "/v1/providers/" + kShared, a.providerBody()).status == 403);
  BOOST_TEST(a.call(*server, "DELETE", "/v1/providers/" + kShared).status == 403);
  const auto foreign = a.call(*server, "PUT", "/v1/providers/idp-alpha-2", a.providerBody(b.businessId));
  BOOST_TEST(foreign.status == 403, foreign.body);
  const auto orphan = server->call("PUT", "/v1/providers/idp-orphan", a.providerBody("biz-nobody"));
  BOOST_TEST(orphan.status == 400, orphan.body);
  if (orphan.status == 400) BOOST_TEST(errorField(orphan) == "businessId");
  // The operator enables for any business.
  BOOST_TEST(server->call("PUT", "/v1/businesses/" + b.businessId + "/providers/" + kShared).status == 204);
  BOOST_TEST(enabledFor(b, "?enabled=true"));

  BOOST_TEST(a.call(*server, "DELETE", "/v1/businesses/" + a.businessId + "/providers/" + kShared).status == 204);
  BOOST_TEST(!enabledFor(a, ""));
  BOOST_TEST(a.call(*server, "POST", "/v1/auth-requests", createA).status == 400);
}

// Routes × keys × ids, drawn by a fixed-seed PRNG: no answer to a business key shows anything of
// the other business, and no business key gets a 2xx on the other's object.
BOOST_AUTO_TEST_CASE(random_routes_keys_and_ids_never_cross_businesses) {
  // Ids of each kind: [0] alpha's, [1] bravo's, [2] unknown, [3] malformed (raw path segments).
  const auto idsOf = [](const Tenant& t) {
    return std::vector<std::string>{t.businessId, t.providerId, t.webhookId, t.deadHookId, t.convAuth, t.convAuth2,
                                    t.legacyRequest, t.v2Request, t.keyId, std::to_string(t.deadLetter)};
  };
  const std::vector<std::vector<std::string>> ids = {
      idsOf(a), idsOf(b),
      {"idp-nobody", "hook-nobody", "biz-nobody", "urn:mbid:nobody", crypto::randomUuid(), "0123456789abcdef", "424242"},
      {"..", "%2e%2e", "%zz", "a%20b", "%00", std::string(300, 'x'), "-1", "%2F", "%F0%9F%98%80", "1e99"}};
  struct Caller {
    const Tenant* business;  // nullptr: not a business key
    std::string key;
  };
  const std::vector<Caller> callers = {{&a, a.key},          {&b, b.key},           {&a, a.key},
                                       {&b, b.key},          {nullptr, test::kApiKey}, {nullptr, revokedKey},
                                       {nullptr, "garbage"}, {nullptr, "bcak_0123456789abcdef_" + std::string(43, 'A')}};
  std::vector<http::RouteSpec> routes;
  for (const auto& route : http::routeTable()) {
    // The stream never ends by itself: the case above reads it.
    if (route.apiKey && route.pattern != "/v1/events/stream") routes.push_back(route);
  }
  std::mt19937 random(20261206);  // fixed: a failure replays
  const auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
  const auto start = std::chrono::steady_clock::now();
  int calls = 0;
  int crossing = 0;  // by a business key naming the other's ids
  const auto inTime = [&] { return std::chrono::steady_clock::now() - start < std::chrono::seconds(15); };
  for (int drawn = 0; drawn < 1000 && calls < 600 && inTime(); ++drawn) {
    const auto& route = routes[pick(routes.size())];
    const auto& caller = callers[pick(callers.size())];
    const bool writes = route.method != "GET";
    // The operator only reads: its writes could hand an id to another owner (a shared provider).
    if (caller.key == test::kApiKey && writes) continue;
    std::string path = route.pattern;
    std::string named = route.method + " ";
    std::set<std::size_t> kinds;
    bool ownDelete = false;
    for (auto at = path.find("{}"); at != std::string::npos; at = path.find("{}", at)) {
      const std::size_t kind = pick(ids.size());
      const std::string& id = ids[kind][pick(ids[kind].size())];
      // An owner deleting its own object would free the id for the other business to take.
      const bool own = caller.business != nullptr && kind == (caller.business == &a ? 0u : 1u);
      ownDelete = ownDelete || (own && route.method == "DELETE");
      kinds.insert(kind);
      const std::string inPath = kind == 3 ? id : segment(id);
      path.replace(at, 2, inPath);
      named += id + " ";
      at += inPath.size();
    }
    if (ownDelete) continue;
    std::string body;
    if (route.method == "POST" || route.method == "PUT") {
      const std::size_t kind = pick(3);
      const auto& pool = ids[kind];
      body = std::vector<std::string>{
          "{}", R"({"conversationId":")" + pool[pick(pool.size())] + R"(","providerId":")" + pool[pick(pool.size())] +
                    R"(","businessId":")" + pool[pick(pool.size())] + R"(","flow":"legacy"})",
          R"({"conversationId":")" + pool[pick(pool.size())] + R"(","providerId":")" + pool[pick(pool.size())] + R"("})",
          R"({"name":"n","businessId":")" + pool[pick(pool.size())] + R"("})"}[pick(4)];
      kinds.insert(kind);
    }
    named += body;
    const auto r = server->call(route.method, path, body, {{"Authorization", "Bearer " + caller.key}}, false);
    ++calls;
    const std::string what = caller.key.substr(0, 12) + "…: " + route.method + " " + path + " " + body + " → " +
                             std::to_string(r.status);
    if (caller.business == nullptr) {
      if (caller.key != test::kApiKey) {
        BOOST_TEST((r.status == 401 || r.status == 403 || r.status == 400 || r.status == 404), what);
        const auto found = leaked(r.body, named, a.markers());
        const auto foundB = leaked(r.body, named, b.markers());
        BOOST_TEST((found.empty() && foundB.empty()), what << " shows " << joined(found) << joined(foundB));
      }
      continue;
    }
    const std::size_t others = caller.business == &a ? 1 : 0;
    const auto found = leaked(r.body, named, forbidden(*caller.business));
    BOOST_TEST(found.empty(), what << " shows " << joined(found) << ": " << r.body);
    if (kinds.count(others) == 0) continue;
    ++crossing;
    BOOST_TEST((r.status < 200 || r.status > 299), what << " on the other's object");
  }
  BOOST_TEST_MESSAGE(calls << " random calls, " << crossing << " by a business key naming the other business's ids");
  BOOST_TEST(calls >= 200);
}

BOOST_AUTO_TEST_SUITE_END()

// Business keys share their business's request-rate bucket: a second key of alpha does not buy
// alpha more calls, and alpha over its rate holds back neither bravo nor the operator.
BOOST_AUTO_TEST_CASE(business_keys_share_one_rate_limit_per_business) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.rateLimitPerKey = 1;
  settings.rateLimitPerKeyBurst = 3;
  TestServer server(settings);
  // Made through the service: the operator's own calls would spend its bucket of three.
  auto& tenancy = server.runtime().service().tenancy;
  for (const auto* business : {"biz-alpha", "biz-bravo"}) BOOST_REQUIRE(tenancy.createBusiness({business, ""}));
  std::map<std::string, std::string> keys;
  for (const auto& [name, business] : std::vector<std::pair<std::string, std::string>>{
           {"alpha-1", "biz-alpha"}, {"alpha-2", "biz-alpha"}, {"bravo", "biz-bravo"}}) {
    const auto made = tenancy.createApiKey({name, business});
    BOOST_REQUIRE(made);
    keys[name] = made->presented;
  }
  const auto status = [&](const std::string& name) {
    return server.call("GET", "/v1/providers", "", {{"Authorization", "Bearer " + keys[name]}}, false).status;
  };
  int answered = 0;
  while (answered < 10 && status("alpha-1") != 429) ++answered;
  BOOST_TEST_REQUIRE(answered < 10, "alpha's first key was never limited");
  BOOST_TEST(answered >= 1);
  BOOST_TEST(status("alpha-2") == 429);  // the same bucket: alpha's
  BOOST_TEST(status("bravo") == 200);
  BOOST_TEST(server.call("GET", "/v1/providers").status == 200);
}

// Two `bcauth serve` processes on one PostgreSQL database: a business key made through one works
// on both; revoked through the other, its next call is refused on both, with no wait.
BOOST_AUTO_TEST_CASE(a_revoked_business_key_stops_at_once_on_every_process, BCAUTH_NEEDS_POSTGRES) {
  const std::string url = test::freshPostgresDatabase();
  const std::string masterKey = crypto::base64Encode(crypto::randomBytes(32));
  const std::map<std::string, std::string> env = {{"BCAUTH_DATABASE_URL", url}};
  test::ServeProcess one(test::freshTempDir(), masterKey, env);
  test::ServeProcess two(test::freshTempDir(), masterKey, env);
  BOOST_REQUIRE_EQUAL(one.api("POST", "/v1/businesses", R"({"id":"biz-alpha"})").status, 201);
  const auto made = one.api("POST", "/v1/api-keys", R"({"name":"desk","businessId":"biz-alpha"})");
  BOOST_REQUIRE_MESSAGE(made.status == 201, made.body);
  const auto key = parse(made.body);
  const auto withKey = [&](const test::ServeProcess& process) {
    return clients::httpCall("GET", process.baseUrl() + "/v1/providers",
                             {{"Authorization", "Bearer " + key->getValue<std::string>("key")}}, "", 30)
        .status;
  };
  BOOST_TEST(withKey(one) == 200);
  BOOST_TEST(withKey(two) == 200);
  BOOST_REQUIRE_EQUAL(two.api("DELETE", "/v1/api-keys/" + key->getValue<std::string>("id")).status, 204);
  BOOST_TEST(withKey(one) == 403);
  BOOST_TEST(withKey(two) == 403);
  BOOST_TEST(one.stop() == 0);
  BOOST_TEST(two.stop() == 0);
}
