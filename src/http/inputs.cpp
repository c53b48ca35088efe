#include "http/inputs.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bcauth/secure.h"
#include "protocol/json_util.h"
#include "protocol/message_info.h"
#include "service/event_codec.h"

namespace bcauth::http::inputs {
namespace {

using protocol::json::Fields;

// An optional array member, each item read by item(value, index), which may refuse it; an absent
// array reads as empty.
template <typename T, typename Item>
Result<std::vector<T>> arrayOf(const Fields& fields, const std::string& key, Item item) {
  auto array = fields.optionalArray(key);
  if (!array) return array.status();
  std::vector<T> out;
  if (!*array) return out;
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    Result<T> read = item((*array)->get(static_cast<unsigned>(i)), i);
    if (!read) return read.status();
    out.push_back(std::move(*read));
  }
  return out;
}

Result<std::vector<std::string>> stringList(const Fields& fields, const std::string& key) {
  return arrayOf<std::string>(fields, key, [&](const Poco::Dynamic::Var& item, std::size_t i) -> Result<std::string> {
    if (!item.isString() || item.extract<std::string>().empty()) {
      return Status::invalidArgument("must be a non-empty string", fields.path(key) + "[" + std::to_string(i) + "]");
    }
    return item.extract<std::string>();
  });
}

// A boolean member, when present (null counts as absent).
Result<std::optional<bool>> optionalBool(const Fields& fields, const std::string& key) {
  if (!fields.has(key)) return std::optional<bool>();
  const auto& value = fields.object()->get(key);
  if (!value.isBoolean()) return fields.wrongType(key, "a boolean");
  return std::optional<bool>(value.extract<bool>());
}

// Moves a member's value into target, or passes on why it could not be read.
template <typename T, typename Target>
Status take(Result<T> value, Target& target) {
  if (!value) return value.status();
  target = std::move(*value);
  return Status::ok();
}

// Reads a body into an In: read(fields, in) makes every member's read, in the body's field order,
// and returns their Statuses; the first failure is the answer (no read depends on an earlier one).
template <typename In, typename Read>
Result<In> readBody(const Body& body, Read read) {
  const Fields fields(body, "");
  In in;
  for (const Status& status : read(fields, in)) {
    if (!status) return status;
  }
  return in;
}

// An optional member's value, or fallback when it is absent.
template <typename T, typename Fallback>
Result<T> valueOr(Result<std::optional<T>> value, Fallback fallback) {
  if (!value) return value.status();
  return T(value->value_or(fallback));
}

Result<std::map<std::string, std::string>> profileFields(const Fields& fields) {
  auto profile = fields.optionalObject("profileFields");
  if (!profile) return profile.status();
  std::map<std::string, std::string> out;
  if (!*profile) return out;
  for (const auto& name : (*profile)->getNames()) {
    const auto& claim = (*profile)->get(name);
    if (!claim.isString()) return Status::invalidArgument("must map to a claim name", "profileFields." + name);
    out[name] = claim.extract<std::string>();
  }
  return out;
}

Result<std::vector<std::string>> eventTypes(const Fields& fields) {
  // "": not a type (the service says so).
  return arrayOf<std::string>(fields, "eventTypes", [](const Poco::Dynamic::Var& item, std::size_t) {
    return Result<std::string>(item.isString() ? item.extract<std::string>() : "");
  });
}

Result<std::optional<protocol::MessageInfo>> messageInfo(const Fields& fields, const std::string& key) {
  auto object = fields.optionalObject(key);
  if (!object) return object.status();
  if (!*object) return std::optional<protocol::MessageInfo>();
  auto parsed = protocol::json::parseMessageInfo(*object, fields.path(key));
  if (!parsed) return parsed.status();
  return std::optional<protocol::MessageInfo>(std::move(*parsed));
}

Result<std::vector<protocol::Image>> images(const Fields& fields) {
  return arrayOf<protocol::Image>(fields, "images",
                                  [](const Poco::Dynamic::Var& item, std::size_t i) -> Result<protocol::Image> {
    const std::string path = "images[" + std::to_string(i) + "]";
    if (item.type() != typeid(Poco::JSON::Object::Ptr)) return Status::invalidArgument("must be an object", path);
    const Fields image(item.extract<Poco::JSON::Object::Ptr>(), path);
    protocol::Image out;
    for (const Status& status : {take(image.requiredString("identifier"), out.identifier),
                                 take(image.requiredString("data"), out.data),
                                 take(image.optionalString("description"), out.description)}) {
      if (!status) return status;
    }
    return out;
  });
}

}  // namespace

Result<service::ProviderInput> provider(const Body& body) {
  return readBody<service::ProviderInput>(body, [](const Fields& fields, service::ProviderInput& in) {
    return std::vector<Status>{
        take(fields.requiredString("name"), in.name),
        take(fields.requiredString("authorizationUrl"), in.authorizationUrl),
        take(fields.requiredString("tokenUrl"), in.tokenUrl),
        take(fields.requiredString("clientId"), in.clientId),
        take(valueOr(fields.optionalString("userinfoUrl"), ""), in.userinfoUrl),
        take(stringList(fields, "scopes"), in.scopes),
        take(optionalBool(fields, "enabled"), in.enabled),
        take(fields.optionalString("tokenAuthMethod"), in.tokenAuthMethod),
        take(profileFields(fields), in.profileFields),
        take(fields.optionalString("clientSecret"), in.clientSecret),
        take(fields.optionalString("businessId"), in.businessId),
    };
  });
}

Result<service::BusinessInput> business(const Body& body) {
  return readBody<service::BusinessInput>(body, [](const Fields& fields, service::BusinessInput& in) {
    return std::vector<Status>{
        take(fields.requiredString("id"), in.id),
        take(valueOr(fields.optionalString("name"), ""), in.name),
    };
  });
}

Result<service::ApiKeyInput> apiKey(const Body& body) {
  return readBody<service::ApiKeyInput>(body, [](const Fields& fields, service::ApiKeyInput& in) {
    return std::vector<Status>{
        take(fields.requiredString("name"), in.name),
        take(fields.optionalString("businessId"), in.businessId),
    };
  });
}

Result<service::WebhookInput> webhook(const Body& body) {
  return readBody<service::WebhookInput>(body, [](const Fields& fields, service::WebhookInput& in) {
    return std::vector<Status>{
        take(fields.requiredString("url"), in.url),
        take(eventTypes(fields), in.eventTypes),
        take(optionalBool(fields, "enabled"), in.enabled),
        take(fields.optionalString("secret"), in.secret),
        take(fields.optionalString("businessId"), in.businessId),
    };
  });
}

Result<service::CreateRequestInput> createRequest(const Body& body) {
  return readBody<service::CreateRequestInput>(body, [](const Fields& fields, service::CreateRequestInput& in) {
    return std::vector<Status>{
        take(fields.requiredString("conversationId"), in.conversationId),
        // Optional here: a business key's own is taken when absent; an operator's create needs one
        // (the service says so, naming the field).
        take(valueOr(fields.optionalString("businessId"), ""), in.businessId),
        take(fields.requiredString("providerId"), in.providerId),
        take(stringList(fields, "scopes"), in.scopes),
        take(valueOr(fields.optionalString("flow"), "auto"), in.flow),
        take(fields.optionalInteger("ttlSeconds"), in.ttlSeconds),
        take(optionalBool(fields, "deliver"), in.deliver),
        take(valueOr(optionalBool(fields, "waitForDelivery"), false), in.waitForDelivery),
        take(valueOr(optionalBool(fields, "autoReply"), false), in.autoReply),
        take(messageInfo(fields, "receivedMessage"), in.receivedMessage),
        take(messageInfo(fields, "replyMessage"), in.replyMessage),
        take(images(fields), in.images),
    };
  });
}

std::optional<service::IdempotencyKey> idempotencyKey(const std::optional<std::string>& key, const Body& body) {
  if (!key) return std::nullopt;
  return service::IdempotencyKey{
      *key, crypto::hexLower(crypto::sha256(protocol::json::canonicalJson(Poco::Dynamic::Var(body))))};
}

}  // namespace bcauth::http::inputs
