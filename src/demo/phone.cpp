#include "demo/phone.h"

#include <sstream>
#include <stdexcept>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "bcauth/secure.h"
#include "demo/device_simulator.h"
#include "http/web_assets.h"

namespace bcauth::demo {
namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerResponse;

constexpr const char* kCapturePath = "/phone/capture";

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string stringify(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

void send(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& type, const std::string& body) {
  response.setStatus(status);
  response.setContentType(type);
  response.set("Cache-Control", "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
}

void sendError(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& message) {
  Poco::JSON::Object error;
  error.set("message", message);
  Poco::JSON::Object body;
  body.set("error", error);
  send(response, status, "application/json", stringify(body));
}

void redirect(HTTPServerResponse& response, const std::string& location) {
  response.set("Location", location);
  response.set("Cache-Control", "no-store");
  response.setStatusAndReason(HTTPResponse::HTTP_FOUND);
  response.setContentLength(0);
  response.send();
}

// What the sheet shows once the device has its answer: the page polls and closes the sheet.
void sheetDone(HTTPServerResponse& response, const std::string& text) {
  response.set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'self'");
  send(response, HTTPResponse::HTTP_OK, "text/html; charset=utf-8",
       "<!doctype html><html lang=\"en\"><head><title>Sign-in</title><link rel=\"stylesheet\" href=\"/phone/phone.css\">"
       "</head><body class=\"sheet-done\"><main><p>" + text + "</p></main></body></html>");
}

std::string queryValue(const std::string& query, const std::string& name) {
  for (const auto& [key, value] : Poco::URI("/?" + query).getQueryParameters()) {
    if (key == name) return value;
  }
  return {};
}

std::string member(const Poco::JSON::Object::Ptr& object, const std::string& name) {
  return object && object->has(name) && object->get(name).isString() ? object->getValue<std::string>(name) : "";
}

// The bubble's image as a data: URL: receivedMessage.imageIdentifier names one of data.images.
std::string imageOf(const Poco::JSON::Object::Ptr& data, const Poco::JSON::Object::Ptr& bubble) {
  const std::string id = member(bubble, "imageIdentifier");
  const auto images = data->getArray("images");
  if (id.empty() || !images) return {};
  for (std::size_t i = 0; i < images->size(); ++i) {
    const auto image = images->getObject(static_cast<unsigned>(i));
    if (member(image, "identifier") != id) continue;
    const std::string bytes = member(image, "data");
    return std::string("data:image/") + (bytes.rfind("/9j/", 0) == 0 ? "jpeg" : "png") + ";base64," + bytes;
  }
  return {};
}

}  // namespace

Phone::Phone(GatewayDouble& gateway, Setup setup) : gateway_(gateway), setup_(std::move(setup)) {
  devices_.push_back({"ios16", "iPhone, iOS 16+", "urn:mbid:AQAAYdemo+phone/ios16=", "QUICK,LIST,TIME,AUTH,AUTH2,FORM", {}});
  devices_.push_back({"legacy", "iPhone, iOS 15 (legacy)", "urn:mbid:AQAAYdemo+phone/legacy=", "QUICK,LIST,TIME,AUTH,FORM", {}});
  // Started once every member its requests use is constructed.
  server_ = std::make_unique<LoopbackServer>([this](Poco::Net::HTTPServerRequest& request, HTTPServerResponse& response) {
    handle(request, response);
  });
}

Phone::~Phone() { server_.reset(); }  // before the members its requests use

std::string Phone::baseUrl() const { return server_->baseUrl(); }

void Phone::connect(const std::string& bcauthUrl) {
  std::lock_guard lock(mutex_);
  bcauthUrl_ = bcauthUrl;
}

std::string Phone::bcauthUrl() const {
  std::lock_guard lock(mutex_);
  return bcauthUrl_;
}

std::size_t Phone::deviceIndex(const std::string& id) const {
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    if (devices_[i].id == id) return i;
  }
  throw std::invalid_argument("no such device");
}

void Phone::say(const std::string& device, const std::string& text) {
  std::string customer, capabilities;
  {
    std::lock_guard lock(mutex_);
    auto& d = devices_[deviceIndex(device)];
    customer = d.customerId;
    capabilities = d.capabilities;
    d.thread.push_back({"customer", text, "", "", "", false, false});
  }
  Poco::JSON::Object message(Poco::JSON_PRESERVE_KEY_ORDER);
  message.set("id", crypto::randomUuid());
  message.set("type", std::string("text"));
  message.set("v", 1);
  message.set("sourceId", customer);
  message.set("destinationId", setup_.businessId);
  message.set("body", text);
  const auto answer = gateway_.deliver(bcauthUrl(), stringify(message), capabilities);
  if (!answer.reached || answer.status != 200) throw std::runtime_error("bcauth's /message answered " + std::to_string(answer.status));
}

void Phone::handle(Poco::Net::HTTPServerRequest& request, HTTPServerResponse& response) {
  try {
    const Poco::URI uri(request.getURI());
    const std::string path = uri.getPath();
    const std::string query = uri.getRawQuery();
    const bool post = request.getMethod() == "POST";
    if (bcauthUrl().empty()) return sendError(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "not connected yet");
    if (path == "/" || path == "/phone") return redirect(response, "/phone/");
    if (path == "/phone/api/state") return state(response);
    if (path == "/phone/sheet") return openSheet(queryValue(query, "rid"), response);
    if (path == kCapturePath) return capture(query, response);
    if (path == "/oauth/callback") return callback(query, response);
    if (post && (path == "/phone/api/say" || path == "/phone/api/close")) {
      std::string body;
      Poco::StreamCopier::copyToString(request.stream(), body);
      const auto json = parse(body);
      if (path == "/phone/api/close") return close(member(json, "requestIdentifier"), response);
      say(member(json, "device"), member(json, "text"));
      return send(response, HTTPResponse::HTTP_OK, "application/json", "{}");
    }
    const std::string name = path == "/phone/" ? "index.html" : path.substr(std::min(path.size(), std::size_t{7}));
    const auto* asset = path.rfind("/phone/", 0) == 0 ? http::findPageAsset("phone", name) : nullptr;
    if (asset == nullptr) return sendError(response, HTTPResponse::HTTP_NOT_FOUND, "no such page");
    // The console's policy, with the sheet: the identity provider's login form in a frame.
    http::sendWebAsset(response, *asset,
                       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                       "frame-src 'self' " + setup_.idpBaseUrl + "; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  } catch (const std::exception& e) {
    if (!response.sent()) sendError(response, HTTPResponse::HTTP_BAD_REQUEST, e.what());
  }
}

// Every authenticate message Apple's gateway double accepted since the last look, on its device's
// thread as a received bubble.
void Phone::readGateway() {
  const auto received = gateway_.received();
  for (; gatewaySeen_ < received.size(); ++gatewaySeen_) {
    const auto& r = received[gatewaySeen_];
    if (r.answeredStatus != 200) continue;
    const auto message = parse(r.body);
    const auto data = message->getObject("interactiveData")->getObject("data");
    const auto bubble = message->getObject("interactiveData")->getObject("receivedMessage");
    const std::string rid = member(data, "requestIdentifier");
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      if (devices_[i].customerId != member(message, "destinationId")) continue;
      devices_[i].thread.push_back({"received", member(bubble, "title"), member(bubble, "subtitle"), imageOf(data, bubble), rid,
                                    false, false});
      sheets_[rid] = {i, message};
      states_[oauthState(message)] = rid;
    }
  }
}

void Phone::state(HTTPServerResponse& response) {
  Poco::JSON::Array devices;
  {
    std::lock_guard lock(mutex_);
    readGateway();
    for (const auto& d : devices_) {
      Poco::JSON::Array thread;
      for (const auto& e : d.thread) {
        Poco::JSON::Object entry(Poco::JSON_PRESERVE_KEY_ORDER);
        entry.set("kind", e.kind);
        entry.set("text", e.text);
        if (e.kind == "received") {
          entry.set("subtitle", e.subtitle);
          entry.set("image", e.image);
          entry.set("requestIdentifier", e.requestIdentifier);
          entry.set("answered", e.answered);
        }
        if (e.kind == "reply") entry.set("failed", e.failed);
        thread.add(entry);
      }
      Poco::JSON::Object device(Poco::JSON_PRESERVE_KEY_ORDER);
      device.set("id", d.id);
      device.set("label", d.label);
      device.set("customerId", d.customerId);
      device.set("thread", thread);
      devices.add(device);
    }
  }
  Poco::JSON::Object body;
  body.set("devices", devices);
  send(response, HTTPResponse::HTTP_OK, "application/json", stringify(body));
}

Phone::Sheet Phone::sheetFor(const std::string& requestIdentifier) const {
  std::lock_guard lock(mutex_);
  const auto it = sheets_.find(requestIdentifier);
  if (it == sheets_.end()) throw std::invalid_argument("no such authenticate message");
  return it->second;
}

Phone::Sheet Phone::sheetForState(const std::string& query, std::string& requestIdentifier) const {
  {
    std::lock_guard lock(mutex_);
    const auto it = states_.find(queryValue(query, "state"));
    if (it == states_.end()) throw std::invalid_argument("the redirect's state names no message on this phone");
    requestIdentifier = it->second;
  }
  return sheetFor(requestIdentifier);
}

// Tapping the bubble: the sheet opens the identity provider's authorization URL, as the device builds it.
void Phone::openSheet(const std::string& requestIdentifier, HTTPServerResponse& response) {
  const Sheet sheet = sheetFor(requestIdentifier);
  redirect(response, isV2Message(sheet.message)
                         ? v2AuthorizeUrl(sheet.message, setup_.clientId, setup_.idpBaseUrl)
                         : legacyAuthorizeUrl(sheet.message, setup_.clientId, setup_.idpBaseUrl, baseUrl() + kCapturePath));
}

// Legacy: the code (or the IdP's error) captured at the redirect; the device completes the flow.
void Phone::capture(const std::string& query, HTTPServerResponse& response) {
  std::string rid;
  const Sheet sheet = sheetForState(query, rid);
  const std::string code = queryValue(query, "code");
  std::string json;
  bool signedIn = false;
  if (code.empty()) {
    // The redirect carried neither code nor access_token (spec §5, authentication.error 0).
    json = legacyFailedReply(sheet.message, LegacyDeviceError{0, "Missing access token from response"});
  } else {
    json = legacyReplyForCode(sheet.message, setup_.clientId, setup_.tokenUrl, code, baseUrl() + kCapturePath);
    signedIn = member(parse(json)->getObject("interactiveData")->getObject("data")->getObject("authenticate"), "status") ==
               "authenticated";
  }
  const std::string title = signedIn ? member(sheet.message->getObject("interactiveData")->getObject("replyMessage"), "title")
                                     : "Authentication Failed";
  reply(rid, json, title, !signedIn);
  sheetDone(response, signedIn ? "Signed in. Returning to Messages." : "The sign-in did not complete.");
}

// iOS 16+: the IdP's redirect to bcauth's /oauth/callback, through the device's web view; the
// messages-auth: URL bcauth answers with is the device's to intercept.
void Phone::callback(const std::string& query, HTTPServerResponse& response) {
  std::string rid;
  const Sheet sheet = sheetForState(query, rid);
  const std::string location = callCallback(bcauthUrl(), query);
  const std::string status = queryValue(location.substr(location.find('?') + 1), "status");
  const std::string title = status == "success" ? member(sheet.message->getObject("interactiveData")->getObject("replyMessage"), "title")
                            : status == "cancel" ? "Sign-in cancelled"
                                                 : "Authentication Failed";
  reply(rid, v2DeviceReply(sheet.message, location), title, status != "success");
  sheetDone(response, status == "success" ? "Signed in. Returning to Messages." : "The sign-in did not complete.");
}

// The customer closed the sheet before it finished.
void Phone::close(const std::string& requestIdentifier, HTTPServerResponse& response) {
  const Sheet sheet = sheetFor(requestIdentifier);
  const std::string json = isV2Message(sheet.message) ? v2DeviceReply(sheet.message, "messages-auth://?status=cancel")
                                                      : legacyFailedReply(sheet.message, std::nullopt);
  reply(requestIdentifier, json, "Sign-in cancelled", true);
  send(response, HTTPResponse::HTTP_OK, "application/json", "{}");
}

bool Phone::reply(const std::string& requestIdentifier, const std::string& json, const std::string& title, bool failed) {
  std::size_t device = 0;
  {
    std::lock_guard lock(mutex_);
    device = sheets_.at(requestIdentifier).device;
    for (auto& e : devices_[device].thread) {
      if (e.kind != "received" || e.requestIdentifier != requestIdentifier) continue;
      if (e.answered) return false;  // one answer per message, as on the device
      e.answered = true;
    }
  }
  const auto answer = gateway_.deliver(bcauthUrl(), json, devices_[device].capabilities);
  std::lock_guard lock(mutex_);
  const bool delivered = answer.reached && answer.status == 200;
  devices_[device].thread.push_back(
      {"reply", delivered ? title : "Not delivered (bcauth answered " + std::to_string(answer.status) + ")", "", "",
       requestIdentifier, false, failed || !delivered});
  return true;
}

}  // namespace bcauth::demo
