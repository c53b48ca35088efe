// CSP webhooks and the event stream over real HTTP: subscriptions, signed deliveries in order,
// retries, dead letters and their replay; Server-Sent Events resumable with Last-Event-ID.
#define BOOST_TEST_MODULE webhooks
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <Poco/HMACEngine.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>

#include "bcauth/crypto.h"
#include "demo/gateway_double.h"
#include "server_harness.h"
#include "test_support.h"
#include "http/inputs.h"
#include "service/auth_service.h"

using namespace bcauth;
using bcauth::test::TestServer;

using bcauth::test::waitUntil;

namespace {

const std::string kWebhookSecret = "webhook-secret-0123456789";

// A subscriber's check, written from docs/webhooks.md ("Verifying a delivery") with Poco's HMAC
// and SHA-256 rather than bcauth's: "v1=" + lower-case hex of HMAC-SHA256(secret, timestamp "." body).
struct PocoSha256 : Poco::SHA2Engine {
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };  // what Poco::HMACEngine asks of its engine
};
std::string documentedSignature(const std::string& secret, const std::string& timestamp, const std::string& body) {
  Poco::HMACEngine<PocoSha256> hmac(secret);
  hmac.update(timestamp + "." + body);
  return "v1=" + Poco::DigestEngine::digestToHex(hmac.digest());
}

// An HTTP server on 127.0.0.1, port 0, answering each request (its body read) with the status
// a function picks and an empty body: the CSP endpoint doubles below are made of one.
class LoopbackEndpoint {
 public:
  using Answer = std::function<Poco::Net::HTTPResponse::HTTPStatus(const Poco::Net::HTTPServerRequest&, const std::string&)>;

  explicit LoopbackEndpoint(Answer answer) : answer_(std::move(answer)) {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(answer_), socket, new Poco::Net::HTTPServerParams());
    server_->start();
  }
  ~LoopbackEndpoint() { server_->stopAll(true); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hooks"; }

 private:
  struct Handler : Poco::Net::HTTPRequestHandler {
    explicit Handler(const Answer& a) : answer(a) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
      std::string body;
      Poco::StreamCopier::copyToString(request.stream(), body);
      response.setStatusAndReason(answer(request, body));
      response.setContentLength(0);
      response.send();
    }
    const Answer& answer;
  };
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    explicit Factory(const Answer& a) : answer(a) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(answer);
    }
    const Answer& answer;
  };

  Answer answer_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

// A CSP endpoint that records what it receives and fails on demand.
class Receiver {
 public:
  struct Hit {
    std::string body, timestamp, signature;
    std::int64_t seq;
    std::string type, conversationId;
  };

  std::string url() const { return endpoint_.url(); }
  void failNext(int count) {
    std::lock_guard lock(mutex_);
    failures_ = count;
  }
  std::vector<Hit> hits() {
    std::lock_guard lock(mutex_);
    return hits_;
  }
  // Returns as soon as count hits arrived; the bound only ends a hang (sanitizer builds are slow).
  bool waitFor(std::size_t count) {
    return waitUntil(std::chrono::seconds(60), [&] { return hits().size() >= count; });
  }

 private:
  Poco::Net::HTTPResponse::HTTPStatus answer(const Poco::Net::HTTPServerRequest& request, const std::string& body) {
    std::lock_guard lock(mutex_);
    if (failures_ > 0) {
      --failures_;
      return Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE;
    }
    Poco::JSON::Parser parser;
    auto json = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    hits_.push_back({body, request.get("X-Bcauth-Timestamp", ""), request.get("X-Bcauth-Signature", ""),
                     json->getValue<std::int64_t>("seq"), json->getValue<std::string>("type"),
                     json->getValue<std::string>("conversationId")});
    return Poco::Net::HTTPResponse::HTTP_OK;
  }

  std::mutex mutex_;
  std::vector<Hit> hits_;
  int failures_ = 0;
  LoopbackEndpoint endpoint_{[this](const auto& request, const auto& body) { return answer(request, body); }};  // last: stops first
};

// A CSP endpoint that takes each POST and holds it, unanswered, until released (bounded, so a
// failing test still ends): a webhook call to it is in flight until bcauth's 10 s timeout.
class HangingEndpoint {
 public:
  ~HangingEndpoint() { release(); }  // then endpoint_ stops, its held requests answered
  std::string url() const { return endpoint_.url(); }
  int held() {
    std::lock_guard lock(mutex_);
    return held_;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    releasedCv_.notify_all();
  }

 private:
  Poco::Net::HTTPResponse::HTTPStatus hold() {
    std::unique_lock lock(mutex_);
    ++held_;
    releasedCv_.wait_for(lock, std::chrono::seconds(60), [this] { return released_; });
    return Poco::Net::HTTPResponse::HTTP_OK;
  }

  std::mutex mutex_;
  std::condition_variable releasedCv_;
  int held_ = 0;
  bool released_ = false;
  LoopbackEndpoint endpoint_{[this](const auto&, const auto&) { return hold(); }};  // last: stops first
};

// Below bcauth's 10 s webhook timeout: while it runs, the held webhook call is still in flight,
// so whatever happens in it happened beside that call, not after it.
constexpr std::chrono::milliseconds kWhileTheWebhookHangs{8000};

std::unique_ptr<TestServer> makeServer() {
  auto settings = bcauth::test::testSettings(TestServer::freshDir());
  settings.webhookMaxAttempts = 2;
  settings.webhookRetryBaseMs = 50;
  return std::make_unique<TestServer>(settings);
}

std::string textMessage(const std::string& conversation) {
  return R"({"id":")" + crypto::randomUuid() + R"(","type":"text","sourceId":")" + conversation +
         R"(","destinationId":"biz","body":"hi"})";
}

}  // namespace

BOOST_AUTO_TEST_CASE(subscriptions_keep_the_secret_write_only) {
  auto server = makeServer();
  Receiver receiver;
  auto created = server->call("PUT", "/v1/webhooks/desk",
                              R"({"url":")" + receiver.url() + R"(","secret":")" + kWebhookSecret + R"(","eventTypes":["auth.succeeded"]})");
  BOOST_REQUIRE_MESSAGE(created.status == 200, created.body);
  BOOST_TEST(created.json()->getValue<bool>("secretSet"));
  BOOST_TEST(created.body.find(kWebhookSecret) == std::string::npos);
  BOOST_TEST(server->call("GET", "/v1/webhooks").json()->getArray("webhooks")->size() == 1u);
  BOOST_TEST(server->call("GET", "/v1/webhooks/desk").body.find(kWebhookSecret) == std::string::npos);
  auto noSecret = server->call("PUT", "/v1/webhooks/other", R"({"url":")" + receiver.url() + R"("})");
  BOOST_TEST(noSecret.json()->getObject("error")->getValue<std::string>("field") == "secret");
  auto badType = server->call("PUT", "/v1/webhooks/other",
                              R"({"url":")" + receiver.url() + R"(","secret":")" + kWebhookSecret + R"(","eventTypes":["auth.nope"]})");
  BOOST_TEST(badType.json()->getObject("error")->getValue<std::string>("field") == "eventTypes[0]");
  auto plainHttp = server->call("PUT", "/v1/webhooks/other",
                                R"({"url":"http://csp.example.com/hooks","secret":")" + kWebhookSecret + R"("})");
  BOOST_TEST(plainHttp.json()->getObject("error")->getValue<std::string>("field") == "url");
  BOOST_TEST(server->call("DELETE", "/v1/webhooks/desk").status == 204);
  BOOST_TEST(server->call("GET", "/v1/webhooks/desk").status == 404);
}

// A fixed vector, made once by running the docs' own shell recipe (docs/webhooks.md):
//   printf '%s.%s' 1795318800 "$BODY" | openssl dgst -sha256 -hmac webhook-secret-0123456789 -hex
// with BODY the `body` below.
// Both bcauth's signer and the subscriber's check above must give it.
BOOST_AUTO_TEST_CASE(signature_is_the_documented_recipe) {
  const std::string timestamp = "1795318800";
  const std::string body =
      R"({"seq":42,"type":"auth.succeeded","at":"2026-11-22T04:40:00.000Z","conversationId":"urn:mbid:docs","authRequestId":"r-42","data":{}})";
  const std::string expected = "v1=845b9efde456e7e091c62f14d44a4edbe9b3f2ae96cc0463f167c80e4dfbe972";
  BOOST_TEST(service::webhookSignature(kWebhookSecret, timestamp, body) == expected);
  BOOST_TEST(documentedSignature(kWebhookSecret, timestamp, body) == expected);
}

BOOST_AUTO_TEST_CASE(events_arrive_signed_and_in_order) {
  auto server = makeServer();
  Receiver receiver;
  BOOST_REQUIRE_EQUAL(server->call("PUT", "/v1/webhooks/all", R"({"url":")" + receiver.url() + R"(","secret":")" +
                                                                    kWebhookSecret + R"("})").status,
                      200);
  BOOST_REQUIRE_EQUAL(server->call("PUT", "/v1/webhooks/filtered",
                                   R"({"url":")" + receiver.url() + R"(","secret":")" + kWebhookSecret +
                                       R"(","eventTypes":["auth.succeeded"]})").status,
                      200);
  receiver.failNext(1);  // the first attempt fails: order must still hold
  for (int i = 0; i < 5; ++i) server->deliver(textMessage("urn:mbid:ordered"), "AUTH");
  BOOST_REQUIRE(receiver.waitFor(5));
  BOOST_REQUIRE(server->waitForFullRound("webhooks"));  // a whole round after the fifth sent nothing more
  const auto hits = receiver.hits();
  BOOST_TEST(hits.size() == 5u);  // the filtered subscription wants none of these
  for (std::size_t i = 0; i < hits.size(); ++i) {
    BOOST_TEST(hits[i].type == "message.received");
    if (i > 0) BOOST_TEST(hits[i].seq > hits[i - 1].seq);
    BOOST_TEST(hits[i].signature == documentedSignature(kWebhookSecret, hits[i].timestamp, hits[i].body));
  }
}

BOOST_AUTO_TEST_CASE(dead_letters_are_listed_and_replayable) {
  auto server = makeServer();
  Receiver receiver;
  server->call("PUT", "/v1/webhooks/flaky", R"({"url":")" + receiver.url() + R"(","secret":")" + kWebhookSecret + R"("})");
  receiver.failNext(2);  // both allowed attempts fail
  server->deliver(textMessage("urn:mbid:dead"), "AUTH");
  Poco::JSON::Array::Ptr dead;
  bcauth::test::waitUntil(std::chrono::seconds(60), [&] {
    dead = server->call("GET", "/v1/webhooks/dead-letters").json()->getArray("deadLetters");
    return dead->size() == 1;
  });
  BOOST_REQUIRE_EQUAL(dead->size(), 1u);
  const auto letter = dead->getObject(0);
  BOOST_TEST(letter->getValue<int>("attempts") == 2);
  BOOST_TEST(letter->getValue<int>("lastHttpStatus") == 503);
  const auto id = letter->getValue<std::int64_t>("id");
  auto replayed = server->call("POST", "/v1/webhooks/dead-letters/" + std::to_string(id) + "/replay");
  BOOST_REQUIRE_MESSAGE(replayed.status == 200, replayed.body);
  BOOST_REQUIRE(receiver.waitFor(1));
  BOOST_TEST(server->call("GET", "/v1/webhooks/dead-letters").json()->getArray("deadLetters")->size() == 0u);
  BOOST_TEST(server->call("POST", "/v1/webhooks/dead-letters/" + std::to_string(id) + "/replay").status == 409);
  BOOST_TEST(server->call("POST", "/v1/webhooks/dead-letters/999999/replay").status == 404);
  BOOST_TEST(server->call("POST", "/v1/webhooks/dead-letters/abc/replay").status == 400);
}

BOOST_AUTO_TEST_CASE(event_stream_resumes_with_last_event_id) {
  auto server = makeServer();
  server->deliver(textMessage("urn:mbid:sse"), "AUTH");
  const auto first = server->call("GET", "/v1/events").json()->getValue<std::int64_t>("next");
  std::thread producer([&] {
    // Once the stream is open and waiting (its slot shows in the gauge), not after a guessed sleep.
    bcauth::test::waitUntil(std::chrono::seconds(60), [&] { return server->metric("bcauth_long_polls_open") == 1; });
    server->deliver(textMessage("urn:mbid:sse"), "AUTH");
    server->deliver(textMessage("urn:mbid:sse"), "AUTH");
  });
  Poco::Net::HTTPClientSession session("127.0.0.1", server->port());
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request("GET", "/v1/events/stream", Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("Authorization", "Bearer " + bcauth::test::kApiKey);
  request.set("Last-Event-ID", std::to_string(first));
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  BOOST_TEST(response.getContentType() == "text/event-stream");
  std::vector<std::int64_t> ids;
  for (std::string line; ids.size() < 2 && std::getline(in, line);) {
    if (line.rfind("id: ", 0) == 0) ids.push_back(std::stoll(line.substr(4)));
  }
  producer.join();
  BOOST_REQUIRE_EQUAL(ids.size(), 2u);
  BOOST_TEST(ids[0] == first + 1);
  BOOST_TEST(ids[1] == first + 2);
  session.reset();
}

// Apple deliveries, identity-provider fetches, webhooks and the expiry sweep are separate lanes:
// with a webhook call hanging, a due Apple delivery and a due expiry still happen at once. On one
// serial worker both waited for the webhook's 10 s timeout (and for each further hanging call).
BOOST_AUTO_TEST_CASE(a_hanging_webhook_endpoint_delays_neither_apple_nor_expiry) {
  bcauth::demo::GatewayDouble gateway{bcauth::test::kCspId, bcauth::test::kAppleSecret};
  HangingEndpoint hanging;
  auto settings = bcauth::test::testSettings(TestServer::freshDir());
  settings.appleGatewayUrl = gateway.baseUrl();
  settings.defaultTtlSeconds = 1;  // below the API's 30 s floor: only a request created without ttlSeconds
  settings.sweepSeconds = 1;
  TestServer server(settings);
  BOOST_REQUIRE_EQUAL(server.call("PUT", "/v1/providers/idp",
                                  R"({"name":"IdP","authorizationUrl":"https://idp.example.com/a",)"
                                  R"("tokenUrl":"https://idp.example.com/t","clientId":"c","clientSecret":"client-secret-0123","scopes":["openid"]})").status,
                      200);
  BOOST_REQUIRE_EQUAL(server.call("PUT", "/v1/webhooks/slow", R"({"url":")" + hanging.url() + R"(","secret":")" +
                                                                  kWebhookSecret + R"(","eventTypes":["message.received"]})").status,
                      200);
  server.deliver(textMessage("urn:mbid:hang"), "AUTH");
  BOOST_REQUIRE_MESSAGE(waitUntil(std::chrono::seconds(60), [&] { return hanging.held() == 1; }),
                        "the webhook never reached the hanging endpoint");
  const auto create = [&](const std::string& extra) {
    const auto r = server.call("POST", "/v1/auth-requests",
                               R"({"conversationId":"urn:mbid:lanes","businessId":"biz","providerId":"idp","flow":"legacy")" + extra + "}");
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()->getValue<std::string>("id");
  };
  const auto status = [&](const std::string& id, bool ofDelivery) {
    const auto view = server.call("GET", "/v1/auth-requests/" + id).json();
    return ofDelivery ? view->getObject("delivery")->getValue<std::string>("status") : view->getValue<std::string>("status");
  };
  const auto delivered = create(R"(,"ttlSeconds":60)");
  const auto expiring = create(R"(,"deliver":false)");
  // One bound for both, counted from the hang: each must happen while the webhook call is held.
  waitUntil(kWhileTheWebhookHangs,
            [&] { return status(delivered, true) == "delivered" && status(expiring, false) == "expired"; });
  BOOST_TEST(status(delivered, true) == "delivered", "the Apple delivery waited for the hanging webhook");
  BOOST_TEST(status(expiring, false) == "expired", "the expiry waited for the hanging webhook");
  BOOST_TEST(hanging.held() == 1);  // still the first call: the wait ended before its timeout
  BOOST_TEST(gateway.received().size() == 1u);
  hanging.release();  // the webhook call ends now, so the server stops at once
}

// Each subscription's deliveries go on their own thread (a few at once): one hanging endpoint
// does not hold another subscription's deliveries of the same round. On one serial loop the
// fast endpoint waited behind the slow one (whose delivery comes first: same event, lower id).
BOOST_AUTO_TEST_CASE(a_hanging_webhook_endpoint_delays_no_other_subscription) {
  auto server = makeServer();
  HangingEndpoint hanging;
  Receiver receiver;
  BOOST_REQUIRE_EQUAL(server->call("PUT", "/v1/webhooks/a-slow",
                                   R"({"url":")" + hanging.url() + R"(","secret":")" + kWebhookSecret + R"("})").status,
                      200);
  BOOST_REQUIRE_EQUAL(server->call("PUT", "/v1/webhooks/b-fast",
                                   R"({"url":")" + receiver.url() + R"(","secret":")" + kWebhookSecret + R"("})").status,
                      200);
  server->deliver(textMessage("urn:mbid:fanout"), "AUTH");
  BOOST_TEST(waitUntil(kWhileTheWebhookHangs, [&] { return receiver.hits().size() == 1u; }),
             "the fast subscription waited for the hanging one");
  BOOST_TEST(waitUntil(kWhileTheWebhookHangs, [&] { return hanging.held() == 1; }));
  hanging.release();
}

// A stop does not wait for a whole round of slow webhook calls: the call in flight finishes (here
// when released; at worst at its 10 s timeout), the round's next deliveries are not started, and
// the lanes are asked to stop before anything is waited for. On the old worker the stop waited
// for the round, which then sent every delivery in it.
BOOST_AUTO_TEST_CASE(a_stop_waits_only_for_the_webhook_call_in_flight) {
  HangingEndpoint hanging;
  app::Runtime runtime(bcauth::test::testSettings(TestServer::freshDir()));
  auto& service = runtime.service();
  Poco::JSON::Parser parser;
  const auto subscription = parser.parse(R"({"url":")" + hanging.url() + R"(","secret":")" + kWebhookSecret + R"("})")
                                .extract<Poco::JSON::Object::Ptr>();
  BOOST_REQUIRE(static_cast<bool>(service.admin.putWebhook(test::kOperator, "slow", http::inputs::webhook(subscription))));
  for (const auto* conversation : {"urn:mbid:one", "urn:mbid:two", "urn:mbid:three"}) {
    BOOST_REQUIRE(static_cast<bool>(service.intake.handleInbound(textMessage(conversation), "AUTH")));  // three due in one round
  }
  runtime.start();
  BOOST_REQUIRE(waitUntil(std::chrono::seconds(60), [&] { return hanging.held() == 1; }));
  std::thread stopper([&] { runtime.stop(); });
  const bool askedAtOnce = waitUntil(kWhileTheWebhookHangs, [&] { return service.stopping(); });
  hanging.release();
  stopper.join();
  BOOST_TEST(askedAtOnce, "the stop waited for the webhook round before asking anything else to stop");
  BOOST_TEST(hanging.held() == 1);
}
