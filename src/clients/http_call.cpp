#include "clients/http_call.h"

#include <memory>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/DNS.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/HostEntry.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "clients/outbound_url.h"

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

bool hasLineBreak(const std::string& text) { return text.find_first_of(std::string("\r\n\0", 3)) != std::string::npos; }

HttpAnswer refusedAnswer(std::string error) {
  HttpAnswer answer;
  answer.refused = true;
  answer.error = std::move(error);
  return answer;
}

// The addresses the host stands for, resolved once (a literal is not looked up).
std::vector<Poco::Net::IPAddress> resolve(const OutboundUrl& url) {
  if (url.hostIsAddress) return {Poco::Net::IPAddress(url.host)};
  const auto entry = Poco::Net::DNS::hostByName(url.host);
  return {entry.addresses().begin(), entry.addresses().end()};
}

// A session to address that speaks to url's host: the session's own host is the address (Poco
// then connects without a lookup of its own); TLS names the URL's host for SNI and checks the
// certificate against it.
std::unique_ptr<Poco::Net::HTTPClientSession> sessionTo(const OutboundUrl& url, const Poco::Net::IPAddress& address) {
  if (url.scheme != "https") return std::make_unique<Poco::Net::HTTPClientSession>(address.toString(), url.port);
  auto session = std::make_unique<Poco::Net::HTTPSClientSession>(address.toString(), url.port, clientContext());
  Poco::Net::SecureStreamSocket(session->socket()).setPeerHostName(url.host);
  return session;
}

}  // namespace

std::string urlEncode(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]% ", out);
  return out;
}

HttpAnswer httpCall(const std::string& method, const std::string& url, const std::map<std::string, std::string>& headers,
                    const std::string& body, int timeoutSeconds, const OutboundPolicy* policy) {
  const auto parsed = parseOutboundUrl(url);
  if (!parsed) return refusedAnswer("the URL is refused: it " + parsed.status().message());
  for (const auto& [name, value] : headers) {
    if (hasLineBreak(name) || hasLineBreak(value)) return refusedAnswer("the header " + name + " holds a line break");
  }
  HttpAnswer answer;
  try {
    const auto addresses = resolve(*parsed);
    if (addresses.empty()) return refusedAnswer(parsed->host + " has no address");
    for (const auto& address : addresses) {
      const std::string refusal = policy ? policy->refusal(address) : std::string();
      if (!refusal.empty()) return refusedAnswer(refusedDestination(address, refusal));
    }
    const auto session = sessionTo(*parsed, addresses.front());
    session->setTimeout(Poco::Timespan(timeoutSeconds, 0));
    Poco::Net::HTTPRequest request(method, parsed->target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost(parsed->authority);
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
