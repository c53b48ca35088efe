// A message queued for Apple's gateway, as sealed in the delivery outbox: the body exactly as
// built at create (sent as is, never re-rendered) and the ids that go beside it as headers.
#pragma once

#include <string>

#include "bcauth/status.h"
#include "clients/apple_gateway.h"

namespace bcauth::service {

std::string encodeEnvelope(const clients::GatewayMessage& message);
// Also reads the form written before the body was kept as text ({"autoReply", "message": {…}}),
// so deliveries queued by an older bcauth still go out.
Result<clients::GatewayMessage> decodeEnvelope(const std::string& text);

}  // namespace bcauth::service
