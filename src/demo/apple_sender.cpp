#include "demo/apple_sender.h"

#include <chrono>

#include <Poco/JSON/Parser.h>

#include "http/body.h"
#include "protocol/apple_jwt.h"

namespace bcauth::demo {
namespace {

// A value Apple could put in a header: short, visible ASCII. Tests send ids with control
// characters or of hundreds of bytes on purpose, to see the body refused, not the head.
bool headerSafe(const std::string& value) {
  constexpr std::size_t kMaxHeaderValue = 256;
  if (value.empty() || value.size() > kMaxHeaderValue) return false;
  for (const char c : value) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// What a readable message says about itself; nothing for anything else.
std::optional<AppleMessageIds> idsOf(const std::string& json) {
  try {
    Poco::JSON::Parser parser;
    const auto message = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    AppleMessageIds ids{message->getValue<std::string>("id"), message->getValue<std::string>("sourceId"),
                        message->getValue<std::string>("destinationId")};
    if (headerSafe(ids.id) && headerSafe(ids.sourceId) && headerSafe(ids.destinationId)) return ids;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

AppleMessage appleMessage(const AppleAccount& account, const std::string& json, const AppleMessageOptions& options) {
  AppleMessage message;
  message.body = options.gzip ? http::gzip(json) : json;
  const std::string authorization =
      options.authorization ? *options.authorization
                            : "Bearer " + protocol::signAppleJwt(account.secret, account.cspId,
                                                                  options.issuedAt.value_or(nowSeconds()),
                                                                  protocol::AppleJwtDirection::kToCsp);
  if (!authorization.empty()) message.headers["Authorization"] = authorization;
  message.headers["Content-Type"] = "application/octet-stream";
  if (!options.capabilities.empty()) message.headers["capability-list"] = options.capabilities;
  if (const auto ids = options.ids ? options.ids : idsOf(json)) {
    message.headers["id"] = ids->id;
    message.headers["source-id"] = ids->sourceId;
    message.headers["destination-id"] = ids->destinationId;
  }
  return message;
}

clients::HttpAnswer deliverAsApple(const std::string& bcauthUrl, const AppleAccount& account, const std::string& json,
                                   const AppleMessageOptions& options) {
  const AppleMessage message = appleMessage(account, json, options);
  return clients::httpCall("POST", bcauthUrl + "/message", message.headers, message.body, 30);
}

}  // namespace bcauth::demo
