#include "service/delivery_envelope.h"

#include <sstream>

#include <Poco/JSON/Object.h>

#include "protocol/json_util.h"

namespace bcauth::service {

std::string encodeEnvelope(const clients::GatewayMessage& message) {
  Poco::JSON::Object envelope(Poco::JSON_PRESERVE_KEY_ORDER);
  envelope.set("autoReply", message.autoReply);
  envelope.set("id", message.id);
  envelope.set("sourceId", message.sourceId);
  envelope.set("destinationId", message.destinationId);
  envelope.set("body", message.body);
  std::ostringstream out;
  envelope.stringify(out);
  return out.str();
}

Result<clients::GatewayMessage> decodeEnvelope(const std::string& text) {
  try {
    const auto envelope = protocol::json::parseOrdered(text);  // an old form's message keeps its key order
    clients::GatewayMessage message;
    message.autoReply = envelope->getValue<bool>("autoReply");
    if (envelope->has("body")) {
      message.body = envelope->getValue<std::string>("body");
      message.id = envelope->getValue<std::string>("id");
      message.sourceId = envelope->getValue<std::string>("sourceId");
      message.destinationId = envelope->getValue<std::string>("destinationId");
      return message;
    }
    const auto legacy = envelope->getObject("message");
    if (!legacy) return Status::internal("the queued message has neither body nor message");
    std::ostringstream body;
    legacy->stringify(body);
    message.body = body.str();
    message.id = legacy->getValue<std::string>("id");
    message.sourceId = legacy->getValue<std::string>("sourceId");
    message.destinationId = legacy->getValue<std::string>("destinationId");
    return message;
  } catch (const std::exception& e) {
    return Status::internal(std::string("the stored message is unreadable: ") + e.what());
  }
}

}  // namespace bcauth::service
