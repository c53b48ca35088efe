#include "http/call.h"

#include "http/body.h"
#include "http/integer.h"
#include "protocol/json_util.h"

namespace bcauth::http {

std::string queryValue(const Call& call, const std::string& name) {
  for (const auto& [key, value] : call.query) {
    if (key == name) return value;
  }
  return {};
}

Result<std::int64_t> queryInteger(const Call& call, const std::string& name, std::int64_t fallback, std::int64_t min,
                                  std::int64_t max) {
  const std::string text = queryValue(call, name);
  if (text.empty()) return fallback;
  return parseInteger(text, name, min, max);
}

bool readRawBody(Call& call, std::string& body) {
  switch (readBody(call.request, call.response, call.context.config.maxBodyBytes, body)) {
    case BodyError::kTooLarge:
      sendStatus(call.response,
                 Status::refusal(StatusCode::kPayloadTooLarge,
                                 "the body is larger than " + std::to_string(call.context.config.maxBodyBytes) + " bytes"));
      return false;
    case BodyError::kBadGzip:
      sendStatus(call.response, Status::invalidArgument("the body is not valid gzip"));
      return false;
    case BodyError::kNone:
      break;
  }
  return true;
}

bool readJsonBody(Call& call, Poco::JSON::Object::Ptr& object) {
  std::string body;
  if (!readRawBody(call, body)) return false;
  auto parsed = protocol::json::parseObject(body);
  if (!parsed) {
    sendStatus(call.response, parsed.status());
    return false;
  }
  object = *parsed;
  return true;
}

void answerNoContent(Call& call, const Status& status) {
  if (!status) return sendStatus(call.response, status);
  call.response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
  call.response.send();
}

void sendRateLimited(Call& call, std::int64_t retryAfterSeconds, const std::string& what) {
  call.response.set("Retry-After", std::to_string(retryAfterSeconds));
  sendStatus(call.response, Status::refusal(StatusCode::kTooManyRequests,
                                            what + "; retry after " + std::to_string(retryAfterSeconds) + " s"));
}

}  // namespace bcauth::http
