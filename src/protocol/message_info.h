// receivedMessage / replyMessage: shared by the request builder, the reply parser and the HTTP
// edge (a create body's texts).
#pragma once

#include "bcauth/protocol.h"
#include "protocol/json_util.h"
#include "protocol/json_writer.h"

namespace bcauth::protocol::json {

Result<MessageInfo> parseMessageInfo(const Poco::JSON::Object::Ptr& object, const std::string& path);
void writeMessageInfo(Writer& out, const MessageInfo& info);
// The rules the device applies (BCMessageInfo): a title, a known style.
Status validateMessageInfo(const MessageInfo& info, const std::string& path);

}  // namespace bcauth::protocol::json

