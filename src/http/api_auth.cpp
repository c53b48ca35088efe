#include "http/api_auth.h"

#include "bcauth/secure.h"

namespace bcauth::http {
namespace {

// A request to an idempotent route whose Idempotency-Key is already taken: answered from the
// store (the first request, or idempotency_conflict), never creating anything.
bool isReplay(const Call& call, const RouteSpec& route) {
  if (!route.idempotent || !call.request.has("Idempotency-Key")) return false;
  return call.context.service.requests.idempotencyKeyUsed(call.request.get("Idempotency-Key"));
}

}  // namespace

bool authorizeApiKey(Call& call, const RouteSpec& route) {
  const std::string header = call.request.get("Authorization", "");
  static const std::string kBearer = "Bearer ";
  if (header.compare(0, kBearer.size(), kBearer) != 0 || header.size() == kBearer.size()) {
    call.response.set("WWW-Authenticate", "Bearer");
    sendStatus(call.response,
               Status::refusal(StatusCode::kUnauthorized, "an API key is required (Authorization: Bearer <key>)"));
    return false;
  }
  const std::string presented = header.substr(kBearer.size());
  // Every key is compared (constant time each) so the timing does not tell which one matched.
  std::size_t matched = call.context.config.apiKeys.size();
  for (std::size_t i = 0; i < call.context.config.apiKeys.size(); ++i) {
    if (crypto::constantTimeEquals(presented, call.context.config.apiKeys[i])) matched = i;
  }
  if (matched == call.context.config.apiKeys.size()) {
    sendStatus(call.response, Status::refusal(StatusCode::kForbidden, "the API key is not valid"));
    return false;
  }
  // Buckets are keyed by the key's position, never by the key itself. Every call is counted,
  // garbage included (this is the flood guard, before any body is read), but a retry of a create
  // that already exists is never refused: its answer is a read of what was made (isReplay).
  if (auto wait = call.context.apiKeyLimiter.acquire("key#" + std::to_string(matched))) {
    if (isReplay(call, route)) return true;
    sendRateLimited(call, *wait, "this API key is over its request rate");
    return false;
  }
  return true;
}

}  // namespace bcauth::http
