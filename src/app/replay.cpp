#include "app/replay.h"

#include <fstream>
#include <map>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "app/cli_args.h"
#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "bcauth/protocol.h"
#include "demo/apple_sender.h"

namespace bcauth::app {
namespace {

struct Reply {
  int status = 0;
  std::string body;
};

Reply send(const ReplayOptions& options, const std::string& method, const std::string& path, const std::string& body,
           const std::map<std::string, std::string>& headers) {
  const Poco::URI base(options.server);
  Poco::Net::HTTPClientSession session(base.getHost(), base.getPort());
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply{static_cast<int>(response.getStatus()), {}};
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

Reply api(const ReplayOptions& options, const std::string& method, const std::string& path, const std::string& body = "") {
  return send(options, method, path, body,
              {{"Authorization", "Bearer " + *options.apiKey}, {"Content-Type", "application/json"}});
}

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string stringify(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

std::int64_t lastSeq(const ReplayOptions& options) {
  const Reply r = api(options, "GET", "/v1/events?after=0&limit=1000");
  if (r.status != 200) throw std::runtime_error("GET /v1/events answered " + std::to_string(r.status));
  auto body = parse(r.body);
  std::int64_t next = body->getValue<std::int64_t>("next");
  // Walk to the end of the feed.
  while (body->getArray("events")->size() == 1000) {
    body = parse(api(options, "GET", "/v1/events?limit=1000&after=" + std::to_string(next)).body);
    next = body->getValue<std::int64_t>("next");
  }
  return next;
}

void ensureProvider(const ReplayOptions& options) {
  if (api(options, "GET", "/v1/providers/" + options.providerId).status == 200) return;
  const Reply r = api(options, "PUT", "/v1/providers/" + options.providerId,
                      R"({"name":"bcauth replay","authorizationUrl":"https://idp.invalid/authorize",)"
                      R"("tokenUrl":"https://idp.invalid/token","clientId":"bcauth-replay","scopes":["openid"]})");
  if (r.status != 200) throw std::runtime_error("could not register the replay provider: " + r.body);
}

// Creates the pending request a reply answers, and points the reply at it.
std::string arrangeRequest(const ReplayOptions& options, const Poco::JSON::Object::Ptr& payload,
                           const protocol::InboundMessage& message) {
  const auto& reply = *message.authenticate;
  ensureProvider(options);
  const std::string flow(protocol::toString(reply.flow));
  auto body = new Poco::JSON::Object();
  Poco::JSON::Object::Ptr owner(body);
  body->set("conversationId", message.sourceId);
  body->set("businessId", options.businessId);
  body->set("providerId", options.providerId);
  body->set("flow", flow);
  const Reply created = api(options, "POST", "/v1/auth-requests", stringify(owner));
  if (created.status != 201) throw std::runtime_error("could not create a pending request: " + created.body);
  const auto request = parse(created.body);
  auto data = payload->getObject("interactiveData")->getObject("data");
  data->set("requestIdentifier", request->getValue<std::string>("requestIdentifier"));

  std::string setup = "created " + flow + " request " + request->getValue<std::string>("id");
  if (flow == "legacy" && reply.token) {
    for (const auto& text : options.privateKeys) {
      auto key = crypto::PrivateKey::fromText(text);
      if (!key) continue;
      auto plaintext = crypto::decrypt(*key, *reply.token);
      if (!plaintext) continue;
      const std::string responseKey = request->getObject("message")->getObject("interactiveData")->getObject("data")
                                          ->getObject("authenticate")->getObject("oauth2")
                                          ->getValue<std::string>("responseEncryptionKey");
      auto token = crypto::encrypt(crypto::PublicKey::fromBase64(responseKey).value(), plaintext->view());
      data->getObject("authenticate")->set("token", token.value());
      setup += ", token re-encrypted to its key";
      break;
    }
  }
  return setup;
}

}  // namespace

ReplayResult replayPayload(const ReplayOptions& options, const std::string& payloadText) {
  ReplayResult result;
  std::string body = payloadText;
  std::optional<std::int64_t> before;
  auto parsed = protocol::parseInbound(payloadText);
  if (parsed) {
    auto payload = parsed->json;
    payload->set("id", crypto::randomUuid());
    if (options.apiKey && parsed->authenticate) result.setup = arrangeRequest(options, payload, *parsed);
    body = stringify(payload);
  }
  if (options.apiKey) before = lastSeq(options);

  demo::AppleMessageOptions apple;
  apple.capabilities = options.capabilities;
  if (parsed) apple.ids = {parsed->json->getValue<std::string>("id"), parsed->sourceId, parsed->destinationId};
  const auto message = demo::appleMessage({options.cspId, options.secret}, body, apple);
  const Reply delivered = send(options, "POST", "/message", message.body, message.headers);
  result.httpStatus = delivered.status;
  result.answer = delivered.body;

  if (before) {
    const auto events = parse(api(options, "GET", "/v1/events?limit=1000&after=" + std::to_string(*before)).body);
    const auto list = events->getArray("events");
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto event = list->getObject(static_cast<unsigned>(i));
      const std::string type = event->getValue<std::string>("type");
      if (type == "auth.requested") continue;  // the arranged request, not the delivery
      result.eventTypes.push_back(type);
      const auto data = event->getObject("data");
      result.reasons.push_back(data->has("reason") ? data->getValue<std::string>("reason") : "");
    }
  }
  return result;
}

int runReplay(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  static const char* kHelp =
      "Usage: bcauth replay --server URL --csp-id ID --secret B64 [--api-key KEY] [--keys keys.json]\n"
      "                     [--capabilities LIST] [--provider ID] FILE...\n"
      "Sends each FILE to URL/message as Apple's gateway does: gzip body, HS256 JWT (aud = ID) with the\n"
      "Base64-decoded secret, the id/source-id/destination-id/capability-list headers, and prints the\n"
      "HTTP status and the events it produced. With --api-key, an authenticate reply first gets a pending\n"
      "request created for it (its requestIdentifier is rewritten; a legacy token that a key in keys.json\n"
      "opens is re-encrypted to the new request's key), and the events are read back from /v1/events.\n";
  ParsedArgs parsed;
  try {
    parsed = parseArgs(args, {{"server"}, {"csp-id"}, {"secret"}, {"api-key"}, {"keys"}, {"capabilities"}, {"provider"}});
  } catch (const UsageError& e) {
    err << "bcauth replay: " << e.what() << " (see `bcauth replay --help`)\n";
    return 2;
  }
  if (parsed.help) {
    out << kHelp;
    return 0;
  }
  if (!parsed.value("server") || !parsed.value("csp-id") || !parsed.value("secret") || parsed.positional.empty()) {
    err << "bcauth replay: --server, --csp-id, --secret and at least one FILE are required (see `bcauth replay --help`)\n";
    return 2;
  }
  ReplayOptions options;
  options.server = *parsed.value("server");
  options.cspId = *parsed.value("csp-id");
  auto secret = crypto::base64DecodeSecret(*parsed.value("secret"));
  if (!secret) {
    err << "bcauth replay: --secret " << secret.status().message() << "\n";
    return 1;
  }
  options.secret.assign(secret->begin(), secret->end());
  options.apiKey = parsed.value("api-key");
  if (auto p = parsed.value("provider")) options.providerId = *p;
  if (auto c = parsed.value("capabilities")) options.capabilities = *c;
  try {
    if (auto keysFile = parsed.value("keys")) {
      std::ifstream in(*keysFile);
      if (!in) throw std::runtime_error("cannot read " + *keysFile);
      std::stringstream text;
      text << in.rdbuf();
      const auto keys = parse(text.str());
      for (const auto& name : keys->getNames()) {
        options.privateKeys.push_back(keys->getObject(name)->getValue<std::string>("privateKey"));
      }
    }
    for (const auto& file : parsed.positional) {
      std::ifstream in(file, std::ios::binary);
      if (!in) throw std::runtime_error("cannot read " + file);
      std::stringstream text;
      text << in.rdbuf();
      const ReplayResult r = replayPayload(options, text.str());
      out << file << ": HTTP " << r.httpStatus;
      if (!r.setup.empty()) out << " (" << r.setup << ")";
      for (std::size_t i = 0; i < r.eventTypes.size(); ++i) {
        out << (i == 0 ? " → " : ", ") << r.eventTypes[i];
        if (!r.reasons[i].empty()) out << " [" << r.reasons[i] << "]";
      }
      if (r.httpStatus >= 400) out << " " << r.answer;
      out << "\n";
    }
  } catch (const std::exception& e) {
    err << "bcauth replay: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace bcauth::app
