// Hostile clients against a real server on loopback: idle connections, one-byte-a-second
// senders, slow bodies, one address opening too many connections, and requests framed to
// confuse (smuggling hygiene, HTTP versions, HEAD, bodiless POST, OPTIONS). Every wait is
// bounded; every connection is closed by the test.
#define BOOST_TEST_MODULE hostile_clients
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include "http/listener.h"
#include "server_harness.h"
#include "test_support.h"

using namespace bcauth;
using bcauth::test::TestServer;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A raw TCP client, optionally from another loopback address (127.0.0.2 is a different client
// address to the server, on loopback all the same).
class Raw {
 public:
  explicit Raw(std::uint16_t port, const char* from = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd_ >= 0);
    if (from != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, from, &local.sin_addr);
      BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
    }
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    BOOST_REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) == 0);
  }
  ~Raw() {
    if (fd_ >= 0) ::close(fd_);
  }
  Raw(Raw&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  Raw& operator=(Raw&&) = delete;

  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Reads until the server closes or `wait` passes; `closed` tells which.
  std::string readUntilClosed(std::chrono::milliseconds wait, bool* closed = nullptr) {
    std::string out;
    const auto deadline = Clock::now() + wait;
    bool ended = false;
    while (!ended && Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(1, left.count()))) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) ended = true;
      else out.append(buffer, static_cast<std::size_t>(n));
    }
    if (closed != nullptr) *closed = ended;
    return out;
  }
  // Reads one response whose body is Content-Length long (or has none).
  std::string readResponse(std::chrono::milliseconds wait) {
    std::string out;
    const auto deadline = Clock::now() + wait;
    while (Clock::now() < deadline) {
      const auto end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::smatch m;
        const std::string head = out.substr(0, end);
        std::size_t length = 0;
        if (std::regex_search(head, m, std::regex("Content-Length: (\\d+)", std::regex::icase))) {
          length = std::stoul(m[1]);
        }
        if (out.size() >= end + 4 + length) return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

std::string textMessage(int n) {
  std::string json = test::readFile(test::kSourceDir + "/fixtures/inbound/other/text-message.json");
  // A fresh Apple message id each time, so each delivery is a new message.
  const auto at = json.find("\"id\"");
  if (at != std::string::npos) {
    const auto start = json.find('"', json.find(':', at)) + 1;
    const auto end = json.find('"', start);
    json.replace(start, end - start, "hostile-" + std::to_string(n) + "-" + crypto::randomUuid());
  }
  return json;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Connects, sends request and reads until the server closes (the request says Connection:
// close): whether the answer is a 200. Safe on any thread: no Boost.Test macro.
bool answersOnANewConnection(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    const auto deadline = Clock::now() + 10s;
    char buffer[4096];
    while (Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return answer.rfind("HTTP/1.1 200", 0) == 0;
}

}  // namespace

// --- connection exhaustion ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(idle_and_one_byte_a_second_clients_starve_no_one) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.maxConnectionsPerAddress = 1000;  // every attacker connection is let in and held
  TestServer server(settings);
  const auto port = server.port();

  std::vector<Raw> idle;
  for (int i = 0; i < 300; ++i) idle.emplace_back(port);
  std::vector<Raw> slow;
  for (int i = 0; i < 30; ++i) slow.emplace_back(port);
  // The slow ones send a request head one byte a second, all 30 in step.
  std::atomic<bool> stopSlow{false};
  std::thread dribbler([&] {
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(64, 's') + "\r\n\r\n";
    for (std::size_t i = 0; i < head.size() && !stopSlow; ++i) {
      for (auto& s : slow) s.send(head.substr(i, 1));
      for (int t = 0; t < 10 && !stopSlow; ++t) std::this_thread::sleep_for(100ms);
    }
  });
  // Let every attacker connection be accepted and start sending before the honest clients come.
  const auto settle = Clock::now() + 10s;
  while (server.metric("bcauth_connections_open") < 330 && Clock::now() < settle) std::this_thread::sleep_for(50ms);
  BOOST_TEST(server.metric("bcauth_connections_open") >= 330);
  std::this_thread::sleep_for(1500ms);

  auto timed = [](auto&& call) {
    const auto started = Clock::now();
    const int status = call();
    return std::pair{status, seconds(Clock::now() - started)};
  };
  const auto healthz = timed([&] { return server.call("GET", "/healthz", "", {}, false).status; });
  const auto api = timed([&] { return server.call("GET", "/v1/providers").status; });
  const auto apple = timed([&] { return server.deliver(textMessage(1), "QUICK,LIST,AUTH").status; });
  BOOST_TEST_MESSAGE("under 300 idle + 30 slow: healthz " << healthz.second << " s, API " << api.second
                                                          << " s, Apple " << apple.second << " s");
  BOOST_TEST(healthz.first == 200);
  BOOST_TEST(api.first == 200);
  BOOST_TEST(apple.first == 200);
  BOOST_TEST(healthz.second < 2.0);
  BOOST_TEST(api.second < 2.0);
  BOOST_TEST(apple.second < 2.0);
  // The attackers cost descriptors, not workers.
  BOOST_TEST(server.metric("bcauth_connections_waiting") >= 300);
  stopSlow = true;
  dribbler.join();
}

BOOST_AUTO_TEST_CASE(a_request_head_has_a_total_deadline) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.headerTimeoutSeconds = 2;
  settings.readTimeoutSeconds = 30;  // no single read is slow: only the total can end this
  TestServer server(settings);
  Raw slow(server.port());
  std::atomic<bool> stop{false};
  std::thread dribbler([&] {
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 's') + "\r\n\r\n";
    for (std::size_t i = 0; i < head.size() && !stop; ++i) {
      if (!slow.send(head.substr(i, 1))) break;
      std::this_thread::sleep_for(200ms);
    }
  });
  const auto started = Clock::now();
  bool closed = false;
  const std::string answer = slow.readUntilClosed(8s, &closed);
  const double took = seconds(Clock::now() - started);
  stop = true;
  dribbler.join();
  BOOST_TEST(closed);
  BOOST_TEST(answer.rfind("HTTP/1.1 408", 0) == 0, answer);
  BOOST_TEST(answer.find(R"("code":"request_timeout")") != std::string::npos);
  BOOST_TEST(took < 6.0, took);
  BOOST_TEST(server.metric("bcauth_connections_timed_out_total{phase=\"header\"}") >= 1);
}

BOOST_AUTO_TEST_CASE(a_slow_body_holds_a_worker_only_until_its_deadline) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.bodyTimeoutSeconds = 2;
  settings.readTimeoutSeconds = 30;
  TestServer server(settings);
  Raw slow(server.port());
  slow.send("PUT /v1/providers/p HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + test::kApiKey +
            "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
  std::atomic<bool> stop{false};
  std::thread dribbler([&] {
    for (int i = 0; i < 60 && !stop; ++i) {
      if (!slow.send(" ")) break;
      std::this_thread::sleep_for(200ms);
    }
  });
  const auto started = Clock::now();
  bool closed = false;
  slow.readUntilClosed(8s, &closed);
  const double took = seconds(Clock::now() - started);
  stop = true;
  dribbler.join();
  BOOST_TEST(closed);
  BOOST_TEST(took < 6.0, took);
  BOOST_TEST(server.metric("bcauth_connections_timed_out_total{phase=\"request\"}") >= 1);
}

BOOST_AUTO_TEST_CASE(one_address_over_its_cap_is_refused_and_others_are_served) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.maxConnectionsPerAddress = 4;
  TestServer server(settings);
  std::vector<Raw> held;
  for (int i = 0; i < 4; ++i) held.emplace_back(server.port(), "127.0.0.2");
  Raw refused(server.port(), "127.0.0.2");
  refused.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  const std::string answer = refused.readUntilClosed(5s, &closed);
  BOOST_TEST(answer.rfind("HTTP/1.1 429", 0) == 0, answer);
  BOOST_TEST(answer.find(R"("code":"too_many_connections")") != std::string::npos, answer);
  BOOST_TEST(answer.find("Content-Type: application/json") != std::string::npos);
  BOOST_TEST(closed);
  // Another address is not affected.
  BOOST_TEST(server.call("GET", "/healthz", "", {}, false).status == 200);
  BOOST_TEST(server.metric("bcauth_connections_refused_total{reason=\"per_address\"}") >= 1);
  // And a slot comes back when one of the four closes.
  held.pop_back();
  const auto deadline = Clock::now() + 10s;
  std::string again;
  while (Clock::now() < deadline) {
    Raw next(server.port(), "127.0.0.2");
    next.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    again = next.readUntilClosed(5s);
    if (again.rfind("HTTP/1.1 200", 0) == 0) break;
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(again.rfind("HTTP/1.1 200", 0) == 0, again);
}

BOOST_AUTO_TEST_CASE(apples_intake_keeps_its_workers_when_the_api_is_saturated) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.maxThreads = 2;
  settings.appleThreads = 1;
  settings.bodyTimeoutSeconds = 60;
  settings.readTimeoutSeconds = 60;
  TestServer server(settings);
  // Two API requests whose bodies never finish hold both API workers.
  std::vector<Raw> stuck;
  for (int i = 0; i < 2; ++i) {
    stuck.emplace_back(server.port());
    stuck.back().send("PUT /v1/providers/p" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                      test::kApiKey + "\r\nContent-Length: 100\r\n\r\n{");
  }
  const auto settle = Clock::now() + 10s;
  while (server.metric("bcauth_workers_busy_api") < 2 && Clock::now() < settle) std::this_thread::sleep_for(20ms);
  BOOST_TEST(server.metric("bcauth_workers_busy_api") == 2);
  // Apple's POST /message is answered by its own worker all the same.
  const auto started = Clock::now();
  const auto delivered = server.deliver(textMessage(2), "QUICK,LIST,AUTH");
  const double took = seconds(Clock::now() - started);
  BOOST_TEST(delivered.status == 200);
  BOOST_TEST(took < 2.0, took);
}

// --- HTTP framing -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_request_without_body_or_length_is_answered_at_once) {
  TestServer server;
  for (const std::string& head :
       {"POST /v1/auth-requests/00000000-0000-0000-0000-000000000000/cancel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
            test::kApiKey + "\r\n\r\n",
        std::string("OPTIONS /v1/providers HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    Raw client(server.port());
    client.send(head);
    const auto started = Clock::now();
    const std::string answer = client.readResponse(5s);
    BOOST_TEST(seconds(Clock::now() - started) < 1.0, head);
    BOOST_TEST(answer.rfind("HTTP/1.1 ", 0) == 0, answer);
    BOOST_TEST(answer.find("X-Content-Type-Options: nosniff") != std::string::npos, answer);
  }
  // OPTIONS names what the path allows.
  Raw client(server.port());
  client.send("OPTIONS /v1/providers HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string answer = client.readResponse(5s);
  BOOST_TEST(answer.rfind("HTTP/1.1 204", 0) == 0, answer);
  BOOST_TEST(answer.find("Allow: GET, HEAD, OPTIONS") != std::string::npos, answer);
}

BOOST_AUTO_TEST_CASE(ambiguous_framing_is_refused_and_the_connection_closed) {
  TestServer server;
  const std::string auth = "Authorization: Bearer " + test::kApiKey + "\r\n";
  for (const std::string& head : {
           "PUT /v1/providers/p HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
           "PUT /v1/providers/p HTTP/1.1\r\nHost: x\r\n" + auth +
               "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           "PUT /v1/providers/p HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 1e3\r\n\r\n{}",
       }) {
    Raw client(server.port());
    client.send(head + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    bool closed = false;
    const std::string answer = client.readUntilClosed(5s, &closed);
    BOOST_TEST(answer.rfind("HTTP/1.1 400", 0) == 0, answer);
    BOOST_TEST(answer.find(R"("code":"bad_request")") != std::string::npos, answer);
    BOOST_TEST(closed);
    // Nothing smuggled behind it was answered.
    BOOST_TEST(answer.find("HTTP/1.1", 5) == std::string::npos, answer);
  }
  // A transfer coding the server does not speak.
  Raw client(server.port());
  client.send("PUT /v1/providers/p HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: gzip, chunked\r\n\r\n");
  const std::string answer = client.readUntilClosed(5s);
  BOOST_TEST(answer.rfind("HTTP/1.1 501", 0) == 0, answer);
}

BOOST_AUTO_TEST_CASE(an_unsupported_http_version_gets_505) {
  TestServer server;
  for (const std::string version : {"HTTP/9.9", "HTTP/2.0", "HTTP/1.2", "FOO/1.1"}) {
    Raw client(server.port());
    client.send("GET /healthz " + version + "\r\nHost: x\r\n\r\n");
    const std::string answer = client.readUntilClosed(5s);
    BOOST_TEST(answer.rfind("HTTP/1.1 505", 0) == 0, version << ": " << answer);
    BOOST_TEST(answer.find(R"("code":"http_version_not_supported")") != std::string::npos, answer);
  }
  // HTTP/1.0 is still served.
  Raw client(server.port());
  client.send("GET /healthz HTTP/1.0\r\n\r\n");
  BOOST_TEST(client.readUntilClosed(5s).rfind("HTTP/1.0 200", 0) == 0);
}

BOOST_AUTO_TEST_CASE(head_works_wherever_get_does) {
  TestServer server;
  for (const auto& [path, withKey] : {std::pair{"/healthz", false}, std::pair{"/readyz", false},
                                      std::pair{"/metrics", false}, std::pair{"/v1/providers", true},
                                      std::pair{"/v1/events", true}}) {
    auto get = server.call("GET", path, "", {}, withKey);
    auto head = server.call("HEAD", path, "", {}, withKey);
    BOOST_TEST(head.status == get.status, path);
    BOOST_TEST(head.body.empty(), path);
    BOOST_TEST(head.headers["Content-Type"] == get.headers["Content-Type"], path);
  }
  // Without the key, HEAD is refused like GET.
  BOOST_TEST(server.call("HEAD", "/v1/providers", "", {}, false).status == 401);
}

BOOST_AUTO_TEST_CASE(every_answer_carries_nosniff) {
  TestServer server;
  for (const auto& [method, path, withKey] :
       {std::tuple{"GET", "/healthz", false}, std::tuple{"GET", "/nope", false}, std::tuple{"GET", "/v1/providers", false},
        std::tuple{"GET", "/v1/providers", true}, std::tuple{"DELETE", "/healthz", false},
        std::tuple{"GET", "/v1/providers/missing", true}}) {
    auto r = server.call(method, path, "", {}, withKey);
    BOOST_TEST(r.headers["X-Content-Type-Options"] == "nosniff", method << " " << path << " " << r.status);
  }
}

// --- keep-alive between the listener and the workers -----------------------------------------

BOOST_AUTO_TEST_CASE(a_kept_alive_connection_serves_request_after_request) {
  TestServer server;
  Raw client(server.port());
  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 5; ++i) {
    // Each request finds the connection waiting with the listener, idle for a moment first.
    std::this_thread::sleep_for(100ms);
    BOOST_REQUIRE(client.send(healthz));
    const std::string answer = client.readResponse(5s);
    BOOST_TEST(answer.rfind("HTTP/1.1 200", 0) == 0, i << ": " << answer);
  }
  // A body on the same connection, then two pipelined requests in one write: all answered, in order.
  const std::string body = R"({"name":"IdP","authorizationUrl":"https://i.example/a","tokenUrl":"https://i.example/t","clientId":"c","scopes":["openid"]})";
  BOOST_REQUIRE(client.send("PUT /v1/providers/kept HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + test::kApiKey +
                            "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\n\r\n" + body));
  BOOST_TEST(client.readResponse(5s).rfind("HTTP/1.1 200", 0) == 0);
  BOOST_REQUIRE(client.send(healthz + "GET /v1/providers/kept HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                            test::kApiKey + "\r\n\r\n"));
  const std::string first = client.readResponse(5s);
  BOOST_TEST(first.rfind("HTTP/1.1 200", 0) == 0, first);
  BOOST_TEST(first.find(R"({"status":"ok"})") != std::string::npos, first);
  std::string second = first.substr(first.find(R"({"status":"ok"})") + 15);
  if (second.find("\r\n\r\n") == std::string::npos || second.find("\"kept\"") == std::string::npos) {
    second += client.readResponse(5s);
  }
  BOOST_TEST(second.find("HTTP/1.1 200") != std::string::npos, second);
  BOOST_TEST(second.find(R"("id":"kept")") != std::string::npos, second);
}

// Clients that connect in bursts, as a CSP's workers do when they start: the listener accepts
// every one as it arrives. It once told "nothing more to accept" from "out of descriptors" by
// polling the socket after accept failed, so a client arriving in between paused accepting for
// a tick (and a burst waited 100-200 ms) with descriptors to spare: the refusal counter shows
// when that happens.
BOOST_AUTO_TEST_CASE(bursts_of_new_connections_never_pause_accepting) {
  TestServer server;
  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (int burst = 0; burst < 60; ++burst) {
    std::vector<std::thread> clients;
    std::atomic<int> answered{0};
    for (int i = 0; i < 12; ++i) {
      // No Boost.Test macro runs on these threads (they are not thread-safe): Raw's are not used.
      clients.emplace_back([&] {
        if (answersOnANewConnection(server.port(), healthz)) ++answered;
      });
    }
    for (auto& client : clients) client.join();
    BOOST_REQUIRE_EQUAL(answered.load(), 12);
  }
  BOOST_TEST(server.metric("bcauth_connections_refused_total{reason=\"descriptors\"}") == 0);
}

// The socket a plain connection is served through answers its addresses from memory and sets
// the kernel's receive timeout only when it changes (Poco asks and sets both on every request):
// a repeated timeout is not handed over again, a different one always is.
BOOST_AUTO_TEST_CASE(an_accepted_socket_remembers_its_addresses_and_receive_timeout) {
  Poco::Net::ServerSocket listening(Poco::Net::SocketAddress("127.0.0.1", 0));
  Poco::Net::StreamSocket client(listening.address());
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  const int fd = ::accept4(static_cast<int>(listening.impl()->sockfd()), reinterpret_cast<sockaddr*>(&address),
                           &length, SOCK_CLOEXEC);
  BOOST_REQUIRE(fd >= 0);
  const Poco::Net::SocketAddress peer(reinterpret_cast<const sockaddr*>(&address), length);
  Poco::Net::StreamSocket accepted = http::acceptedSocket(fd, peer);
  BOOST_TEST(accepted.peerAddress().toString() == client.address().toString());
  BOOST_TEST(accepted.address().toString() == listening.address().toString());

  const auto kernelTimeout = [fd] {
    timeval value{};
    socklen_t size = sizeof value;
    BOOST_REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, &size) == 0);
    return value.tv_sec;
  };
  accepted.setReceiveTimeout(Poco::Timespan(15, 0));
  BOOST_TEST(kernelTimeout() == 15);
  // Changed behind the socket's back: the same timeout again is not handed over...
  const timeval five{5, 0};
  BOOST_REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five) == 0);
  accepted.setReceiveTimeout(Poco::Timespan(15, 0));
  BOOST_TEST(kernelTimeout() == 5);
  // ...and a different one is.
  accepted.setReceiveTimeout(Poco::Timespan(2, 0));
  BOOST_TEST(kernelTimeout() == 2);
  accepted.setReceiveTimeout(Poco::Timespan(15, 0));
  BOOST_TEST(kernelTimeout() == 15);
}
