// The server over real HTTP: a Runtime on 127.0.0.1, port 0, a temporary SQLite store.
#define BOOST_TEST_MODULE server
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include <Poco/AutoPtr.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamChannel.h>
#include <Poco/URI.h>

#include "bcauth/crypto.h"
#include "http/middleware.h"
#include "protocol/text.h"
#include "server_harness.h"
#include "store/store.h"

using namespace bcauth;
using bcauth::test::Response;
using bcauth::test::TestServer;

namespace {

// Every log line of the test run, to prove no secret reaches it.
std::ostringstream& capturedLog() {
  static std::ostringstream log;
  return log;
}

struct LogCapture {
  LogCapture() {
    Poco::AutoPtr<Poco::StreamChannel> channel = new Poco::StreamChannel(capturedLog());
    Poco::Logger::root().setChannel(channel);
    Poco::Logger::root().setLevel("information");
    Poco::Logger::get("bcauth.http").setChannel(channel);
    Poco::Logger::get("bcauth.http").setLevel("information");
  }
};
BOOST_TEST_GLOBAL_FIXTURE(LogCapture);

const std::string kClientSecret = "provider-client-secret-do-not-leak";

std::string providerBody(bool withSecret = true) {
  return std::string(R"({"name":"Example IdP","authorizationUrl":"https://idp.example.com/authorize",)") +
         R"("tokenUrl":"https://idp.example.com/token",)" +
         R"("clientId":"client-1",)" + (withSecret ? R"("clientSecret":")" + kClientSecret + R"(",)" : "") +
         R"("scopes":["openid","email","profile"],"profileFields":{"email":"email"}})";
}

std::string textMessage(const std::string& id, const std::string& conversation) {
  return R"({"id":")" + id + R"(","type":"text","v":1,"sourceId":")" + conversation +
         R"(","destinationId":"biz-1","body":"hi"})";
}

std::string legacyReply(const std::string& id, const std::string& conversation, const std::string& requestIdentifier,
                        const std::string& token) {
  return R"({"id":")" + id + R"(","type":"interactive","v":1,"sourceId":")" + conversation +
         R"(","destinationId":"biz-1","interactiveData":{"bid":"b","data":{"version":"1.0","requestIdentifier":")" +
         requestIdentifier + R"(","replyMessage":{"title":"You Signed In"},"authenticate":{"status":"authenticated","token":")" +
         token + R"("}}}})";
}

std::string v2Reply(const std::string& id, const std::string& conversation, const std::string& requestIdentifier,
                    const std::string& status) {
  return R"({"id":")" + id + R"(","type":"interactive","v":1,"sourceId":")" + conversation +
         R"(","destinationId":"biz-1","interactiveData":{"data":{"requestIdentifier":")" + requestIdentifier +
         R"(","authenticate":{"status":")" + status + R"("}}}})";
}

void setUpProvider(const TestServer& server) {
  auto r = server.call("PUT", "/v1/providers/example", providerBody());
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
}

Poco::JSON::Object::Ptr createRequest(const TestServer& server, const std::string& conversation,
                                      const std::string& flow = "auto") {
  auto r = server.call("POST", "/v1/auth-requests",
                       R"({"conversationId":")" + conversation + R"(","businessId":"biz-1","providerId":"example","flow":")" +
                           flow + R"("})");
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.status << " " << r.body);
  return r.json();
}

std::string responseKeyOf(const Poco::JSON::Object::Ptr& created) {
  return created->getObject("message")->getObject("interactiveData")->getObject("data")->getObject("authenticate")
      ->getObject("oauth2")->getValue<std::string>("responseEncryptionKey");
}

Poco::JSON::Array::Ptr conversationEvents(const TestServer& server, const std::string& conversation) {
  std::string encoded;
  Poco::URI::encode(conversation, "/+=:", encoded);
  auto r = server.call("GET", "/v1/conversations/" + encoded + "/events");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json()->getArray("events");
}

int countEvents(const Poco::JSON::Array::Ptr& events, const std::string& type) {
  int n = 0;
  for (std::size_t i = 0; i < events->size(); ++i) n += events->getObject(static_cast<unsigned>(i))->getValue<std::string>("type") == type;
  return n;
}

std::string uuid() { return crypto::randomUuid(); }

}  // namespace

BOOST_AUTO_TEST_CASE(operations_endpoints) {
  TestServer server;
  BOOST_TEST(server.call("GET", "/healthz", "", {}, false).status == 200);
  BOOST_TEST(server.call("GET", "/readyz", "", {}, false).status == 200);
  auto metrics = server.call("GET", "/metrics", "", {}, false);
  BOOST_TEST(metrics.status == 200);
  BOOST_TEST(metrics.body.find("bcauth_pending_requests 0") != std::string::npos);
  BOOST_TEST(metrics.body.find("bcauth_http_requests_total{route=\"GET /readyz\",status=\"200\"} 1") != std::string::npos);
  auto missing = server.call("GET", "/nope");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(missing.json()->getObject("error")->getValue<std::string>("code") == "not_found");
  BOOST_TEST(server.call("PATCH", "/v1/providers/x").status == 405);
  BOOST_TEST(!missing.headers["X-Request-Id"].empty());
}

BOOST_AUTO_TEST_CASE(api_key_is_required) {
  TestServer server;
  auto none = server.call("GET", "/v1/providers", "", {}, false);
  BOOST_TEST(none.status == 401);
  BOOST_TEST(none.headers["WWW-Authenticate"] == "Bearer");
  BOOST_TEST(server.call("GET", "/v1/providers", "", {{"Authorization", "Bearer wrong-key-0123456789"}}, false).status == 403);
  BOOST_TEST(server.call("GET", "/v1/providers").status == 200);
}

BOOST_AUTO_TEST_CASE(providers_keep_the_secret_write_only) {
  TestServer server;
  auto put = server.call("PUT", "/v1/providers/example", providerBody());
  BOOST_REQUIRE_EQUAL(put.status, 200);
  BOOST_TEST(put.json()->getValue<bool>("clientSecretSet"));
  BOOST_TEST(put.body.find(kClientSecret) == std::string::npos);
  // A PUT without clientSecret keeps it.
  BOOST_TEST(server.call("PUT", "/v1/providers/example", providerBody(false)).json()->getValue<bool>("clientSecretSet"));
  auto list = server.call("GET", "/v1/providers?enabled=true");
  BOOST_TEST(list.json()->getArray("providers")->size() == 1u);
  BOOST_TEST(list.body.find(kClientSecret) == std::string::npos);

  auto bad = server.call("PUT", "/v1/providers/bad", R"({"name":"x","authorizationUrl":"http://idp.example.com/a","tokenUrl":"https://x/t","clientId":"c","scopes":["openid"]})");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.json()->getObject("error")->getValue<std::string>("field") == "authorizationUrl");
  auto noScopes = server.call("PUT", "/v1/providers/bad", R"({"name":"x","authorizationUrl":"https://x/a","tokenUrl":"https://x/t","clientId":"c","scopes":[]})");
  BOOST_TEST(noScopes.json()->getObject("error")->getValue<std::string>("field") == "scopes");
  BOOST_TEST(server.call("PUT", "/v1/providers/bad", "{not json").status == 400);
  auto ampersand = server.call("PUT", "/v1/providers/bad", R"({"name":"x","authorizationUrl":"https://x/a","tokenUrl":"https://x/t","clientId":"c","clientSecret":"a&b","scopes":["openid"]})");
  BOOST_TEST(ampersand.status == 400);
  BOOST_TEST(ampersand.json()->getObject("error")->getValue<std::string>("field") == "clientSecret");
  BOOST_TEST(server.call("DELETE", "/v1/providers/example").status == 204);
  BOOST_TEST(server.call("GET", "/v1/providers/example").status == 404);
}

BOOST_AUTO_TEST_CASE(legacy_round_trip) {
  TestServer server;
  setUpProvider(server);
  const std::string conversation = "urn:mbid:AQAAY+legacy/round=trip";

  // flow auto before any capability is known: a clear 409.
  auto early = server.call("POST", "/v1/auth-requests",
                           R"({"conversationId":")" + conversation + R"(","businessId":"biz-1","providerId":"example"})");
  BOOST_TEST(early.status == 409);

  BOOST_REQUIRE_EQUAL(server.deliver(textMessage(uuid(), conversation), "QUICK,LIST,AUTH").status, 200);
  const auto created = createRequest(server, conversation);
  BOOST_TEST(created->getValue<std::string>("flow") == "legacy");
  BOOST_TEST(created->getValue<std::string>("status") == "pending");
  // The message as stored/shown never carries the provider's client secret.
  BOOST_TEST(created->getObject("message")->getObject("interactiveData")->getObject("data")->getObject("authenticate")
                 ->getObject("oauth2")->getValue<std::string>("clientSecret") == "[redacted]");

  // The test plays the device: encrypt the access token to responseEncryptionKey.
  auto key = crypto::PublicKey::fromBase64(responseKeyOf(created));
  BOOST_REQUIRE(key.isOk());
  const std::string accessToken = "ya29.integration-access-token";
  const std::string token = crypto::encrypt(*key, accessToken).value();
  const std::string id = created->getValue<std::string>("id");
  BOOST_TEST(server.call("GET", "/v1/auth-requests/" + id + "/token").status == 409);

  const std::string replyId = uuid();
  auto delivered = server.deliver(legacyReply(replyId, conversation, created->getValue<std::string>("requestIdentifier"), token));
  BOOST_REQUIRE_MESSAGE(delivered.status == 200, delivered.body);

  auto events = conversationEvents(server, conversation);
  BOOST_TEST(countEvents(events, "message.received") == 1);
  BOOST_TEST(countEvents(events, "auth.requested") == 1);
  BOOST_TEST(countEvents(events, "auth.succeeded") == 1);
  std::ostringstream eventsText;
  events->stringify(eventsText);
  BOOST_TEST(eventsText.str().find(accessToken) == std::string::npos);

  auto tokenResponse = server.call("GET", "/v1/auth-requests/" + id + "/token");
  BOOST_REQUIRE_EQUAL(tokenResponse.status, 200);
  BOOST_TEST(tokenResponse.json()->getValue<std::string>("accessToken") == accessToken);
  const std::string metrics = server.call("GET", "/metrics", "", {}, false).body;
  BOOST_TEST(metrics.find("bcauth_decrypt_seconds_count 1") != std::string::npos);
  BOOST_TEST(metrics.find("bcauth_inbound_messages_total{outcome=\"auth.succeeded\"} 1") != std::string::npos);
  BOOST_TEST(server.call("GET", "/v1/auth-requests/" + id).json()->getValue<std::string>("status") == "succeeded");

  // Redelivery of the same message id: 200, nothing new.
  auto again = server.deliver(legacyReply(replyId, conversation, created->getValue<std::string>("requestIdentifier"), token));
  BOOST_TEST(again.status == 200);
  BOOST_TEST(again.body.find("duplicate") != std::string::npos);
  // A new message id replying to a completed request: auth.rejected.
  server.deliver(legacyReply(uuid(), conversation, created->getValue<std::string>("requestIdentifier"), token));
  events = conversationEvents(server, conversation);
  BOOST_TEST(countEvents(events, "auth.succeeded") == 1);
  BOOST_TEST(countEvents(events, "auth.rejected") == 1);

  // Global feed with after=.
  auto feed = server.call("GET", "/v1/events?after=0&limit=2").json();
  BOOST_TEST(feed->getArray("events")->size() == 2u);
  auto rest = server.call("GET", "/v1/events?after=" + std::to_string(feed->getValue<std::int64_t>("next"))).json();
  BOOST_TEST(rest->getArray("events")->size() == 2u);
}

BOOST_AUTO_TEST_CASE(legacy_failures_and_bad_tokens) {
  TestServer server;
  setUpProvider(server);
  const std::string conversation = "urn:mbid:failures";
  server.deliver(textMessage(uuid(), conversation), "AUTH");

  const auto undecryptable = createRequest(server, conversation);
  auto r = server.deliver(legacyReply(uuid(), conversation, undecryptable->getValue<std::string>("requestIdentifier"),
                                      std::string(152, 'A')));
  BOOST_TEST(r.status == 200);
  const auto failed = createRequest(server, conversation);
  const std::string failedReply =
      R"({"id":")" + uuid() + R"(","type":"interactive","sourceId":")" + conversation +
      R"(","destinationId":"biz-1","interactiveData":{"data":{"requestIdentifier":")" +
      failed->getValue<std::string>("requestIdentifier") +
      R"(","authenticate":{"status":"failed","errors":[{"code":2,"domain":"com.apple.icloud.messages.business.cryptor","message":"Failed creating key"}]}}}})";
  BOOST_TEST(server.deliver(failedReply).status == 200);
  // Unknown request.
  BOOST_TEST(server.deliver(legacyReply(uuid(), conversation, "no-such-request", std::string(152, 'A'))).status == 200);

  auto events = conversationEvents(server, conversation);
  BOOST_TEST(countEvents(events, "auth.failed") == 2);
  BOOST_TEST(countEvents(events, "auth.rejected") == 1);
  bool sawDecrypt = false, sawConfig = false;
  for (std::size_t i = 0; i < events->size(); ++i) {
    auto e = events->getObject(static_cast<unsigned>(i));
    if (e->getValue<std::string>("type") != "auth.failed") continue;
    const std::string reason = e->getObject("data")->getValue<std::string>("reason");
    sawDecrypt = sawDecrypt || reason == "server_decrypt_error";
    sawConfig = sawConfig || reason == "configuration_error";
  }
  BOOST_TEST(sawDecrypt);
  BOOST_TEST(sawConfig);
}

BOOST_AUTO_TEST_CASE(v2_flow_by_capability) {
  TestServer server;
  setUpProvider(server);
  const std::string conversation = "urn:mbid:v2";
  server.deliver(textMessage(uuid(), conversation), "AUTH,AUTH2");
  const auto created = createRequest(server, conversation);
  BOOST_TEST(created->getValue<std::string>("flow") == "v2");
  const auto oauth2 = created->getObject("message")->getObject("interactiveData")->getObject("data")
                          ->getObject("authenticate")->getObject("oauth2");
  BOOST_TEST(oauth2->getValue<std::string>("redirectURI") == "https://bcauth.test/oauth/callback");
  BOOST_TEST(oauth2->getValue<std::string>("state").size() >= 22u);
  BOOST_TEST(oauth2->getValue<std::string>("additionalParameters").find("code_challenge_method=S256") != std::string::npos);
  BOOST_TEST(server.deliver(v2Reply(uuid(), conversation, created->getValue<std::string>("requestIdentifier"), "cancel")).status == 200);
  auto events = conversationEvents(server, conversation);
  BOOST_TEST(countEvents(events, "auth.cancelled") == 1);
}

BOOST_AUTO_TEST_CASE(a_reply_cannot_claim_success_without_proof) {
  TestServer server;
  setUpProvider(server);
  const std::string conversation = "urn:mbid:claims";
  server.deliver(textMessage(uuid(), conversation), "AUTH,AUTH2");
  // A legacy request answered with a v2 "success" and no token.
  const auto legacy = createRequest(server, conversation, "legacy");
  BOOST_TEST(server.deliver(v2Reply(uuid(), conversation, legacy->getValue<std::string>("requestIdentifier"), "success")).status == 200);
  // A v2 request answered "success" before (without) bcauth's callback.
  const auto v2 = createRequest(server, conversation, "v2");
  BOOST_TEST(server.deliver(v2Reply(uuid(), conversation, v2->getValue<std::string>("requestIdentifier"), "success")).status == 200);
  auto events = conversationEvents(server, conversation);
  BOOST_TEST(countEvents(events, "auth.succeeded") == 0);
  BOOST_TEST(countEvents(events, "auth.rejected") == 2);
  BOOST_TEST(server.call("GET", "/v1/auth-requests/" + legacy->getValue<std::string>("id")).json()->getValue<std::string>("status") == "pending");
  BOOST_TEST(server.call("GET", "/v1/auth-requests/" + v2->getValue<std::string>("id")).json()->getValue<std::string>("status") == "pending");
}

BOOST_AUTO_TEST_CASE(cancel_and_idempotency) {
  TestServer server;
  setUpProvider(server);
  const std::string body = R"({"conversationId":"urn:mbid:c","businessId":"biz-1","providerId":"example","flow":"legacy","scopes":["openid"]})";
  auto first = server.call("POST", "/v1/auth-requests", body, {{"Idempotency-Key", "key-1"}});
  auto second = server.call("POST", "/v1/auth-requests", body, {{"Idempotency-Key", "key-1"}});
  BOOST_REQUIRE_EQUAL(first.status, 201);
  BOOST_TEST(second.status == 200);
  BOOST_TEST(first.json()->getValue<std::string>("id") == second.json()->getValue<std::string>("id"));
  const std::string id = first.json()->getValue<std::string>("id");
  BOOST_TEST(server.call("POST", "/v1/auth-requests/" + id + "/cancel").json()->getValue<std::string>("status") == "cancelled");
  BOOST_TEST(server.call("POST", "/v1/auth-requests/" + id + "/cancel").status == 409);
  BOOST_TEST(server.call("GET", "/v1/auth-requests/" + id + "/token").status == 409);
  BOOST_TEST(server.call("GET", "/v1/auth-requests/nope").status == 404);
  auto badScope = server.call("POST", "/v1/auth-requests",
                              R"({"conversationId":"c","businessId":"b","providerId":"example","flow":"legacy","scopes":["admin"]})");
  BOOST_TEST(badScope.status == 400);
  BOOST_TEST(badScope.json()->getObject("error")->getValue<std::string>("field") == "scopes");
  auto missing = server.call("POST", "/v1/auth-requests", R"({"businessId":"b","providerId":"example"})");
  BOOST_TEST(missing.json()->getObject("error")->getValue<std::string>("field") == "conversationId");
}

// Issue 12 §4: an Idempotency-Key is bound to its body. The same body (even re-serialised in
// another key order and spacing) replays the first request in its 201 representation; another
// body is 422 idempotency_conflict, and nothing more is created either way.
BOOST_AUTO_TEST_CASE(an_idempotency_key_is_bound_to_its_body) {
  TestServer server;
  setUpProvider(server);
  const std::string body =
      R"({"conversationId":"urn:mbid:idem-body","businessId":"biz-1","providerId":"example","flow":"legacy","scopes":["openid"],"ttlSeconds":600})";
  const std::string sameReordered =
      R"( { "ttlSeconds" : 600, "scopes" : [ "openid" ], "flow":"legacy", "providerId":"ex\u0061mple", "businessId":"biz-1", "conversationId":"urn:mbid:idem-body" } )";
  const std::string other =
      R"({"conversationId":"urn:mbid:idem-body","businessId":"biz-1","providerId":"example","flow":"legacy","scopes":["email"],"ttlSeconds":600})";
  const auto first = server.call("POST", "/v1/auth-requests", body, {{"Idempotency-Key", "bound-key"}});
  BOOST_REQUIRE_EQUAL(first.status, 201);
  BOOST_TEST(first.headers.count("Idempotent-Replayed") == 0u);

  auto replay = server.call("POST", "/v1/auth-requests", sameReordered, {{"Idempotency-Key", "bound-key"}});
  BOOST_REQUIRE_EQUAL(replay.status, 200);
  BOOST_TEST(replay.headers["Idempotent-Replayed"] == "true");
  // The replay is the 201's representation: the same fields, message included and identical.
  auto names = [](const Poco::JSON::Object::Ptr& o) {
    auto list = o->getNames();
    std::sort(list.begin(), list.end());
    return list;
  };
  BOOST_TEST(names(replay.json()) == names(first.json()), boost::test_tools::per_element());
  BOOST_TEST(replay.json()->getValue<std::string>("id") == first.json()->getValue<std::string>("id"));
  BOOST_REQUIRE(replay.json()->has("message"));
  std::ostringstream firstMessage, replayMessage;
  first.json()->getObject("message")->stringify(firstMessage);
  replay.json()->getObject("message")->stringify(replayMessage);
  BOOST_TEST(replayMessage.str() == firstMessage.str());

  const auto conflict = server.call("POST", "/v1/auth-requests", other, {{"Idempotency-Key", "bound-key"}});
  BOOST_TEST(conflict.status == 422);
  const auto error = conflict.json()->getObject("error");
  BOOST_TEST(error->getValue<std::string>("code") == "idempotency_conflict");
  BOOST_TEST(error->getValue<std::string>("field") == "Idempotency-Key");
  // A gzipped copy of the first body is the same body.
  const auto gzipped = server.call("POST", "/v1/auth-requests", http::gzip(body),
                                   {{"Idempotency-Key", "bound-key"}, {"Content-Encoding", "gzip"}});
  BOOST_TEST(gzipped.status == 200);

  const auto events = server.call("GET", "/v1/conversations/urn:mbid:idem-body/events").json()->getArray("events");
  BOOST_TEST(events->size() == 1u);  // one auth.requested, whatever was retried
  // The same other body under a fresh key is an ordinary new request.
  BOOST_TEST(server.call("POST", "/v1/auth-requests", other, {{"Idempotency-Key", "fresh-key"}}).status == 201);
}

BOOST_AUTO_TEST_CASE(apple_jwt_negatives) {
  TestServer server;
  const std::string msg = textMessage(uuid(), "urn:mbid:jwt");
  BOOST_TEST(server.deliver(msg, "", true, std::string("")).status == 401);
  BOOST_TEST(server.deliver(msg, "", true, "Bearer " + TestServer::appleJwt("wrong-secret")).status == 403);
  BOOST_TEST(server.deliver(msg, "", true, "Bearer " + TestServer::appleJwt(bcauth::test::kAppleSecret, "other-csp")).status == 403);
  BOOST_TEST(server.deliver(msg, "", true, "Bearer " + TestServer::appleJwt(bcauth::test::kAppleSecret, bcauth::test::kCspId, -7200)).status == 403);
  BOOST_TEST(server.deliver(msg, "", true, "Bearer " + TestServer::appleJwt(bcauth::test::kAppleSecret, bcauth::test::kCspId, 7200)).status == 403);
  // alg none: header {"alg":"none"}, no signature.
  const std::string none = crypto::base64UrlEncode(std::span(reinterpret_cast<const std::uint8_t*>(R"({"alg":"none","typ":"JWT"})"), 27)) + "." +
                           crypto::base64UrlEncode(std::span(reinterpret_cast<const std::uint8_t*>(R"({"aud":"csp-test-0001"})"), 23)) + ".";
  BOOST_TEST(server.deliver(msg, "", true, "Bearer " + none).status == 403);
  BOOST_TEST(server.deliver(msg, "", true, std::string("Basic abc")).status == 401);
  BOOST_TEST(server.deliver(msg, "", true, std::string("Bearer not.a.jwt.at.all")).status == 403);
  // aud may be an array naming the CSP id among others.
  {
    Poco::JWT::Token token;
    token.setAudience(std::vector<std::string>{"someone-else", bcauth::test::kCspId});
    token.setIssuedAt(Poco::Timestamp());
    Poco::JWT::Signer signer(bcauth::test::kAppleSecret);
    BOOST_TEST(server.deliver(textMessage(uuid(), "urn:mbid:jwt"), "", true,
                              "Bearer " + signer.sign(token, Poco::JWT::Signer::ALGO_HS256)).status == 200);
    signer.addAlgorithm(Poco::JWT::Signer::ALGO_HS512);
    BOOST_TEST(server.deliver(textMessage(uuid(), "urn:mbid:jwt"), "", true,
                              "Bearer " + signer.sign(token, Poco::JWT::Signer::ALGO_HS512)).status == 403);
  }
  BOOST_TEST(server.deliver(msg).status == 200);
}

// exp and nbf, when Apple's JWT carries them, are honoured with a 60 s allowance for clock skew
// (never more than the iat window); a claim that is not a number is refused, not ignored.
BOOST_AUTO_TEST_CASE(apple_jwt_exp_and_nbf) {
  constexpr std::int64_t kNow = 1'700'000'000;
  const auto jwtWith = [](const std::string& claims) {
    const auto segment = [](const std::string& json) {
      return crypto::base64UrlEncode(std::span(reinterpret_cast<const std::uint8_t*>(json.data()), json.size()));
    };
    const std::string signingInput = segment(R"({"alg":"HS256","typ":"JWT"})") + "." +
                                     segment(R"({"aud":")" + bcauth::test::kCspId + R"(","iat":)" +
                                             std::to_string(kNow) + claims + "}");
    return "Bearer " + signingInput + "." + crypto::base64UrlEncode(crypto::hmacSha256(bcauth::test::kAppleSecret, signingInput));
  };
  const auto check = [&](const std::string& claims, std::int64_t window = 3600) {
    return http::verifyAppleJwt(jwtWith(claims), bcauth::test::kAppleSecret, bcauth::test::kCspId, kNow, window);
  };
  const auto valid = [&](const std::string& claims, std::int64_t window = 3600) {
    const auto result = check(claims, window);
    BOOST_TEST_INFO(claims << ": " << result.reason);
    return result.verdict == http::JwtVerdict::kValid;
  };
  BOOST_TEST(valid(""));
  BOOST_TEST(valid(R"(,"exp":)" + std::to_string(kNow + 300)));
  BOOST_TEST(valid(R"(,"exp":)" + std::to_string(kNow - 30)));  // within the skew allowance
  BOOST_TEST(!valid(R"(,"exp":)" + std::to_string(kNow - 61)));
  BOOST_TEST(check(R"(,"exp":)" + std::to_string(kNow - 61)).reason == "JWT expired (exp is past)");
  BOOST_TEST(valid(R"(,"nbf":)" + std::to_string(kNow - 300)));
  BOOST_TEST(valid(R"(,"nbf":)" + std::to_string(kNow + 30)));
  BOOST_TEST(!valid(R"(,"nbf":)" + std::to_string(kNow + 61)));
  BOOST_TEST(check(R"(,"nbf":)" + std::to_string(kNow + 61)).reason == "JWT not yet valid (nbf is ahead)");
  // A window smaller than the allowance bounds it.
  BOOST_TEST(!valid(R"(,"exp":)" + std::to_string(kNow - 30), 10));
  BOOST_TEST(!valid(R"(,"exp":")" + std::to_string(kNow + 300) + "\""));
  BOOST_TEST(!valid(R"(,"nbf":null)"));
  BOOST_TEST(valid(R"(,"exp":1e300,"nbf":-1e300)"));  // far, not undefined behaviour
  BOOST_TEST(check(R"(,"exp":true)").reason == "JWT exp is not a number");

  // Over HTTP: a 403 with the reason.
  TestServer server;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  Poco::JWT::Token token;
  token.setAudience(bcauth::test::kCspId);
  token.setIssuedAt(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(now)));
  token.setExpiration(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(now - 600)));
  Poco::JWT::Signer signer(bcauth::test::kAppleSecret);
  const auto expired = server.deliver(textMessage(uuid(), "urn:mbid:jwt"), "", true,
                                      "Bearer " + signer.sign(token, Poco::JWT::Signer::ALGO_HS256));
  BOOST_TEST(expired.status == 403);
  BOOST_TEST(expired.json()->getObject("error")->getValue<std::string>("message") == "JWT expired (exp is past)");
  token.setExpiration(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(now + 600)));
  token.setNotBefore(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(now + 600)));
  const auto early = server.deliver(textMessage(uuid(), "urn:mbid:jwt"), "", true,
                                    "Bearer " + signer.sign(token, Poco::JWT::Signer::ALGO_HS256));
  BOOST_TEST(early.status == 403);
  BOOST_TEST(early.json()->getObject("error")->getValue<std::string>("message") == "JWT not yet valid (nbf is ahead)");
  token.setNotBefore(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(now - 600)));
  BOOST_TEST(server.deliver(textMessage(uuid(), "urn:mbid:jwt"), "", true,
                            "Bearer " + signer.sign(token, Poco::JWT::Signer::ALGO_HS256)).status == 200);
}

// A full store (here: BCAUTH_SQLITE_MAX_BYTES reached, as a full disk would be) answers 503 with
// Retry-After and storage_unavailable — to the CSP API and to Apple, who retries — and /readyz
// says not ready; when space returns (freed by another connection, not through this server),
// /readyz recovers by itself, the refused message is accepted on Apple's retry, and nothing
// accepted before is lost.
BOOST_AUTO_TEST_CASE(a_full_store_answers_503_and_recovers_by_itself) {
  auto settings = bcauth::test::testSettings(TestServer::freshDir());
  settings.sqliteMaxBytes = 512 * 1024;
  TestServer server(settings);
  const auto providerNamed = [](const std::string& name) {
    return R"({"name":")" + name + R"(","authorizationUrl":"https://idp.example.com/authorize",)" +
           R"("tokenUrl":"https://idp.example.com/token","clientId":"client-1","scopes":["openid"]})";
  };
  // Room to give back later: a provider with a 200 KB name.
  BOOST_REQUIRE_EQUAL(server.call("PUT", "/v1/providers/pad", providerNamed(std::string(200 * 1024, 'p'))).status, 200);
  const std::string firstMessage = uuid();
  BOOST_REQUIRE_EQUAL(server.deliver(textMessage(firstMessage, "urn:mbid:full")).status, 200);

  // Large writes fill the free pages; Apple's messages then fill the pages their rows go to,
  // until no write fits anywhere.
  std::vector<std::string> accepted;
  Response refused;
  for (int i = 0; i < 400 && refused.status == 0; ++i) {
    const std::string id = "fill-" + std::to_string(i);
    const Response r = server.call("PUT", "/v1/providers/" + id, providerNamed(id + std::string(8 * 1024, 'f')));
    if (r.status == 200) accepted.push_back(id);
    else refused = r;
  }
  BOOST_REQUIRE_EQUAL(refused.status, 503);
  BOOST_TEST(!accepted.empty());
  BOOST_TEST(refused.headers.count("Retry-After") == 1u);
  BOOST_TEST(refused.json()->getObject("error")->getValue<std::string>("code") == "storage_unavailable");

  std::vector<std::string> acceptedMessages = {firstMessage};
  std::string refusedMessage;
  Response apple;
  for (int i = 0; i < 5000 && refusedMessage.empty(); ++i) {
    const std::string id = uuid();
    apple = server.deliver(textMessage(id, "urn:mbid:full"));
    if (apple.status == 200) acceptedMessages.push_back(id);
    else refusedMessage = id;
  }
  BOOST_REQUIRE_EQUAL(apple.status, 503);
  BOOST_TEST(apple.headers.count("Retry-After") == 1u);
  BOOST_TEST(apple.json()->getObject("error")->getValue<std::string>("code") == "storage_unavailable");
  const Response notReady = server.call("GET", "/readyz", "", {}, false);
  BOOST_TEST(notReady.status == 503);
  BOOST_TEST(notReady.json()->getObject("error")->getValue<std::string>("code") == "storage_unavailable");
  BOOST_TEST(server.call("GET", "/healthz", "", {}, false).status == 200);  // alive, just not ready
  BOOST_TEST(server.call("GET", "/v1/providers/" + accepted.front()).status == 200);  // reads still work

  // Space comes back outside this server: another connection deletes the padding.
  {
    auto other = store::openSqliteStore(settings.dataDir);
    other->transaction([](store::Transaction& tx) { BOOST_TEST(tx.deleteProvider("pad")); });
  }
  // /readyz probes the store again at most once a second: a bounded wait for it to say ready.
  int readyStatus = 0;
  bcauth::test::waitUntil(std::chrono::seconds(20), [&] {
    readyStatus = server.call("GET", "/readyz", "", {}, false).status;
    return readyStatus == 200;
  });
  BOOST_TEST(readyStatus == 200);
  BOOST_TEST(server.deliver(textMessage(refusedMessage, "urn:mbid:full")).json()->getValue<std::string>("status") ==
             "accepted");
  for (const auto& id : accepted) {
    const Response r = server.call("GET", "/v1/providers/" + id);
    BOOST_TEST(r.status == 200, id);
    if (r.status == 200) BOOST_TEST(r.json()->getValue<std::string>("name") == id + std::string(8 * 1024, 'f'));
  }
  const auto events =
      server.call("GET", "/v1/conversations/urn:mbid:full/events?limit=1000").json()->getArray("events");
  BOOST_TEST(events->size() == acceptedMessages.size() + 1);
}

BOOST_AUTO_TEST_CASE(bodies_plain_gzip_oversized_malformed) {
  auto settings = bcauth::test::testSettings(TestServer::freshDir());
  settings.maxBodyBytes = 4096;
  TestServer server(settings);
  BOOST_TEST(server.deliver(textMessage(uuid(), "urn:mbid:b"), "", false).status == 200);
  BOOST_TEST(server.deliver(textMessage(uuid(), "urn:mbid:b"), "", true).status == 200);
  auto big = server.deliver(R"({"id":"x","pad":")" + std::string(10000, 'a') + R"("})", "", false);
  BOOST_TEST(big.status == 413);
  // A gzip bomb: small compressed, large inflated.
  BOOST_TEST(server.deliver(R"({"id":"x","pad":")" + std::string(100000, 'a') + R"("})", "", true).status == 413);
  auto malformed = server.deliver("{\"id\": \"x\",", "", false);
  BOOST_TEST(malformed.status == 400);
  BOOST_TEST(malformed.json()->getObject("error")->getValue<std::string>("message").find("malformed JSON") != std::string::npos);
  auto noId = server.deliver(R"({"type":"text","sourceId":"s","destinationId":"d"})", "", false);
  BOOST_TEST(noId.status == 400);
  BOOST_TEST(noId.json()->getObject("error")->getValue<std::string>("field") == "id");
  BOOST_TEST(server.deliver(std::string("\x1f\x8b\x08garbage", 10), "", false).status == 400);
}

BOOST_AUTO_TEST_CASE(fifty_concurrent_deliveries_one_success) {
  TestServer server;
  setUpProvider(server);
  const std::string conversation = "urn:mbid:concurrent";
  server.deliver(textMessage(uuid(), conversation), "AUTH");
  const auto created = createRequest(server, conversation);
  const std::string token = crypto::encrypt(crypto::PublicKey::fromBase64(responseKeyOf(created)).value(), "tok").value();
  const std::string reply = legacyReply(uuid(), conversation, created->getValue<std::string>("requestIdentifier"), token);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      if (server.deliver(reply).status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(ok.load() == 50);
  BOOST_TEST(countEvents(conversationEvents(server, conversation), "auth.succeeded") == 1);
}

BOOST_AUTO_TEST_CASE(pending_request_survives_a_restart) {
  TestServer server;
  setUpProvider(server);
  const std::string conversation = "urn:mbid:restart";
  server.deliver(textMessage(uuid(), conversation), "AUTH");
  const auto created = createRequest(server, conversation);
  server.restart();  // same data directory, same master key
  const std::string token = crypto::encrypt(crypto::PublicKey::fromBase64(responseKeyOf(created)).value(), "after-restart").value();
  BOOST_TEST(server.deliver(legacyReply(uuid(), conversation, created->getValue<std::string>("requestIdentifier"), token)).status == 200);
  auto tokenResponse = server.call("GET", "/v1/auth-requests/" + created->getValue<std::string>("id") + "/token");
  BOOST_REQUIRE_EQUAL(tokenResponse.status, 200);
  BOOST_TEST(tokenResponse.json()->getValue<std::string>("accessToken") == "after-restart");
}

BOOST_AUTO_TEST_CASE(ttl_below_the_minimum_is_refused) {
  TestServer server;
  setUpProvider(server);
  auto r = server.call("POST", "/v1/auth-requests",
                       R"({"conversationId":"urn:mbid:ttl","businessId":"b","providerId":"example","flow":"legacy","ttlSeconds":5})");
  BOOST_TEST(r.status == 400);  // below the 30-second minimum
  BOOST_TEST(r.json()->getObject("error")->getValue<std::string>("field") == "ttlSeconds");
}

// Found by fuzz_api: values Poco reads as something other than a plain int64 are each a clear 400.
BOOST_AUTO_TEST_CASE(ttl_that_is_not_an_int64_is_refused) {
  TestServer server;
  setUpProvider(server);
  for (const std::string ttl : {"true", "1e300", "-1e300", "18446744073709551615", "9223372036854775808", "60.5", "\"x\""}) {
    BOOST_TEST_CONTEXT("ttlSeconds " << ttl) {
      auto r = server.call("POST", "/v1/auth-requests",
                           R"({"conversationId":"urn:mbid:ttl","businessId":"b","providerId":"example","flow":"legacy","ttlSeconds":)" +
                               ttl + "}");
      BOOST_TEST(r.status == 400);
      BOOST_TEST(r.json()->getObject("error")->getValue<std::string>("field") == "ttlSeconds");
    }
  }
}

BOOST_AUTO_TEST_CASE(long_poll_wakes_on_a_new_event) {
  TestServer server;
  const auto last = server.call("GET", "/v1/events").json()->getValue<std::int64_t>("next");
  std::thread later([&] {
    // Once the poll is open and waiting (its slot shows in the gauge), not after a guessed sleep.
    bcauth::test::waitUntil(std::chrono::seconds(20), [&] { return server.metric("bcauth_long_polls_open") == 1; });
    server.deliver(textMessage(uuid(), "urn:mbid:poll"), "AUTH");
  });
  // The poll may wait 60 s, twice the harness client's 30 s timeout: only a poll the event ends
  // answers this call at all (one held to its wait would throw here).
  auto polled = server.call("GET", "/v1/events?after=" + std::to_string(last) + "&waitSeconds=60");
  later.join();
  BOOST_TEST(polled.json()->getArray("events")->size() == 1u);
  // Its slot is given back just after the answer is sent.
  BOOST_TEST(bcauth::test::waitUntil(std::chrono::seconds(10), [&] { return server.metric("bcauth_long_polls_open") == 0; }));
  BOOST_TEST(server.call("GET", "/v1/events?waitSeconds=99").status == 400);
}

// Settings for a TLS server, with a fresh self-signed certificate and key in a fresh directory.
bcauth::app::Settings tlsSettings() {
  const std::string dir = TestServer::freshDir();
  Poco::File(dir).createDirectories();
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  const std::string command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                              key + " -out " + cert + " >/dev/null 2>&1";
  BOOST_REQUIRE(std::system(command.c_str()) == 0);
  auto settings = bcauth::test::testSettings(dir + "/data");
  settings.tlsCertificate = cert;
  settings.tlsPrivateKey = key;
  return settings;
}

BOOST_AUTO_TEST_CASE(serves_https_when_a_certificate_is_configured) {
  TestServer server(tlsSettings());
  Poco::Net::Context::Ptr client = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_NONE);
  Poco::Net::HTTPSClientSession session("127.0.0.1", server.port(), client);
  Poco::Net::HTTPRequest request("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  BOOST_TEST(static_cast<int>(response.getStatus()) == 200);
  BOOST_TEST(body == R"({"status":"ok"})");
  // Plain HTTP to the TLS port does not get an answer in clear.
  BOOST_CHECK_THROW(server.call("GET", "/healthz", "", {}, false), Poco::Exception);
}

// Poco's ServerSocket sets SO_REUSEPORT, with which a second server on a taken port would start
// and silently take half of its connections. bcauth refuses to start instead.
BOOST_AUTO_TEST_CASE(a_port_in_use_is_refused_not_shared) {
  TestServer first;
  const auto inUse = [](const Poco::Exception& e) { return e.displayText().find("in use") != std::string::npos; };
  auto plain = bcauth::test::testSettings(TestServer::freshDir());
  plain.port = first.port();
  BOOST_CHECK_EXCEPTION(bcauth::app::Runtime{plain}, Poco::Exception, inUse);
  auto tls = tlsSettings();
  tls.port = first.port();
  BOOST_CHECK_EXCEPTION(bcauth::app::Runtime{tls}, Poco::Exception, inUse);
  BOOST_TEST(first.call("GET", "/healthz", "", {}, false).status == 200);
}

BOOST_AUTO_TEST_CASE(an_unread_body_is_never_taken_for_the_next_request) {
  TestServer server;
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string raw = "POST /message HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled.size()) +
                          "\r\n\r\n" + smuggled;
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", server.port()));
  socket.sendBytes(raw.data(), static_cast<int>(raw.size()));
  std::string received;
  char buffer[4096];
  // The first answer, whole, however slow the build; then 1.5 s in which a second must not come.
  auto firstAnswerComplete = [&received] {
    const auto end = received.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const auto length = received.find("Content-Length: ");
    if (length == std::string::npos || length > end) return true;
    return received.size() >= end + 4 + std::stoul(received.substr(length + 16));
  };
  try {
    socket.setReceiveTimeout(Poco::Timespan(30, 0));
    for (int n; !firstAnswerComplete() && (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;) {
      received.append(buffer, static_cast<std::size_t>(n));
    }
    socket.setReceiveTimeout(Poco::Timespan(1, 500000));
    for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;) received.append(buffer, static_cast<std::size_t>(n));
  } catch (const Poco::TimeoutException&) {
  }
  std::size_t responses = 0;
  for (std::size_t at = received.find("HTTP/1.1 "); at != std::string::npos; at = received.find("HTTP/1.1 ", at + 1)) ++responses;
  BOOST_TEST(responses == 1u);
  BOOST_TEST(received.rfind("HTTP/1.1 401 Unauthorized", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(http_details) {
  TestServer server;
  auto r = server.call("DELETE", "/v1/events");
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.headers["Allow"] == "GET, HEAD, OPTIONS");
  BOOST_TEST(server.call("GET", "/v1/providers/%zz").status == 400);
  BOOST_TEST(server.call("GET", "/v1/events?after=1%zz").status == 400);
}

BOOST_AUTO_TEST_CASE(long_polls_are_capped_and_end_at_shutdown) {
  auto settings = bcauth::test::testSettings(TestServer::freshDir());
  settings.maxThreads = 4;  // one long-poll at a time
  TestServer server(settings);
  std::atomic<int> firstStatus{0};
  std::thread first([&] {
    try {
      firstStatus = server.call("GET", "/v1/events?waitSeconds=60").status;
    } catch (const Poco::Exception&) {  // the client's timeout: the poll was never answered
      firstStatus = -1;
    }
  });
  // The first long-poll holds the only slot once the gauge says so (not after a guessed sleep).
  bcauth::test::waitUntil(std::chrono::seconds(20), [&] { return server.metric("bcauth_long_polls_open") == 1; });
  auto second = server.call("GET", "/v1/events?waitSeconds=30");
  BOOST_TEST(second.status == 429);
  BOOST_TEST(second.headers["Retry-After"] == "1");
  server.stop();  // the open long-poll must not hold the stop for its 60 seconds
  first.join();
  // The stop answered the poll: a poll held to its 60 s wait would have outlasted the harness
  // client's 30 s timeout and never been answered.
  BOOST_TEST(firstStatus == 200);
}

// --- issue 12 §5: every error body is UTF-8 JSON; internals stay in the log ---------------------

namespace {

// An error answer as the issue requires: the status, valid UTF-8, JSON with error.code/message.
Poco::JSON::Object::Ptr errorOf(const Response& r, int status) {
  BOOST_TEST(r.status == status);
  BOOST_REQUIRE_MESSAGE(protocol::isValidUtf8(r.body), "not UTF-8: " << protocol::toValidUtf8(r.body));
  Poco::JSON::Object::Ptr error;
  BOOST_REQUIRE_NO_THROW(error = r.json()->getObject("error"));
  BOOST_REQUIRE(error);
  BOOST_TEST(!error->getValue<std::string>("code").empty());
  return error;
}

std::string fieldOf(const Poco::JSON::Object::Ptr& error) { return error->has("field") ? error->getValue<std::string>("field") : ""; }

}  // namespace

BOOST_AUTO_TEST_CASE(error_bodies_are_utf8_json_whatever_the_bytes) {
  TestServer server;
  for (const std::string body : {"[1,2", "\x80", "{\"a\":\xFF}", "\xFF\xFE", "1", "{\"a\":"}) {
    BOOST_TEST_CONTEXT(protocol::toValidUtf8(body)) {
      const auto put = errorOf(server.call("PUT", "/v1/providers/x", body), 400);
      BOOST_TEST(put->getValue<std::string>("message").find("stack") == std::string::npos);
      errorOf(server.call("POST", "/v1/auth-requests", body), 400);
      errorOf(server.deliver(body, "", false), 400);
      errorOf(server.deliver(body), 400);  // the same, gzipped as Apple sends it
    }
  }
  // Bytes decoded from the path: %FF is not UTF-8.
  errorOf(server.call("GET", "/v1/providers/%FF"), 400);
  errorOf(server.call("GET", "/v1/auth-requests/%FF%FE"), 400);
  errorOf(server.call("DELETE", "/v1/webhooks/%C0%80"), 400);
}

BOOST_AUTO_TEST_CASE(an_internal_failure_is_logged_under_the_request_id_not_sent) {
  auto settings = bcauth::test::testSettings(TestServer::freshDir());
  std::string requestId;
  {
    TestServer first(settings);
    setUpProvider(first);  // its client secret sealed under this master key
  }
  settings.masterKey = crypto::base64Encode(crypto::randomBytes(32));  // the wrong key
  TestServer server(settings);
  auto r = server.call("POST", "/v1/auth-requests",
                       R"({"conversationId":"urn:mbid:wrongkey","businessId":"biz-1","providerId":"example","flow":"legacy"})",
                       {{"X-Request-Id", "internal-fault-0001"}});
  const auto error = errorOf(r, 500);
  BOOST_TEST(error->getValue<std::string>("code") == "internal");
  BOOST_TEST(r.body.find("unseal") == std::string::npos);
  BOOST_TEST(r.body.find("master key") == std::string::npos);
  BOOST_TEST(r.headers["X-Request-Id"] == "internal-fault-0001");
  const std::string log = capturedLog().str();
  const auto line = log.find("request internal-fault-0001 internal error");
  BOOST_REQUIRE(line != std::string::npos);
  BOOST_TEST(log.substr(line, log.find('\n', line) - line).find("does not unseal") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_request_logs_one_json_line_with_its_id_route_status_and_time) {
  TestServer server;
  auto r = server.call("GET", "/v1/providers", "", {{"X-Request-Id", "log-line-0001"}});
  BOOST_TEST(r.status == 200);
  const std::string log = capturedLog().str();
  const auto at = log.find(R"({"requestId":"log-line-0001")");
  BOOST_REQUIRE(at != std::string::npos);
  const auto line = Poco::JSON::Parser().parse(log.substr(at, log.find('\n', at) - at)).extract<Poco::JSON::Object::Ptr>();
  BOOST_TEST(line->getValue<std::string>("method") == "GET");
  BOOST_TEST(line->getValue<std::string>("route") == "GET /v1/providers");
  BOOST_TEST(line->getValue<int>("status") == 200);
  BOOST_TEST(line->getValue<double>("ms") >= 0.0);
  BOOST_TEST(line->size() == 5u);
  // Milliseconds with three decimals, whatever the value.
  BOOST_TEST(http::requestLine("id-1", "POST", "POST /message", 200, 0.0004) ==
             R"({"requestId":"id-1","method":"POST","route":"POST /message","status":200,"ms":0.000})");
  BOOST_TEST(http::requestLine("id-2", "GET", "unmatched", 404, 12345.6789) ==
             R"({"requestId":"id-2","method":"GET","route":"unmatched","status":404,"ms":12345.679})");
}

BOOST_AUTO_TEST_CASE(an_internal_fault_at_the_redirect_is_logged_not_put_in_the_event) {
  auto settings = bcauth::test::testSettings(TestServer::freshDir());
  std::string state;
  std::string id;
  {
    TestServer first(settings);
    setUpProvider(first);
    auto created = createRequest(first, "urn:mbid:wrongkey-v2", "v2");  // its PKCE verifier sealed under this key
    id = created->getValue<std::string>("id");
    state = created->getObject("message")->getObject("interactiveData")->getObject("data")->getObject("authenticate")
                ->getObject("oauth2")->getValue<std::string>("state");
  }
  settings.masterKey = crypto::base64Encode(crypto::randomBytes(32));
  TestServer server(settings);
  BOOST_TEST(server.call("GET", "/oauth/callback?state=" + state + "&code=abc", "", {}, false).status == 302);
  const auto events = conversationEvents(server, "urn:mbid:wrongkey-v2");
  BOOST_REQUIRE(countEvents(events, "auth.failed") == 1);
  for (std::size_t i = 0; i < events->size(); ++i) {
    const auto event = events->getObject(static_cast<unsigned>(i));
    if (event->getValue<std::string>("type") == "auth.failed") {
      BOOST_TEST(event->getObject("data")->getValue<std::string>("detail") == "internal error (see the server log)");
    }
  }
  const std::string log = capturedLog().str();
  BOOST_TEST(log.find("auth request " + id + ": the PKCE verifier does not unseal") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(idp_text_in_events_is_bounded_and_has_no_control_characters) {
  TestServer server;
  setUpProvider(server);
  auto created = createRequest(server, "urn:mbid:idptext", "v2");
  const std::string state = created->getObject("message")->getObject("interactiveData")->getObject("data")
                                ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("state");
  // The IdP's error comes back through the customer's browser: anything at all.
  std::string error = "server_error\r\n\x1b[2J";
  error += std::string(5000, 'x');
  std::string encoded;
  Poco::URI::encode(error, "&=+?#", encoded);
  auto callback = server.call("GET", "/oauth/callback?state=" + state + "&error=" + encoded, "", {}, false);
  BOOST_TEST(callback.status == 302);
  const auto events = conversationEvents(server, "urn:mbid:idptext");
  bool found = false;
  for (std::size_t i = 0; i < events->size(); ++i) {
    const auto event = events->getObject(static_cast<unsigned>(i));
    if (event->getValue<std::string>("type") != "auth.failed") continue;
    found = true;
    const std::string detail = event->getObject("data")->getValue<std::string>("detail");
    BOOST_TEST(detail.find("server_error") != std::string::npos);
    BOOST_TEST(detail.size() <= protocol::kMaxForeignTextChars + 3);
    for (const char c : detail) BOOST_TEST((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
  }
  BOOST_TEST(found);
}

// --- issue 12 §6: input bounds ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_conversation_id_past_its_bound_is_refused_naming_the_field) {
  TestServer server;
  setUpProvider(server);
  const auto create = [&](const std::string& conversation) {
    return server.call("POST", "/v1/auth-requests",
                       R"({"conversationId":")" + conversation + R"(","businessId":"biz-1","providerId":"example","flow":"legacy"})");
  };
  // Apple's own ids, Base64 and all, are accepted.
  BOOST_TEST(create("urn:mbid:AQAAY8/8qxiGhkTvUhq7V0ouHfsh7+RHoZNniWV9opJizR9XU11maSQUtU/Pz3xYcslB+gKwWl3hkyNLKUU=").status == 201);
  for (const std::string& bad : {std::string(100000, 'c'), std::string("."), std::string(".."), std::string("a\\u0000b"),
                                std::string("a\\nb"), std::string("a b")}) {
    BOOST_TEST_CONTEXT(bad.substr(0, 20)) {
      const auto error = errorOf(create(bad), 400);
      BOOST_TEST(fieldOf(error) == "conversationId");
    }
  }
  BOOST_TEST(fieldOf(errorOf(server.call("POST", "/v1/auth-requests",
                                         R"({"conversationId":"urn:mbid:c","businessId":"..","providerId":"example","flow":"legacy"})"),
                             400)) == "businessId");
  // Reading a conversation's events takes the same rule.
  BOOST_TEST(fieldOf(errorOf(server.call("GET", "/v1/conversations/" + std::string(1000, 'c') + "/events"), 400)) ==
             "conversationId");
  BOOST_TEST(fieldOf(errorOf(server.call("GET", "/v1/conversations/%2E%2E/events"), 400)) == "conversationId");
}

BOOST_AUTO_TEST_CASE(resource_ids_and_idempotency_keys_follow_the_rules) {
  TestServer server;
  BOOST_TEST(fieldOf(errorOf(server.call("PUT", "/v1/providers/..", providerBody()), 400)) == "providerId");
  BOOST_TEST(fieldOf(errorOf(server.call("PUT", "/v1/providers/%2E", providerBody()), 400)) == "providerId");
  BOOST_TEST(fieldOf(errorOf(server.call("PUT", "/v1/providers/a%00b", providerBody()), 400)) == "providerId");
  BOOST_TEST(fieldOf(errorOf(server.call("PUT", "/v1/providers/" + std::string(129, 'p'), providerBody()), 400)) ==
             "providerId");
  BOOST_TEST(fieldOf(errorOf(server.call("GET", "/v1/providers/a%0Ab"), 400)) == "providerId");
  BOOST_TEST(server.call("PUT", "/v1/providers/idp.example-1", providerBody()).status == 200);
  const std::string webhook = R"({"url":"https://hooks.example.com/bcauth","secret":"whsec"})";
  BOOST_TEST(fieldOf(errorOf(server.call("PUT", "/v1/webhooks/..", webhook), 400)) == "webhookId");
  BOOST_TEST(fieldOf(errorOf(server.call("PUT", "/v1/webhooks/a%1Bb", webhook), 400)) == "webhookId");
  BOOST_TEST(fieldOf(errorOf(server.call("GET", "/v1/auth-requests/" + std::string(200, 'r')), 400)) == "authRequestId");
  BOOST_TEST(fieldOf(errorOf(server.call("POST", "/v1/auth-requests/%2E%2E/cancel"), 400)) == "authRequestId");
  const std::string body = R"({"conversationId":"urn:mbid:key","businessId":"biz-1","providerId":"idp.example-1","flow":"legacy"})";
  BOOST_TEST(fieldOf(errorOf(server.call("POST", "/v1/auth-requests", body, {{"Idempotency-Key", "a b"}}), 400)) ==
             "Idempotency-Key");
  BOOST_TEST(fieldOf(errorOf(server.call("POST", "/v1/auth-requests", body, {{"Idempotency-Key", ".."}}), 400)) ==
             "Idempotency-Key");
  BOOST_TEST(fieldOf(errorOf(server.call("POST", "/v1/auth-requests", body, {{"Idempotency-Key", std::string(201, 'k')}}),
                             400)) == "Idempotency-Key");
  BOOST_TEST(server.call("POST", "/v1/auth-requests", body, {{"Idempotency-Key", "order-42/retry#1"}}).status == 201);
}

BOOST_AUTO_TEST_CASE(apples_ids_past_their_bounds_are_refused) {
  TestServer server;
  BOOST_TEST(server.deliver(textMessage(uuid(), "urn:mbid:AQAAY4Yyh+/=")).status == 200);
  BOOST_TEST(fieldOf(errorOf(server.deliver(textMessage(uuid(), std::string(100000, 'c'))), 400)) == "sourceId");
  BOOST_TEST(fieldOf(errorOf(server.deliver(textMessage(uuid(), "urn:mbid:a\\u0001")), 400)) == "sourceId");
  BOOST_TEST(fieldOf(errorOf(server.deliver(textMessage("..", "urn:mbid:ok")), 400)) == "id");
  BOOST_TEST(fieldOf(errorOf(server.deliver(textMessage(std::string(300, 'm'), "urn:mbid:ok")), 400)) == "id");
}

BOOST_AUTO_TEST_CASE(a_duplicate_key_is_refused_on_every_body) {
  TestServer server;
  std::string provider = providerBody();
  provider.insert(1, R"("name":"Shadow",)");
  BOOST_TEST(errorOf(server.call("PUT", "/v1/providers/dup", provider), 400)->getValue<std::string>("message").find(
                 "same key twice") != std::string::npos);
  BOOST_TEST(server.call("GET", "/v1/providers/dup").status == 404);
  setUpProvider(server);
  errorOf(server.call("POST", "/v1/auth-requests",
                      R"({"conversationId":"urn:mbid:a","businessId":"biz-1","providerId":"example","flow":"legacy","conversationId":"urn:mbid:b"})"),
          400);
  errorOf(server.call("PUT", "/v1/webhooks/dup", R"({"url":"https://a.example.com","secret":"s","url":"https://b.example.com"})"),
          400);
  std::string message = textMessage(uuid(), "urn:mbid:dup");
  message.insert(1, R"("sourceId":"urn:mbid:other",)");
  errorOf(server.deliver(message), 400);
  errorOf(server.deliver(message, "", false), 400);
  // Nested: interactiveData.data's keys.
  std::string reply = v2Reply(uuid(), "urn:mbid:dup", "rid", "success");
  reply.insert(reply.find(R"("requestIdentifier")"), R"("requestIdentifier":"other",)");
  errorOf(server.deliver(reply), 400);
}

BOOST_AUTO_TEST_CASE(gzip_with_trailing_bytes_or_only_the_magic_is_not_valid_gzip) {
  TestServer server;
  const std::string gz = http::gzip(textMessage(uuid(), "urn:mbid:gz"));
  BOOST_TEST(server.deliver(gz, "", false).status == 200);
  for (const std::string& body : {http::gzip(textMessage(uuid(), "urn:mbid:gz")) + "trailing bytes",
                                 http::gzip(textMessage(uuid(), "urn:mbid:gz")) + gz, std::string("\x1f\x8b", 2),
                                 gz.substr(0, gz.size() - 4)}) {
    BOOST_TEST_CONTEXT("size " << body.size()) {
      const auto viaApple = errorOf(server.deliver(body, "", false), 400);
      BOOST_TEST(viaApple->getValue<std::string>("message") == "the body is not valid gzip");
      const auto viaApi = errorOf(server.call("PUT", "/v1/providers/gz", body), 400);
      BOOST_TEST(viaApi->getValue<std::string>("message") == "the body is not valid gzip");
    }
  }
}

// Runs last (Boost runs cases in order of declaration): everything logged so far.
BOOST_AUTO_TEST_CASE(no_secret_reaches_the_log) {
  const std::string log = capturedLog().str();
  BOOST_TEST(!log.empty());
  for (const char* secret : {"provider-client-secret-do-not-leak", "ya29.integration-access-token", "after-restart",
                             "Bearer "}) {
    BOOST_TEST_CONTEXT(secret) { BOOST_TEST(log.find(secret) == std::string::npos); }
  }
}
