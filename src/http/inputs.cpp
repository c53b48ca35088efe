#include "http/inputs.h"

#include "bcauth/secure.h"
#include "protocol/json_util.h"
#include "protocol/message_info.h"
#include "service/event_codec.h"

namespace bcauth::http::inputs {
namespace {

using protocol::json::Fields;

Result<std::vector<std::string>> stringList(const Fields& fields, const std::string& key) {
  auto array = fields.optionalArray(key);
  if (!array) return array.status();
  std::vector<std::string> out;
  if (!*array) return out;
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    const auto item = (*array)->get(static_cast<unsigned>(i));
    if (!item.isString() || item.extract<std::string>().empty()) {
      return Status::invalidArgument("must be a non-empty string", fields.path(key) + "[" + std::to_string(i) + "]");
    }
    out.push_back(item.extract<std::string>());
  }
  return out;
}

// A boolean member, when present (null counts as absent).
Result<std::optional<bool>> optionalBool(const Fields& fields, const std::string& key) {
  if (!fields.has(key)) return std::optional<bool>();
  const auto& value = fields.object()->get(key);
  if (!value.isBoolean()) return fields.wrongType(key, "a boolean");
  return std::optional<bool>(value.extract<bool>());
}

Status requiredStrings(const Fields& fields, std::initializer_list<std::pair<const char*, std::string*>> targets) {
  for (auto [key, target] : targets) {
    auto value = fields.requiredString(key);
    if (!value) return value.status();
    *target = *value;
  }
  return Status::ok();
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
  auto array = fields.optionalArray("images");
  if (!array) return array.status();
  std::vector<protocol::Image> out;
  if (!*array) return out;
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    const auto item = (*array)->get(static_cast<unsigned>(i));
    const std::string path = "images[" + std::to_string(i) + "]";
    if (item.type() != typeid(Poco::JSON::Object::Ptr)) return Status::invalidArgument("must be an object", path);
    const Fields image(item.extract<Poco::JSON::Object::Ptr>(), path);
    auto identifier = image.requiredString("identifier");
    if (!identifier) return identifier.status();
    auto data = image.requiredString("data");
    if (!data) return data.status();
    auto description = image.optionalString("description");
    if (!description) return description.status();
    out.push_back({*identifier, *data, *description});
  }
  return out;
}

}  // namespace

Result<service::ProviderInput> provider(const Body& body) {
  const Fields fields(body, "");
  service::ProviderInput in;
  if (auto s = requiredStrings(fields, {{"name", &in.name}, {"authorizationUrl", &in.authorizationUrl},
                                        {"tokenUrl", &in.tokenUrl}, {"clientId", &in.clientId}});
      !s) {
    return s;
  }
  auto userinfo = fields.optionalString("userinfoUrl");
  if (!userinfo) return userinfo.status();
  in.userinfoUrl = userinfo->value_or("");
  auto scopes = stringList(fields, "scopes");
  if (!scopes) return scopes.status();
  in.scopes = std::move(*scopes);
  auto enabled = optionalBool(fields, "enabled");
  if (!enabled) return enabled.status();
  in.enabled = *enabled;
  auto authMethod = fields.optionalString("tokenAuthMethod");
  if (!authMethod) return authMethod.status();
  in.tokenAuthMethod = *authMethod;
  auto profile = fields.optionalObject("profileFields");
  if (!profile) return profile.status();
  if (*profile) {
    for (const auto& name : (*profile)->getNames()) {
      const auto& claim = (*profile)->get(name);
      if (!claim.isString()) return Status::invalidArgument("must map to a claim name", "profileFields." + name);
      in.profileFields[name] = claim.extract<std::string>();
    }
  }
  auto secret = fields.optionalString("clientSecret");
  if (!secret) return secret.status();
  in.clientSecret = *secret;
  return in;
}

Result<service::WebhookInput> webhook(const Body& body) {
  const Fields fields(body, "");
  service::WebhookInput in;
  auto url = fields.requiredString("url");
  if (!url) return url.status();
  in.url = *url;
  auto types = fields.optionalArray("eventTypes");
  if (!types) return types.status();
  if (*types) {
    for (std::size_t i = 0; i < (*types)->size(); ++i) {
      const auto item = (*types)->get(static_cast<unsigned>(i));
      in.eventTypes.push_back(item.isString() ? item.extract<std::string>() : "");  // "": not a type (the service says so)
    }
  }
  auto enabled = optionalBool(fields, "enabled");
  if (!enabled) return enabled.status();
  in.enabled = *enabled;
  auto secret = fields.optionalString("secret");
  if (!secret) return secret.status();
  in.secret = *secret;
  return in;
}

Result<service::CreateRequestInput> createRequest(const Body& body) {
  const Fields fields(body, "");
  service::CreateRequestInput in;
  if (auto s = requiredStrings(fields, {{"conversationId", &in.conversationId},
                                        {"businessId", &in.businessId},
                                        {"providerId", &in.providerId}});
      !s) {
    return s;
  }
  auto scopes = stringList(fields, "scopes");
  if (!scopes) return scopes.status();
  in.scopes = std::move(*scopes);
  auto flow = fields.optionalString("flow");
  if (!flow) return flow.status();
  in.flow = flow->value_or("auto");
  auto ttl = fields.optionalInteger("ttlSeconds");
  if (!ttl) return ttl.status();
  in.ttlSeconds = *ttl;
  auto deliver = optionalBool(fields, "deliver");
  if (!deliver) return deliver.status();
  in.deliver = *deliver;
  for (auto [key, target] : {std::pair{"waitForDelivery", &in.waitForDelivery}, std::pair{"autoReply", &in.autoReply}}) {
    auto value = optionalBool(fields, key);
    if (!value) return value.status();
    *target = value->value_or(false);
  }
  auto received = messageInfo(fields, "receivedMessage");
  if (!received) return received.status();
  in.receivedMessage = std::move(*received);
  auto reply = messageInfo(fields, "replyMessage");
  if (!reply) return reply.status();
  in.replyMessage = std::move(*reply);
  auto imageList = images(fields);
  if (!imageList) return imageList.status();
  in.images = std::move(*imageList);
  return in;
}

std::optional<service::IdempotencyKey> idempotencyKey(const std::optional<std::string>& key, const Body& body) {
  if (!key) return std::nullopt;
  return service::IdempotencyKey{
      *key, service::hexLower(crypto::sha256(protocol::json::canonicalJson(Poco::Dynamic::Var(body))))};
}

}  // namespace bcauth::http::inputs
