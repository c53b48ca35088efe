// bcauth_load's HTTP client (tests/bench/http_client.h) against a scripted server on loopback:
// every framing it claims to read, and a new connection after an answer that ends the old one.
#define BOOST_TEST_MODULE bench_client
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include "bench/http_client.h"

namespace {

// Accepts connections one after another; on each, answers every request (read up to its blank
// line and Content-Length body) with the next scripted answer. An answer ending in "|close" is
// sent and then the connection is closed. Counts the connections it accepted.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> answers)
      : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)), answers_(std::move(answers)), thread_([this] { run(); }) {}
  ~ScriptedServer() {
    done_ = true;
    try {
      Poco::Net::StreamSocket wake(socket_.address());  // unblocks accept
    } catch (...) {
    }
    thread_.join();
  }
  unsigned short port() const { return socket_.address().port(); }
  int connections() const { return connections_; }

 private:
  void run() {
    std::size_t next = 0;
    while (!done_ && next < answers_.size()) {
      Poco::Net::StreamSocket peer = socket_.acceptConnection();
      if (done_) return;
      ++connections_;
      std::string in;
      while (next < answers_.size()) {
        std::size_t headEnd;
        char chunk[4096];
        bool open = true;
        while ((headEnd = in.find("\r\n\r\n")) == std::string::npos && open) {
          const int n = peer.receiveBytes(chunk, sizeof chunk);
          open = n > 0;
          in.append(chunk, static_cast<std::size_t>(std::max(n, 0)));
        }
        if (!open) break;
        const std::size_t lengthAt = in.find("Content-Length: ");
        const std::size_t length = std::stoul(in.substr(lengthAt + 16));
        while (in.size() < headEnd + 4 + length) {
          const int n = peer.receiveBytes(chunk, sizeof chunk);
          if (n <= 0) return;
          in.append(chunk, static_cast<std::size_t>(n));
        }
        in.erase(0, headEnd + 4 + length);
        std::string answer = answers_[next++];
        const bool close = answer.size() > 6 && answer.compare(answer.size() - 6, 6, "|close") == 0;
        if (close) answer.resize(answer.size() - 6);
        peer.sendBytes(answer.data(), static_cast<int>(answer.size()));
        if (close) break;
      }
      peer.close();
    }
  }

  Poco::Net::ServerSocket socket_;
  std::vector<std::string> answers_;
  std::atomic<bool> done_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(reads_every_framing_and_connects_again_after_an_answer_that_ends_the_connection) {
  ScriptedServer server({
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n4\r\nond!\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nthird\r\n0\r\nX-Trailer: yes\r\n\r\n",
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy|close",
      "HTTP/1.1 200 OK\r\n\r\nto the end|close",
      "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
  });
  bcauth::bench::HttpClient client(server.port());
  std::string body;
  BOOST_TEST(client.call("GET", "/a", "", {}, body) == 200);
  BOOST_TEST(body == "first");
  BOOST_TEST(client.call("POST", "/b", "{}", {}, body) == 201);
  BOOST_TEST(body == "second!");
  BOOST_TEST(client.call("GET", "/c", "", {}, body) == 200);
  BOOST_TEST(body == "third");
  BOOST_TEST(client.call("GET", "/d", "", {}, body) == 503);
  BOOST_TEST(body == "busy");
  BOOST_TEST(client.call("GET", "/e", "", {}, body) == 200);  // on a new connection
  BOOST_TEST(body == "to the end");
  BOOST_TEST(client.call("GET", "/f", "", {}, body) == 204);  // and another
  BOOST_TEST(body.empty());
  BOOST_TEST(server.connections() == 3);
}

BOOST_AUTO_TEST_CASE(an_answer_cut_short_is_an_error_not_a_body) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort|close"});
  bcauth::bench::HttpClient client(server.port());
  std::string body;
  BOOST_CHECK_THROW(client.call("GET", "/", "", {}, body), std::runtime_error);
}
