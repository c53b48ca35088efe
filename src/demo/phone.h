// The customer's iPhone as a web page, for `bcauth demo --serve`: two devices (iOS 16+ and an
// older, legacy one), each a Messages thread with the business. The page (web/phone/, compiled
// in) shows what Apple's gateway double delivered to the device as a received-message bubble
// (title, subtitle, image); tapping it opens the sheet, the identity-provider double's own HTML
// login form; what the customer does there ends as the device's reply, sent through the gateway
// double to bcauth's /message:
// - legacy: the IdP redirects the code to the phone's /phone/capture (standing in for Apple's
//   capture URL, which a device never loads); the phone exchanges it at the token URL, encrypts
//   the access token to the message's responseEncryptionKey and replies;
// - iOS 16+: bcauth's public URL is the phone's, so the IdP's redirect to /oauth/callback passes
//   through the phone as through the device's web view: it forwards it to bcauth and, as the
//   device does, intercepts the messages-auth: URL bcauth answers with and replies from it.
// Closing the sheet is the device's cancel (iOS 16+: status cancel; legacy: a failed reply with
// no error, as the legacy device's cancel is not known).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "demo/gateway_double.h"
#include "demo/loopback_server.h"

namespace bcauth::demo {

class Phone {
 public:
  struct Setup {
    std::string businessId;
    std::string idpBaseUrl;
    std::string clientId;  // what Apple injects from the CSP's registration
    std::string tokenUrl;  // where the legacy device exchanges the code (the same registration)
  };

  // Starts listening on 127.0.0.1 (port 0); it answers once connect() named bcauth.
  Phone(GatewayDouble& gateway, Setup setup);
  ~Phone();
  Phone(const Phone&) = delete;
  Phone& operator=(const Phone&) = delete;

  std::string baseUrl() const;  // http://127.0.0.1:PORT; the page is at baseUrl() + "/phone/"
  void connect(const std::string& bcauthUrl);

  // The customer of each device writes (delivered to bcauth as Apple would, with the device's
  // capability-list). device: "ios16" or "legacy".
  void say(const std::string& device, const std::string& text);

 private:
  struct Entry {
    std::string kind;  // customer, received, reply
    std::string text;  // customer: the message; received: the title; reply: the bubble's title
    std::string subtitle;
    std::string image;  // a data: URL, or ""
    std::string requestIdentifier;
    bool answered = false;  // received: the device replied
    bool failed = false;    // reply: failed or cancelled
  };
  struct Device {
    std::string id;
    std::string label;
    std::string customerId;
    std::string capabilities;
    std::vector<Entry> thread;
  };
  // A delivered authenticate message, by its requestIdentifier: what its sheet opens and answers.
  struct Sheet {
    std::size_t device;
    Poco::JSON::Object::Ptr message;
  };

  void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
  void state(Poco::Net::HTTPServerResponse& response);
  void openSheet(const std::string& requestIdentifier, Poco::Net::HTTPServerResponse& response);
  void capture(const std::string& query, Poco::Net::HTTPServerResponse& response);
  void callback(const std::string& query, Poco::Net::HTTPServerResponse& response);
  void close(const std::string& requestIdentifier, Poco::Net::HTTPServerResponse& response);
  // Sends the device's reply; false when the request was already answered.
  bool reply(const std::string& requestIdentifier, const std::string& json, const std::string& title, bool failed);
  void readGateway();  // under mutex_
  std::size_t deviceIndex(const std::string& id) const;
  Sheet sheetFor(const std::string& requestIdentifier) const;           // throws when unknown
  Sheet sheetForState(const std::string& query, std::string& requestIdentifier) const;  // the redirect's
  std::string bcauthUrl() const;

  GatewayDouble& gateway_;
  const Setup setup_;
  mutable std::mutex mutex_;
  std::string bcauthUrl_;
  std::vector<Device> devices_;
  std::size_t gatewaySeen_ = 0;
  std::map<std::string, Sheet> sheets_;       // requestIdentifier -> its message
  std::map<std::string, std::string> states_;  // oauth2 state -> requestIdentifier
  std::unique_ptr<LoopbackServer> server_;  // last: stopped first
};

}  // namespace bcauth::demo
