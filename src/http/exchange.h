// One request on a connection, read and answered with Poco's HTTP classes: the worker side of
// the server. It enforces the framing rules Poco leaves to its user (one Content-Length, no
// Content-Length beside Transfer-Encoding, HTTP/1.0 and 1.1 only), answers every failure below
// the routes with the same JSON error body as the routes, and puts every read under a deadline
// the listener's watchdog enforces.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>

#include "http/connection.h"

namespace bcauth::http {

// A session whose reads each carry a deadline (the head's, then the body's).
class DeadlineSession : public Poco::Net::HTTPServerSession {
 public:
  DeadlineSession(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params, Watchdog& watchdog)
      : HTTPServerSession(socket, params), watchdog_(watchdog) {}
  void setDeadline(Clock::time_point deadline) { deadline_ = deadline; }
  // Bytes of a further (pipelined) request the session has read ahead.
  bool hasBuffered() const { return buffered() > 0; }

 protected:
  int read(char* buffer, std::streamsize length) override;

 private:
  Watchdog& watchdog_;
  Clock::time_point deadline_ = Clock::time_point::max();
};

// A request whose head has been read, with the response that will answer it.
struct RequestHead {
  std::unique_ptr<DeadlineSession> session;
  std::unique_ptr<Poco::Net::HTTPServerResponseImpl> response;
  std::unique_ptr<Poco::Net::HTTPServerRequestImpl> request;
};

struct ExchangeConfig {
  Poco::Net::HTTPServerParams::Ptr params;  // per-read/-write timeout, keep-alive
  Clock::duration headerTimeout = std::chrono::seconds(10);
  Clock::duration bodyTimeout = std::chrono::seconds(30);
};

class Exchange {
 public:
  using Handle = std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;

  Exchange(ExchangeConfig config, Watchdog& watchdog, Handle handle, const std::atomic<bool>& stopping)
      : config_(std::move(config)), watchdog_(watchdog), handle_(std::move(handle)), stopping_(stopping) {}

  // Reads the next request head; null when the client closed, timed out or sent a malformed head
  // (which has then been answered).
  std::shared_ptr<RequestHead> readHead(Connection& connection, std::unique_ptr<DeadlineSession> session = nullptr);

  // Answers the request in `connection.head` and any requests pipelined behind it. True when the
  // connection stays open and idle (to be parked); false when it is to be closed.
  bool serve(Connection& connection);

 private:
  // Framing checks, then the routes; true to keep the connection.
  bool answer(RequestHead& head);

  ExchangeConfig config_;  // not const: Poco takes its params by non-const pointer
  Watchdog& watchdog_;
  const Handle handle_;
  const std::atomic<bool>& stopping_;
};

// Method "HEAD" is served by the route for GET (Poco writes no body for it).
bool isHead(const Poco::Net::HTTPServerRequest& request);
// RFC 9112 §6.3: a request with neither Content-Length nor Transfer-Encoding has no body.
bool hasBody(const Poco::Net::HTTPServerRequest& request);

}  // namespace bcauth::http
