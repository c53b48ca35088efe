// The load generator's HTTP/1.1 client: one kept-alive connection, each request written with one
// send (head and body together, as a CSP's HTTP client or Apple's gateway writes a small
// request), each answer read into one buffer. It shares the two CPUs with the server it
// measures, so it does no more than that: Poco's HTTPClientSession built a header map and two
// streams per request and wrote the head and the body in two sends, about a fifth of this
// process's CPU per round trip. It reads Content-Length and chunked answers (trailers skipped),
// and answers that end with the connection; after an answer with `Connection: close` or one
// read to the end of the connection, the next call connects again. It neither pipelines nor
// follows redirects.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cctype>
#include <cerrno>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bcauth::bench {

class HttpClient {
 public:
  explicit HttpClient(unsigned short port) : port_(port), host_("127.0.0.1:" + std::to_string(port)) { connect(); }
  ~HttpClient() { disconnect(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The answer's status; its body in `answer`. Content-Type defaults to application/json.
  int call(std::string_view method, std::string_view path, std::string_view body,
           const std::map<std::string, std::string>& headers, std::string& answer) {
    request_.clear();
    request_.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_);
    request_.append("\r\nContent-Length: ").append(std::to_string(body.size()));
    bool typed = false;
    for (const auto& [name, value] : headers) {
      request_.append("\r\n").append(name).append(": ").append(value);
      typed = typed || equalsIgnoringCase(name, "Content-Type");
    }
    if (!typed) request_.append("\r\nContent-Type: application/json");
    request_.append("\r\n\r\n").append(body);
    if (fd_ < 0) connect();
    try {
      sendAll(request_);
      return readAnswer(answer);
    } catch (...) {
      disconnect();  // what is left of the connection is unusable; the next call connects again
      throw;
    }
  }

 private:
  void connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(port_);
    ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
      disconnect();
      throw std::runtime_error("cannot connect to " + host_);
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const timeval timeout{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }

  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    in_.clear();
  }

  static bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
  }

  void sendAll(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("send to " + host_ + " failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // More bytes into in_; false at the end of the connection.
  bool fill() {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error("no answer from " + host_);
      in_.append(chunk, static_cast<std::size_t>(n));
      return n > 0;
    }
  }

  // Until `in_` holds `size` bytes from `from`.
  void need(std::size_t from, std::size_t size) {
    while (in_.size() < from + size) {
      if (!fill()) throw std::runtime_error("the answer from " + host_ + " ended early");
    }
  }

  // The position just past the next CRLF at or after `from`.
  std::size_t line(std::size_t from) {
    std::size_t end;
    while ((end = in_.find("\r\n", from)) == std::string::npos) {
      if (!fill()) throw std::runtime_error("the answer from " + host_ + " ended early");
    }
    return end + 2;
  }

  int readAnswer(std::string& body) {
    std::size_t headEnd;
    while ((headEnd = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) throw std::runtime_error("the connection to " + host_ + " closed before an answer");
    }
    const std::string_view head(in_.data(), headEnd + 2);
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") throw std::runtime_error("not an HTTP answer");
    const int status = std::stoi(std::string(head.substr(9, 3)));
    long long length = -1;
    bool chunked = false;
    bool closes = false;
    for (std::size_t at = head.find("\r\n") + 2; at < head.size();) {
      const std::size_t end = head.find("\r\n", at);
      const std::string_view field = head.substr(at, end - at);
      const std::size_t colon = field.find(':');
      if (colon != std::string_view::npos) {
        const std::string_view name = field.substr(0, colon);
        std::string_view value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (equalsIgnoringCase(name, "Content-Length")) length = std::stoll(std::string(value));
        if (equalsIgnoringCase(name, "Transfer-Encoding")) chunked = equalsIgnoringCase(value, "chunked");
        if (equalsIgnoringCase(name, "Connection")) closes = equalsIgnoringCase(value, "close");
      }
      at = end + 2;
    }
    std::size_t at = headEnd + 4;
    body.clear();
    if (chunked) {
      for (;;) {
        std::size_t next = line(at);
        const std::size_t size = std::stoul(in_.substr(at, next - at - 2), nullptr, 16);
        if (size == 0) {
          // The trailer: header lines up to an empty one.
          for (at = next; (next = line(at)) != at + 2;) at = next;
          at = next;
          break;
        }
        need(next, size + 2);
        body.append(in_, next, size);
        at = next + size + 2;
      }
    } else if (length >= 0) {
      need(at, static_cast<std::size_t>(length));
      body.assign(in_, at, static_cast<std::size_t>(length));
      at += static_cast<std::size_t>(length);
    } else {
      while (fill()) {
      }
      body.assign(in_, at);
      closes = true;
    }
    if (closes) {
      disconnect();
    } else {
      in_.erase(0, at);
    }
    return status;
  }

  unsigned short port_;
  std::string host_;
  int fd_ = -1;
  std::string request_, in_;
};

}  // namespace bcauth::bench
