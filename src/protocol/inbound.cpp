// Inbound messages from Apple's /message webhook, and authenticate replies within them
// (spec §4, §8). Lenient where Apple's wire shape is unconfirmed, strict where a field is
// needed to act: a missing one is an error naming its path.
#include <algorithm>
#include <cctype>

#include <Poco/Exception.h>

#include "bcauth/protocol.h"
#include "protocol/ids.h"
#include "protocol/json_util.h"
#include "protocol/message_info.h"

namespace bcauth::protocol {
namespace {

using json::Fields;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

Result<DeviceError> parseDeviceError(const Poco::Dynamic::Var& item, const std::string& path) {
  if (item.type() != typeid(Poco::JSON::Object::Ptr)) return Status::invalidArgument("must be an object", path);
  const Fields fields(item.extract<Poco::JSON::Object::Ptr>(), path);
  // The device writes all three keys (BCError); each is needed to map the error.
  auto code = fields.optionalInteger("code");
  if (!code) return code.status();
  if (!*code) return fields.missing("code");
  auto domain = fields.requiredString("domain");
  if (!domain) return domain.status();
  auto message = fields.optionalString("message");
  if (!message) return message.status();
  if (!*message) return fields.missing("message");
  return DeviceError{**code, std::move(*domain), std::move(**message)};
}

// receivedMessage / replyMessage sit inside data in replies, beside it in requests: read both.
Result<std::optional<MessageInfo>> findMessageInfo(const Fields& data, const Fields& interactiveData,
                                                   const std::string& key) {
  for (const Fields* where : {&data, &interactiveData}) {
    auto object = where->optionalObject(key);
    if (!object) return object.status();
    if (*object) {
      auto info = json::parseMessageInfo(*object, where->path(key));
      if (!info) return info.status();
      return std::optional<MessageInfo>(std::move(*info));
    }
  }
  return std::optional<MessageInfo>();
}

Result<AuthenticateReply> parseReply(const Fields& interactiveData, const Fields& data) {
  AuthenticateReply reply;
  auto requestIdentifier = data.requiredString("requestIdentifier");
  if (!requestIdentifier) return requestIdentifier.status();
  reply.requestIdentifier = std::move(*requestIdentifier);

  if (data.has("version")) {
    const auto& version = data.object()->get("version");
    if (!version.isString() && !version.isNumeric()) return data.wrongType("version", "a string");
    reply.version = version.convert<std::string>();
  }
  auto session = interactiveData.optionalString("sessionIdentifier");
  if (!session) return session.status();
  reply.sessionIdentifier = std::move(*session);

  auto received = findMessageInfo(data, interactiveData, "receivedMessage");
  if (!received) return received.status();
  reply.receivedMessage = std::move(*received);
  auto replied = findMessageInfo(data, interactiveData, "replyMessage");
  if (!replied) return replied.status();
  reply.replyMessage = std::move(*replied);

  auto authenticateObject = data.requiredObject("authenticate");
  if (!authenticateObject) return authenticateObject.status();
  const Fields authenticate(*authenticateObject, data.path("authenticate"));

  // The v2 status may be missing (spec §4.3): with an error_code it is a failure. A reply with
  // neither says nothing and is refused, naming the status.
  auto status = authenticate.optionalString("status");
  if (!status) return status.status();
  const bool hasErrorCode = authenticate.has("error_code");
  if (!*status || (*status)->empty()) {
    if (!hasErrorCode) return authenticate.missing("status");
    reply.status = "failure";
  } else {
    reply.status = std::move(**status);
  }

  auto token = authenticate.optionalString("token");
  if (!token) return token.status();
  reply.token = std::move(*token);

  auto errors = authenticate.optionalArray("errors");
  if (!errors) return errors.status();
  if (*errors) {
    for (std::size_t i = 0; i < (*errors)->size(); ++i) {
      auto error = parseDeviceError((*errors)->get(static_cast<unsigned>(i)),
                                    authenticate.path("errors") + "[" + std::to_string(i) + "]");
      if (!error) return error.status();
      reply.errors.push_back(std::move(*error));
    }
  }

  auto errorCode = authenticate.optionalInteger("error_code");
  if (!errorCode) return errorCode.status();
  reply.errorCode = *errorCode;

  // The device compares the v2 status words case-insensitively; so does bcauth.
  const std::string word = lower(reply.status);
  const bool v2Word = word == "success" || word == "failure" || word == "cancel";
  reply.flow = (v2Word || reply.errorCode) ? Flow::kV2 : Flow::kLegacy;
  return reply;
}

// An envelope integer as schemas/inbound-message.schema.json reads it: a JSON integer literal
// (not 1.0, not "1") within int64, so the parser and the schema agree on every envelope.
Result<std::optional<std::int64_t>> envelopeInteger(const Fields& fields, const std::string& key) {
  if (!fields.has(key)) return std::optional<std::int64_t>();
  const auto& value = fields.object()->get(key);
  if (value.isInteger() && !value.isBoolean()) {
    try {
      return std::optional<std::int64_t>(value.convert<std::int64_t>());
    } catch (const Poco::RangeException&) {  // an unsigned literal above INT64_MAX
    }
  }
  return fields.wrongType(key, "an integer");
}

// interactiveDataRef (spec §4, §8): the fields bcauth reports are checked like the rest of the
// envelope, so a mistyped one is named instead of silently dropped.
Result<InteractiveDataRef> parseDataRef(const Fields& ref) {
  InteractiveDataRef dataRef;
  for (const char* key : {"owner", "signature", "key"}) {
    if (auto text = ref.optionalString(key); !text) return text.status();
  }
  auto url = ref.optionalString("url");
  if (!url) return url.status();
  if (*url && (*url)->empty()) return Status::invalidArgument("must not be empty", ref.path("url"));
  dataRef.url = std::move(*url);
  auto bid = ref.optionalString("bid");
  if (!bid) return bid.status();
  dataRef.bid = std::move(*bid);
  auto size = envelopeInteger(ref, "size");
  if (!size) return size.status();
  dataRef.size = *size;
  return dataRef;
}

}  // namespace

Result<InboundMessage> parseInbound(std::string_view body) {
  auto root = json::parseObject(body);
  if (!root) return root.status();
  const Fields fields(*root, "");

  InboundMessage message;
  message.json = *root;
  for (auto [key, target] : {std::pair{"id", &message.id}, std::pair{"type", &message.type},
                             std::pair{"sourceId", &message.sourceId},
                             std::pair{"destinationId", &message.destinationId}}) {
    auto value = fields.requiredString(key);
    if (!value) return value.status();
    *target = std::move(*value);
  }
  // The ids bcauth stores and later names in URLs (the conversation's events) or looks up
  // (a redelivery's message id) obey the same rules as the CSP API's.
  for (const auto& valid : {ids::checkAppleMessageId(message.id), ids::checkConversationId(message.sourceId, "sourceId"),
                            ids::checkBusinessId(message.destinationId, "destinationId")}) {
    if (!valid) return valid;
  }
  auto v = envelopeInteger(fields, "v");
  if (!v) return v.status();
  message.v = *v;
  for (auto [key, target] : {std::pair{"locale", &message.locale}, std::pair{"body", &message.body},
                             std::pair{"intent", &message.intent}, std::pair{"group", &message.group}}) {
    auto value = fields.optionalString(key);
    if (!value) return value.status();
    *target = std::move(*value);
  }
  // Entry URLs carry biz-intent-id / biz-group-id; which key reaches the webhook is unconfirmed.
  if (!message.intent) {
    if (auto alt = fields.optionalString("biz-intent-id"); alt && *alt) message.intent = **alt;
  }
  if (!message.group) {
    if (auto alt = fields.optionalString("biz-group-id"); alt && *alt) message.group = **alt;
  }

  auto ref = fields.optionalObject("interactiveDataRef");
  if (!ref) return ref.status();
  if (*ref) {
    auto dataRef = parseDataRef(Fields(*ref, "interactiveDataRef"));
    if (!dataRef) return dataRef.status();
    message.interactiveDataRef = std::move(*dataRef);
  }

  auto interactiveDataObject = fields.optionalObject("interactiveData");
  if (!interactiveDataObject) return interactiveDataObject.status();
  if (*interactiveDataObject) {
    const Fields interactiveData(*interactiveDataObject, "interactiveData");
    auto dataObject = interactiveData.optionalObject("data");
    if (!dataObject) return dataObject.status();
    if (*dataObject && (*dataObject)->has("authenticate")) {
      auto reply = parseReply(interactiveData, Fields(*dataObject, "interactiveData.data"));
      if (!reply) return reply.status();
      message.authenticate = std::move(*reply);
    }
  }
  return message;
}

std::vector<std::string> parseCapabilityList(std::string_view header) {
  std::vector<std::string> capabilities;
  std::size_t start = 0;
  while (start <= header.size()) {
    const std::size_t comma = std::min(header.find(',', start), header.size());
    std::string_view item = header.substr(start, comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (!item.empty()) {
      std::string upper(item);
      std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
      if (std::find(capabilities.begin(), capabilities.end(), upper) == capabilities.end()) {
        capabilities.push_back(std::move(upper));
      }
    }
    start = comma + 1;
  }
  return capabilities;
}

bool hasCapability(const std::vector<std::string>& capabilities, std::string_view capability) {
  return std::any_of(capabilities.begin(), capabilities.end(), [&](const std::string& c) {
    return c.size() == capability.size() &&
           std::equal(c.begin(), c.end(), capability.begin(), [](char a, char b) {
             return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
           });
  });
}

}  // namespace bcauth::protocol
