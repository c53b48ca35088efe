// CSP webhooks and the event stream over real HTTP: subscriptions, signed deliveries in order,
// retries, dead letters and their replay; Server-Sent Events resumable with Last-Event-ID.
#define BOOST_TEST_MODULE webhooks
#include <boost/test/unit_test.hpp>

#include <deque>
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
#include "server_harness.h"
#include "service/auth_service.h"

using namespace bcauth;
using bcauth::test::TestServer;

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

// A CSP endpoint that records what it receives and fails on demand.
class Receiver {
 public:
  struct Hit {
    std::string body, timestamp, signature;
    std::int64_t seq;
    std::string type, conversationId;
  };

  Receiver() {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, new Poco::Net::HTTPServerParams());
    server_->start();
  }
  ~Receiver() { server_->stopAll(true); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hooks"; }
  void failNext(int count) {
    std::lock_guard lock(mutex_);
    failures_ = count;
  }
  std::vector<Hit> hits() {
    std::lock_guard lock(mutex_);
    return hits_;
  }
  // Returns as soon as count hits arrived; the deadline only bounds a hang (sanitizer builds are slow).
  bool waitFor(std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (hits().size() >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  struct Handler : Poco::Net::HTTPRequestHandler {
    explicit Handler(Receiver& r) : receiver(r) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
      std::string body;
      Poco::StreamCopier::copyToString(request.stream(), body);
      bool fail = false;
      {
        std::lock_guard lock(receiver.mutex_);
        if (receiver.failures_ > 0) {
          --receiver.failures_;
          fail = true;
        } else {
          Poco::JSON::Parser parser;
          auto json = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
          receiver.hits_.push_back({body, request.get("X-Bcauth-Timestamp", ""), request.get("X-Bcauth-Signature", ""),
                                    json->getValue<std::int64_t>("seq"), json->getValue<std::string>("type"),
                                    json->getValue<std::string>("conversationId")});
        }
      }
      response.setStatusAndReason(fail ? Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE : Poco::Net::HTTPResponse::HTTP_OK);
      response.setContentLength(0);
      response.send();
    }
    Receiver& receiver;
  };
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    explicit Factory(Receiver& r) : receiver(r) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(receiver);
    }
    Receiver& receiver;
  };

  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::mutex mutex_;
  std::vector<Hit> hits_;
  int failures_ = 0;
};

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
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
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
  for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       std::chrono::steady_clock::now() < deadline;) {
    dead = server->call("GET", "/v1/webhooks/dead-letters").json()->getArray("deadLetters");
    if (dead->size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
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
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
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
