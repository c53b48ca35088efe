#include "protocol/message_info.h"

namespace bcauth::protocol::json {

Result<MessageInfo> parseMessageInfo(const Poco::JSON::Object::Ptr& object, const std::string& path) {
  const Fields fields(object, path);
  MessageInfo info;
  // The device drops an info object without a title; a reply may still carry one, so an
  // absent title reads as empty rather than failing the whole reply.
  auto title = fields.optionalString("title");
  if (!title) return title.status();
  info.title = title->value_or("");
  for (auto [key, target] : {std::pair{"subtitle", &info.subtitle}, std::pair{"style", &info.style},
                             std::pair{"imageIdentifier", &info.imageIdentifier},
                             std::pair{"imageDescription", &info.imageDescription},
                             std::pair{"alternateTitle", &info.alternateTitle}}) {
    auto value = fields.optionalString(key);
    if (!value) return value.status();
    *target = std::move(*value);
  }
  return info;
}

void writeMessageInfo(Writer& out, const MessageInfo& info) {
  out.beginObject();
  out.field("title", info.title);
  out.fieldIf("subtitle", info.subtitle);
  out.fieldIf("style", info.style);
  out.fieldIf("imageIdentifier", info.imageIdentifier);
  out.fieldIf("imageDescription", info.imageDescription);
  out.fieldIf("alternateTitle", info.alternateTitle);
  out.endObject();
}

Status validateMessageInfo(const MessageInfo& info, const std::string& path) {
  if (info.title.empty()) {
    return Status::invalidArgument("is required: the device drops a bubble without a title", path + ".title");
  }
  if (info.style && *info.style != "icon" && *info.style != "small" && *info.style != "large") {
    return Status::invalidArgument("must be icon, small or large", path + ".style");
  }
  if (info.imageIdentifier && info.imageIdentifier->empty()) {
    return Status::invalidArgument("must not be empty", path + ".imageIdentifier");
  }
  return Status::ok();
}

}  // namespace bcauth::protocol::json
