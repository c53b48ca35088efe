#include "clients/http_call.h"

#include <memory>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

namespace bcauth::clients {
namespace {

// Certificates are verified against the system's CAs; the IdP and Apple must present valid ones.
Poco::Net::Context::Ptr clientContext() {
  static const Poco::Net::Context::Ptr context = [] {
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr c = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                                       Poco::Net::Context::VERIFY_RELAXED, 9, true);
    c->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    return c;
  }();
  return context;
}

}  // namespace

std::string urlEncode(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]% ", out);
  return out;
}

HttpAnswer httpCall(const std::string& method, const std::string& url, const std::map<std::string, std::string>& headers,
                    const std::string& body, int timeoutSeconds) {
  HttpAnswer answer;
  try {
    const Poco::URI uri(url);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), clientContext());
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setTimeout(Poco::Timespan(timeoutSeconds, 0));
    // The path is sent as written: Poco::URI decodes %2F on parsing, which would split an
    // encoded opaque id into two path segments.
    const auto schemeEnd = url.find("://");
    const auto pathStart = schemeEnd == std::string::npos ? std::string::npos : url.find('/', schemeEnd + 3);
    const std::string target = pathStart == std::string::npos ? "/" : url.substr(pathStart);
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() || method == "POST") request.setContentLength(static_cast<std::streamsize>(body.size()));
    session->sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    answer.status = static_cast<int>(response.getStatus());
    for (const auto& [name, value] : response) answer.headers[name] = value;
    Poco::StreamCopier::copyToString(in, answer.body);
    answer.reached = true;
  } catch (const Poco::Exception& e) {
    answer.error = e.displayText();
  } catch (const std::exception& e) {
    answer.error = e.what();
  }
  return answer;
}

}  // namespace bcauth::clients
