// bcauth_floor: the least any server must do for a legacy round trip, over the same Poco HTTP
// server bcauth uses, so bcauth_load can say how much of the raw P-384 limit is left once HTTP
// and the load generator itself share the two CPUs. Not a product: nothing is stored, nothing
// is validated beyond what the crypto checks, and keys live in a map until their reply.
//
//   POST /v1/auth-requests   a fresh P-384 key (bcauth's PrivateKey::generate), answered as
//                            {"requestIdentifier", "responseEncryptionKey"} with 201
//   POST /message            inflates the body if gzip, finds requestIdentifier and token by
//                            text search, decrypt()s the token with that request's key: 200
//   anything else            200 {} (the load generator's setup calls)
//
// Started like `bcauth serve --port 0` (tests/process_harness.h): it prints the same
// "bcauth listening on http://127.0.0.1:PORT" line and stops on SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/Util/ServerApplication.h>

#include "bcauth/crypto.h"
#include "bcauth/secure.h"
#include "http/body.h"
#include "json_field.h"

namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

class Keys {
 public:
  void put(const std::string& id, bcauth::crypto::PrivateKey key) {
    std::lock_guard lock(mutex_);
    keys_.emplace(id, std::move(key));
  }
  std::optional<bcauth::crypto::PrivateKey> take(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return std::nullopt;
    auto key = std::move(it->second);
    keys_.erase(it);
    return key;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, bcauth::crypto::PrivateKey> keys_;
};

void answer(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& body) {
  response.setStatus(status);
  response.setContentType("application/json");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Keys& keys) : keys_(keys) {}
  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    if (request.getMethod() != "POST") return answer(response, HTTPResponse::HTTP_OK, "{}");
    if (request.getURI() == "/v1/auth-requests") {
      auto key = bcauth::crypto::PrivateKey::generate();
      if (!key) return answer(response, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "{}");
      const std::string id = bcauth::crypto::randomUuid();
      const std::string point = key->publicKey().toBase64();
      keys_.put(id, std::move(*key));
      return answer(response, HTTPResponse::HTTP_CREATED,
                    R"({"requestIdentifier":")" + id + R"(","responseEncryptionKey":")" + point + R"("})");
    }
    if (request.getURI() == "/message") {
      if (bcauth::http::inflateIfGzip(body, 1 << 20) != bcauth::http::BodyError::kNone) {
        return answer(response, HTTPResponse::HTTP_BAD_REQUEST, "{}");
      }
      auto key = keys_.take(bcauth::bench::jsonStringField(body, "requestIdentifier"));
      const bool ok = key && static_cast<bool>(bcauth::crypto::decrypt(*key, bcauth::bench::jsonStringField(body, "token")));
      return answer(response, ok ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_BAD_REQUEST, "{}");
    }
    answer(response, HTTPResponse::HTTP_OK, "{}");
  }

 private:
  Keys& keys_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override { return new Handler(keys_); }

 private:
  Keys keys_;
};

class FloorServer : public Poco::Util::ServerApplication {
 protected:
  int main(const std::vector<std::string>&) override {
    const char* threads = std::getenv("BCAUTH_MAX_THREADS");
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams();
    params->setMaxThreads(threads ? std::atoi(threads) : 16);
    params->setKeepAlive(true);
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    Poco::Net::HTTPServer server(new Factory, socket, params);
    server.start();
    std::cout << "bcauth listening on http://127.0.0.1:" << socket.address().port() << " (the floor, HTTP and P-384 only)"
              << std::endl;
    waitForTerminationRequest();
    server.stopAll(true);
    return EXIT_OK;
  }
};

}  // namespace

int main(int, char** argv) {
  // The harness passes `serve --port 0`; the floor always listens on a port the OS picks.
  FloorServer app;
  return app.run(1, argv);
}
