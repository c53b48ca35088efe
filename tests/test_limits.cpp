// Abuse limits and the key pool: per-API-key and per-conversation rate limits (429 with
// Retry-After), bounded header size, body size, connection count and idle time — each over a
// real socket — and the background pool of request keys.
#define BOOST_TEST_MODULE limits
#include <boost/test/unit_test.hpp>

#include <set>
#include <thread>

#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>

#include "http/rate_limit.h"
#include "server_harness.h"
#include "service/key_pool.h"

using namespace bcauth;
using bcauth::test::TestServer;
using namespace std::chrono_literals;

namespace {

const std::string kSecondKey = "second-api-key-0123456789";

std::string providerBody() {
  return R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t","clientId":"c","scopes":["openid"]})";
}

std::string createBody(const std::string& conversation) {
  return R"({"conversationId":")" + conversation + R"(","businessId":"biz","providerId":"idp","flow":"legacy"})";
}

// What a raw connection gets back: the bytes read before the server closed it or the wait ended.
struct RawRead {
  std::string bytes;
  bool closed = false;  // the server closed (or reset) the connection
};

RawRead readAll(Poco::Net::StreamSocket& socket, std::chrono::milliseconds wait) {
  RawRead out;
  socket.setReceiveTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(wait).count()));
  char buffer[4096];
  try {
    while (true) {
      const int n = socket.receiveBytes(buffer, sizeof buffer);
      if (n <= 0) {
        out.closed = true;
        break;
      }
      out.bytes.append(buffer, static_cast<std::size_t>(n));
      if (out.bytes.find("\r\n\r\n") != std::string::npos && out.bytes.find("Content-Length: 0") != std::string::npos) {
        break;
      }
    }
  } catch (const Poco::TimeoutException&) {
  } catch (const Poco::Net::NetException&) {
    out.closed = true;  // reset by the server
  } catch (const Poco::IOException&) {
    out.closed = true;
  }
  return out;
}

Poco::Net::StreamSocket connectTo(const TestServer& server) {
  return Poco::Net::StreamSocket(Poco::Net::SocketAddress("127.0.0.1", server.port()));
}

void sendText(Poco::Net::StreamSocket& socket, const std::string& text) {
  socket.sendBytes(text.data(), static_cast<int>(text.size()));
}

const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

// Waits for background work end as soon as it is done; the deadline only bounds a hang, and is
// generous because sanitizer builds share two CPUs with another test job.
constexpr std::int64_t kFillDeadlineMs = 120000;

}  // namespace

// --- the rate limiter on its own, with a clock the test moves --------------------------------

BOOST_AUTO_TEST_CASE(limiter_allows_a_burst_then_the_rate) {
  http::RateLimiter limiter(2.0, 3.0);
  const auto t0 = http::RateLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) BOOST_TEST(!limiter.acquire("k", t0).has_value());
  const auto refused = limiter.acquire("k", t0);
  BOOST_REQUIRE(refused.has_value());
  BOOST_TEST(*refused == 1);  // half a second to the next token, rounded up to whole seconds
  BOOST_TEST(!limiter.acquire("other", t0).has_value());  // buckets are per key
  BOOST_TEST(!limiter.acquire("k", t0 + 500ms).has_value());
  BOOST_TEST(limiter.acquire("k", t0 + 500ms).has_value());
}

BOOST_AUTO_TEST_CASE(limiter_retry_after_is_the_time_to_the_next_token) {
  http::RateLimiter limiter(1.0 / 60.0, 1.0);  // one a minute
  const auto t0 = http::RateLimiter::Clock::now();
  BOOST_TEST(!limiter.acquire("c", t0).has_value());
  BOOST_TEST(limiter.acquire("c", t0).value() == 60);
  BOOST_TEST(limiter.acquire("c", t0 + 45s).value() == 15);
  BOOST_TEST(!limiter.acquire("c", t0 + 60s).has_value());
}

BOOST_AUTO_TEST_CASE(limiter_off_and_bounded_memory) {
  http::RateLimiter off(0, 1);
  for (int i = 0; i < 1000; ++i) BOOST_TEST_REQUIRE(!off.acquire("k").has_value());

  http::RateLimiter limiter(10.0, 2.0, 100);
  auto t = http::RateLimiter::Clock::now();
  for (int i = 0; i < 10000; ++i) {
    limiter.acquire("key-" + std::to_string(i), t);
    t += 1ms;  // each bucket is full again 200 ms after its use
  }
  BOOST_TEST(limiter.trackedKeys() <= 300u);
}

// --- the key pool ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(key_pool_fills_in_the_background_and_hands_out_distinct_keys) {
  // Normal priority here: at idle priority a fill can take minutes while another test job keeps
  // both CPUs busy (under TSan), and this case is about the filling, not the priority.
  service::KeyPool pool({8, 0, 2, false});
  BOOST_REQUIRE(pool.waitFull(kFillDeadlineMs));
  BOOST_TEST(pool.stats().ready == 8u);
  std::set<std::string> seen;
  for (int i = 0; i < 8; ++i) seen.insert(pool.take().value().publicKey().toBase64());
  BOOST_TEST(seen.size() == 8u);
  BOOST_TEST(pool.stats().taken == 8u);
  BOOST_REQUIRE(pool.waitFull(kFillDeadlineMs));  // refilled
  BOOST_TEST(pool.stats().generated >= 16u);
}

BOOST_AUTO_TEST_CASE(a_dry_pool_still_hands_out_keys) {
  service::KeyPool none({0, 0, 1, true});  // no pool at all
  BOOST_TEST(none.take().isOk());
  BOOST_TEST(none.stats().generatedInline == 1u);

  service::KeyPool pool({4, 2, 1, true});
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(pool.take().value().publicKey().toBase64());  // faster than the refill
  BOOST_TEST(seen.size() == 50u);
  const auto stats = pool.stats();
  BOOST_TEST(stats.taken + stats.generatedInline == 50u);
  BOOST_TEST(stats.generatedInline > 0u);
}

BOOST_AUTO_TEST_CASE(key_pool_waits_for_the_threshold_before_refilling) {
  service::KeyPool pool({6, 3, 1, false});
  BOOST_REQUIRE(pool.waitFull(kFillDeadlineMs));
  const auto before = pool.stats().generated;
  const auto wakeups = pool.stats().refillWakeups;
  BOOST_TEST(pool.take().isOk());  // 5 left: above the threshold, no refill
  // The refill threads only work when take() wakes them: it did not, so none can start.
  BOOST_TEST(pool.stats().refillWakeups == wakeups);
  BOOST_TEST(pool.stats().generated == before);
  BOOST_TEST(pool.take().isOk());
  BOOST_TEST(pool.take().isOk());  // 3 left: not below 3 yet
  BOOST_TEST(pool.stats().refillWakeups == wakeups);
  BOOST_TEST(pool.take().isOk());  // 2 left: refill to 6
  BOOST_TEST(pool.stats().refillWakeups == wakeups + 1);
  BOOST_REQUIRE(pool.waitFull(kFillDeadlineMs));
  BOOST_TEST(pool.stats().generated == before + 4);
}

BOOST_AUTO_TEST_CASE(requests_take_their_keys_from_the_pool) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.keyPoolSize = 16;
  TestServer server(settings);
  BOOST_REQUIRE(server.runtime().service().keyPool().waitFull(kFillDeadlineMs));
  BOOST_REQUIRE_EQUAL(server.call("PUT", "/v1/providers/idp", providerBody()).status, 200);
  for (int i = 0; i < 5; ++i) BOOST_TEST(server.call("POST", "/v1/auth-requests", createBody("urn:mbid:pool-" + std::to_string(i))).status == 201);
  const auto metrics = server.call("GET", "/metrics", "", {}, false).body;
  BOOST_TEST(metrics.find("bcauth_key_pool_taken_total 5") != std::string::npos, metrics);
  BOOST_TEST(metrics.find("bcauth_key_pool_misses_total 0") != std::string::npos);
  BOOST_TEST(metrics.find("bcauth_key_pool_capacity 16") != std::string::npos);
}

// --- rate limits over HTTP ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(api_key_over_its_rate_gets_429_with_retry_after) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.apiKeys.push_back(kSecondKey);
  settings.rateLimitPerKey = 1;
  settings.rateLimitPerKeyBurst = 5;
  TestServer server(settings);
  // Calls until the first refusal: the burst of 5 passes, plus one more for each token the 1/s
  // rate added meanwhile (how many depends on the machine's speed; the fixed-clock cases above pin
  // the arithmetic). What the server counted must be what the client saw.
  int ok = 0;
  test::Response refused;
  for (int i = 0; i < 100 && refused.status == 0; ++i) {
    const auto r = server.call("GET", "/v1/providers");
    if (r.status == 200) ++ok;
    else refused = r;
  }
  BOOST_TEST(ok >= 5);
  BOOST_REQUIRE(refused.status == 429);
  BOOST_TEST(refused.headers["Retry-After"] == "1");
  BOOST_TEST(refused.json()->getObject("error")->getValue<std::string>("code") == "too_many_requests");
  BOOST_TEST(server.metricOnceAtLeast(R"(bcauth_http_requests_total{route="GET /v1/providers",status="200"})", ok) == ok);
  BOOST_TEST(server.metricOnceAtLeast(R"(bcauth_http_requests_total{route="GET /v1/providers",status="429"})", 1) == 1);
  // Another key has its own budget; Apple's webhook and health checks are not API-key routes.
  const auto other = server.call("GET", "/v1/providers", "", {{"Authorization", "Bearer " + kSecondKey}}, false);
  BOOST_TEST(other.status == 200);
  BOOST_TEST(server.call("GET", "/healthz", "", {}, false).status == 200);
  // Once the Retry-After has passed the key is served again (a bounded poll: a refused call takes
  // no token).
  BOOST_TEST(test::waitUntil(10s, [&] { return server.call("GET", "/v1/providers").status == 200; }));
}

BOOST_AUTO_TEST_CASE(a_conversation_over_its_rate_gets_429_and_others_are_served) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.rateLimitPerConversation = 2;  // per minute
  settings.rateLimitPerConversationBurst = 2;
  TestServer server(settings);
  BOOST_REQUIRE_EQUAL(server.call("PUT", "/v1/providers/idp", providerBody()).status, 200);
  BOOST_TEST(server.call("POST", "/v1/auth-requests", createBody("urn:mbid:flooded")).status == 201);
  BOOST_TEST(server.call("POST", "/v1/auth-requests", createBody("urn:mbid:flooded")).status == 201);
  auto refused = server.call("POST", "/v1/auth-requests", createBody("urn:mbid:flooded"));
  BOOST_REQUIRE(refused.status == 429);
  // Two a minute: the next token 30 s after the first was taken, less the time the test took
  // since (the fixed-clock cases above pin the arithmetic): within the configured window.
  const int retryAfter = std::stoi(refused.headers["Retry-After"]);
  BOOST_TEST(retryAfter <= 30);
  BOOST_TEST(retryAfter >= 1);
  BOOST_TEST(server.metricOnceAtLeast(R"(bcauth_http_requests_total{route="POST /v1/auth-requests",status="429"})", 1) ==
             1);
  BOOST_TEST(refused.body.find("conversation") != std::string::npos);
  BOOST_TEST(server.call("POST", "/v1/auth-requests", createBody("urn:mbid:calm")).status == 201);
  // The refused create left nothing behind: two requests, two auth.requested events.
  const auto events = server.call("GET", "/v1/conversations/urn:mbid:flooded/events").json()->getArray("events");
  BOOST_TEST(events->size() == 2u);
}

// Issue 12 §4: only a valid new request is charged to its conversation. Retries of one
// Idempotency-Key (ten here, more than the burst) replay it, and bodies that fail validation
// are refused for what they are, without using up the budget.
BOOST_AUTO_TEST_CASE(conversation_budget_is_charged_only_for_valid_new_requests) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.rateLimitPerConversation = 1;  // per minute: no refill during the test
  settings.rateLimitPerConversationBurst = 2;
  TestServer server(settings);
  BOOST_REQUIRE_EQUAL(server.call("PUT", "/v1/providers/idp", providerBody()).status, 200);
  const std::string conversation = "urn:mbid:retried";
  BOOST_REQUIRE_EQUAL(server.call("POST", "/v1/auth-requests", createBody(conversation), {{"Idempotency-Key", "retry-me"}}).status, 201);
  for (int i = 0; i < 10; ++i) {
    const auto replay = server.call("POST", "/v1/auth-requests", createBody(conversation), {{"Idempotency-Key", "retry-me"}});
    BOOST_TEST_CONTEXT("retry " << i) { BOOST_TEST(replay.status == 200); }
  }
  const std::string invalid[] = {
      R"({"conversationId":")" + conversation + R"(","businessId":"biz","providerId":"nobody","flow":"legacy"})",
      R"({"conversationId":")" + conversation + R"(","businessId":"biz","providerId":"idp","flow":"legacy","ttlSeconds":1})",
      R"({"conversationId":")" + conversation + R"(","businessId":"biz","providerId":"idp","flow":"sideways"})",
      R"({"conversationId":")" + conversation + R"(","businessId":"biz","providerId":"idp","flow":"legacy","scopes":["admin"]})",
      R"({"conversationId":")" + conversation + R"(","businessId":"biz","providerId":"idp","flow":"legacy",)" +
          R"("receivedMessage":{"title":"Sign in","imageIdentifier":"missing"}})",
  };
  for (int round = 0; round < 2; ++round) {
    for (const auto& body : invalid) BOOST_TEST(server.call("POST", "/v1/auth-requests", body).status == 400, body);
  }
  // One token of the burst is left for a new request, and then the conversation is refused.
  BOOST_TEST(server.call("POST", "/v1/auth-requests", createBody(conversation)).status == 201);
  const auto refused = server.call("POST", "/v1/auth-requests", createBody(conversation));
  BOOST_TEST(refused.status == 429);
  // Even now, the first request's retries are answered.
  BOOST_TEST(server.call("POST", "/v1/auth-requests", createBody(conversation), {{"Idempotency-Key", "retry-me"}}).status == 200);
  const auto events = server.call("GET", "/v1/conversations/" + conversation + "/events").json()->getArray("events");
  BOOST_TEST(events->size() == 2u);
}

// The API-key limiter counts every call (the flood guard, before a body is read), but the
// retry of a create that exists is answered even when the key's budget is spent.
BOOST_AUTO_TEST_CASE(an_exhausted_api_key_still_gets_its_replays) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.rateLimitPerKey = 1;
  settings.rateLimitPerKeyBurst = 3;
  TestServer server(settings);
  BOOST_REQUIRE_EQUAL(server.call("PUT", "/v1/providers/idp", providerBody()).status, 200);
  BOOST_REQUIRE_EQUAL(server.call("POST", "/v1/auth-requests", createBody("urn:mbid:k"), {{"Idempotency-Key", "k-1"}}).status, 201);
  int refusals = 0;
  for (int i = 0; i < 100 && refusals == 0; ++i) refusals += server.call("GET", "/v1/providers").status == 429;
  BOOST_REQUIRE(refusals == 1);  // the budget is spent (it refills at one a second)
  for (int i = 0; i < 5; ++i) {
    auto replay = server.call("POST", "/v1/auth-requests", createBody("urn:mbid:k"), {{"Idempotency-Key", "k-1"}});
    BOOST_TEST_CONTEXT("replay " << i) {
      BOOST_TEST(replay.status == 200);
      BOOST_TEST(replay.headers["Idempotent-Replayed"] == "true");
    }
  }
  // A key that names no request is no replay: it is refused like any call over the rate, as long
  // as the bucket is still empty (one token a second; a slow build may have refilled it).
  int unknownRefused = 0;
  for (int i = 0; i < 20 && unknownRefused == 0; ++i) {
    const auto r = server.call("POST", "/v1/auth-requests", createBody("urn:mbid:k2-" + std::to_string(i)),
                               {{"Idempotency-Key", "unused-" + std::to_string(i)}});
    unknownRefused += r.status == 429;
  }
  BOOST_TEST(unknownRefused == 1);
}

// --- connection-level bounds -----------------------------------------------------------------

// Refusals made below the routes answer like every route: the status, the JSON error body and
// its content type, nosniff.
void checkJsonRefusal(const RawRead& answer, const std::string& statusLine, const std::string& code) {
  BOOST_TEST(answer.bytes.rfind(statusLine, 0) == 0, answer.bytes.substr(0, 200));
  BOOST_TEST(answer.bytes.find("Content-Type: application/json") != std::string::npos, answer.bytes.substr(0, 300));
  BOOST_TEST(answer.bytes.find("X-Content-Type-Options: nosniff") != std::string::npos, answer.bytes.substr(0, 300));
  BOOST_TEST(answer.bytes.find(R"({"error":{"code":")" + code + "\"") != std::string::npos, answer.bytes.substr(0, 400));
}

BOOST_AUTO_TEST_CASE(oversized_headers_are_refused_and_the_server_goes_on) {
  TestServer server;
  {
    auto socket = connectTo(server);
    sendText(socket, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
    checkJsonRefusal(readAll(socket, 5s), "HTTP/1.1 431", "headers_too_large");
  }
  {
    auto socket = connectTo(server);
    std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 150; ++i) request += "X-Many-" + std::to_string(i) + ": v\r\n";
    sendText(socket, request + "\r\n");
    checkJsonRefusal(readAll(socket, 5s), "HTTP/1.1 431", "headers_too_large");
  }
  {
    // Larger than the whole head may be: refused before a worker sees it.
    auto socket = connectTo(server);
    sendText(socket, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: " + std::string(20000, 'a') + "\r\n\r\n");
    checkJsonRefusal(readAll(socket, 5s), "HTTP/1.1 431", "headers_too_large");
  }
  {
    auto socket = connectTo(server);
    sendText(socket, "GET /" + std::string(20000, 'p') + " HTTP/1.1\r\nHost: x\r\n\r\n");
    checkJsonRefusal(readAll(socket, 5s), "HTTP/1.1 414", "uri_too_long");
  }
  BOOST_TEST(server.call("GET", "/healthz", "", {}, false).status == 200);
}

BOOST_AUTO_TEST_CASE(oversized_bodies_get_413) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.maxBodyBytes = 4096;
  TestServer server(settings);
  const auto r = server.call("PUT", "/v1/providers/idp", std::string(5000, ' ') + providerBody());
  BOOST_TEST(r.status == 413);
  BOOST_TEST(server.call("PUT", "/v1/providers/idp", providerBody()).status == 200);
}

BOOST_AUTO_TEST_CASE(connections_beyond_the_total_cap_are_refused_with_503) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.maxConnections = 16;
  settings.maxConnectionsPerAddress = 0;
  TestServer server(settings);
  // Silent connections cost no worker, but they count against the cap...
  std::vector<Poco::Net::StreamSocket> held;
  for (int i = 0; i < 16; ++i) held.push_back(connectTo(server));
  // ...so the next one is told, in JSON, to come back later.
  auto refused = connectTo(server);
  sendText(refused, kHealthz);
  const auto answer = readAll(refused, 5s);
  BOOST_TEST(answer.bytes.rfind("HTTP/1.1 503", 0) == 0, answer.bytes);
  BOOST_TEST(answer.bytes.find("Retry-After: 1") != std::string::npos);
  BOOST_TEST(answer.bytes.find(R"("code":"server_busy")") != std::string::npos);
  BOOST_TEST(answer.closed);
  // Once the held connections end, the server answers again.
  held.clear();
  // The listener notices the closes on its next turn: a bounded poll until it answers again.
  int status = 0;
  test::waitUntil(20s, [&] {
    try {
      status = server.call("GET", "/healthz", "", {}, false).status;
    } catch (const Poco::Exception&) {
    }
    return status == 200;
  });
  BOOST_TEST(status == 200);
}

BOOST_AUTO_TEST_CASE(idle_connections_are_closed) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.idleTimeoutSeconds = 1;
  settings.headerTimeoutSeconds = 2;
  TestServer server(settings);
  {
    // Kept alive after a request, then idle: closed after the idle timeout.
    auto socket = connectTo(server);
    sendText(socket, kHealthz);
    const auto first = readAll(socket, 2s);
    BOOST_TEST(first.bytes.rfind("HTTP/1.1 200", 0) == 0, first.bytes);
    const auto rest = readAll(socket, 5s);
    BOOST_TEST(rest.closed);
    // Closed by the idle timeout, as the server counts it (not by another deadline).
    BOOST_TEST(server.metric(R"(bcauth_connections_timed_out_total{phase="idle"})") == 1);
  }
  {
    // A request that stalls: answered 408 and closed after the head deadline.
    auto socket = connectTo(server);
    sendText(socket, "GET /healthz HTTP/1.1\r\nHo");
    const auto rest = readAll(socket, 6s);
    BOOST_TEST(rest.closed);
    BOOST_TEST(rest.bytes.rfind("HTTP/1.1 408", 0) == 0, rest.bytes);
    // Refused by the head deadline, as the server counts it.
    BOOST_TEST(server.metric(R"(bcauth_connections_timed_out_total{phase="header"})") == 1);
  }
}
