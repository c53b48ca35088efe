#include "http/exchange.h"

#include <string>
#include <vector>

#include <Poco/Net/NetException.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>

#include "http/errors.h"
#include "http/integer.h"

namespace bcauth::http {
namespace {

using Poco::Net::HTTPResponse;

Status refusal(StatusCode code, const char* message) { return Status::refusal(code, message); }

// What RFC 9112 asks a server to refuse before it looks at a request's meaning. Poco reads the
// first Content-Length it finds and ignores Transfer-Encoding values it does not know, so a
// request a proxy framed one way could be read another way here (request smuggling).
Status framingFault(const Poco::Net::HTTPServerRequest& request) {
  const std::string& version = request.getVersion();
  if (version != HTTPResponse::HTTP_1_1 && version != HTTPResponse::HTTP_1_0) {
    return refusal(StatusCode::kHttpVersionNotSupported, "only HTTP/1.1 and HTTP/1.0 are served");
  }
  std::vector<std::string> lengths;
  std::vector<std::string> encodings;
  for (const auto& [name, value] : request) {
    if (Poco::icompare(name, "Content-Length") == 0) lengths.push_back(Poco::trim(value));
    if (Poco::icompare(name, "Transfer-Encoding") == 0) encodings.push_back(Poco::trim(value));
  }
  if (!lengths.empty() && !encodings.empty()) {
    return refusal(StatusCode::kBadRequest, "Content-Length and Transfer-Encoding together are refused");
  }
  for (const auto& length : lengths) {
    if (!parseInteger(length, "Content-Length", 0, INT64_MAX)) {
      return refusal(StatusCode::kBadRequest, "Content-Length must be one decimal number");
    }
    if (length != lengths.front()) {
      return refusal(StatusCode::kBadRequest, "the request has conflicting Content-Length values");
    }
  }
  if (encodings.size() > 1 || (encodings.size() == 1 && Poco::icompare(encodings.front(), "chunked") != 0)) {
    return refusal(StatusCode::kNotImplemented, "the only Transfer-Encoding served is chunked");
  }
  return Status::ok();
}

// A malformed head, as Poco's parser reports it, in the terms of the error table.
Status headFault(const Poco::Net::MessageException& e) {
  const std::string& what = e.message();
  if (what.find("URI") != std::string::npos) return refusal(StatusCode::kUriTooLong, "the request target is too long");
  if (what.find("ield") != std::string::npos) {  // "Field name too long", "Too many header fields"
    return refusal(StatusCode::kHeadersTooLarge, "the request has too many or too large header fields");
  }
  return refusal(StatusCode::kBadRequest, "the request head is malformed");
}

// Head faults are answered before (or without) a parsed request: in HTTP/1.1, and closing.
void sendFault(Poco::Net::HTTPServerResponse& response, const Status& fault) {
  response.setVersion(HTTPResponse::HTTP_1_1);
  response.set("X-Content-Type-Options", "nosniff");
  response.setKeepAlive(false);
  sendStatus(response, fault);
}

}  // namespace

int DeadlineSession::read(char* buffer, std::streamsize length) {
  // Bytes already buffered cost no wait; only a read that may block is watched.
  if (buffered() > 0) return HTTPServerSession::read(buffer, length);
  Watchdog::Guard guard(watchdog_, static_cast<int>(socket().impl()->sockfd()), deadline_);
  return HTTPServerSession::read(buffer, length);
}

bool isHead(const Poco::Net::HTTPServerRequest& request) {
  return request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD;
}

bool hasBody(const Poco::Net::HTTPServerRequest& request) {
  return request.hasContentLength() || request.getChunkedTransferEncoding();
}

std::shared_ptr<RequestHead> Exchange::readHead(Connection& connection, std::unique_ptr<DeadlineSession> session) {
  auto head = std::make_shared<RequestHead>();
  head->session = session ? std::move(session)
                          : std::make_unique<DeadlineSession>(connection.socket, config_.params, watchdog_);
  head->session->setDeadline(Clock::now() + config_.headerTimeout);
  head->response = std::make_unique<Poco::Net::HTTPServerResponseImpl>(*head->session);
  try {
    head->request = std::make_unique<Poco::Net::HTTPServerRequestImpl>(*head->response, *head->session,
                                                                        config_.params.get());
  } catch (const Poco::Net::NoMessageException&) {
    return nullptr;  // the client closed between requests
  } catch (const Poco::Net::MessageException& e) {
    try {
      sendFault(*head->response, headFault(e));
    } catch (const Poco::Exception&) {
    }
    return nullptr;
  } catch (const Poco::SyntaxException&) {
    // Poco parses Content-Length while it builds the request: a value that is not a number.
    try {
      sendFault(*head->response, refusal(StatusCode::kBadRequest, "Content-Length must be one decimal number"));
    } catch (const Poco::Exception&) {
    }
    return nullptr;
  } catch (const Poco::Exception&) {
    return nullptr;  // timed out, reset, or a failed TLS handshake
  }
  // From here the body has its own deadline, counted from the end of the head.
  head->session->setDeadline(Clock::now() + config_.bodyTimeout);
  return head;
}

bool Exchange::serve(Connection& connection) {
  while (true) {
    bool keep = false;
    try {
      keep = answer(*connection.head);
    } catch (const Poco::Exception&) {
      keep = false;  // the client went away mid-answer
    }
    const bool pipelined = keep && (connection.head->session->hasBuffered() ||
                                    (connection.secure() && connection.socket.available() > 0));
    // The session keeps what it read ahead: a pipelined request is read from it, not the socket.
    std::unique_ptr<DeadlineSession> session = std::move(connection.head->session);
    connection.head.reset();
    if (!keep || stopping_) return false;
    if (!pipelined) {
      // A session closes its socket when it is destroyed; the connection outlives this one.
      session->detachSocket();
      return true;
    }
    // The next request is already here (read ahead into the session, or inside TLS): serve it now.
    connection.head = readHead(connection, std::move(session));
    if (!connection.head) return false;
  }
}

bool Exchange::answer(RequestHead& head) {
  auto& request = *head.request;
  auto& response = *head.response;
  response.setDate(Poco::Timestamp());
  response.set("X-Content-Type-Options", "nosniff");
  if (const Status fault = framingFault(request); !fault) {
    sendFault(response, fault);
    return false;
  }
  response.setVersion(request.getVersion());
  response.setKeepAlive(config_.params->getKeepAlive() && request.getKeepAlive() && !stopping_);
  if (request.getExpectContinue() && hasBody(request)) response.sendContinue();
  handle_(request, response);
  return response.getKeepAlive() && !stopping_;
}

}  // namespace bcauth::http
