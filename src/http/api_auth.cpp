#include "http/api_auth.h"

#include <optional>
#include <string>

#include "bcauth/secure.h"

namespace bcauth::http {
namespace {

// A request to an idempotent route whose Idempotency-Key is already taken: answered from the
// store (the first request, or idempotency_conflict), never creating anything.
bool isReplay(const Call& call, const RouteSpec& route) {
  if (!route.idempotent || !call.request.has("Idempotency-Key")) return false;
  return call.context.service.requests.idempotencyKeyUsed(call.principal, call.request.get("Idempotency-Key"));
}

// The principal of one of BCAUTH_API_KEYS (operators), or none. Every key is compared (constant
// time each) so the timing does not tell which one matched.
std::optional<service::Principal> configuredKey(const Call& call, const std::string& presented) {
  const auto& keys = call.context.config.apiKeys;
  std::size_t matched = keys.size();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (crypto::constantTimeEquals(presented, keys[i])) matched = i;
  }
  if (matched == keys.size()) return std::nullopt;
  return service::Principal{std::nullopt, "env#" + std::to_string(matched)};
}

// The rate-limit bucket: all keys of one business share their business's; each operator key
// has its own. Named by ids, never by a key itself.
std::string rateBucket(const service::Principal& principal) {
  return principal.isOperator() ? "key#" + principal.keyId : "business#" + *principal.businessId;
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
  auto principal = configuredKey(call, presented);
  if (!principal) principal = call.context.service.tenancy.authenticate(presented);
  if (!principal) {
    sendStatus(call.response, Status::refusal(StatusCode::kForbidden, "the API key is not valid"));
    return false;
  }
  call.principal = *principal;
  // Buckets are keyed by ids (rateBucket), never by the key itself. Every call is counted,
  // garbage included (this is the flood guard, before any body is read), but a retry of a create
  // that already exists is never refused: its answer is a read of what was made (isReplay).
  if (auto wait = call.context.apiKeyLimiter.acquire(rateBucket(*principal))) {
    if (isReplay(call, route)) return true;
    sendRateLimited(call, *wait, principal->isOperator() ? "this API key is over its request rate"
                                                         : "this business's API keys are over their request rate");
    return false;
  }
  if (principal->isOperator() || route.scope == KeyScope::kBusiness) return true;
  sendStatus(call.response, Status::notFound("no such route"));  // operator-only: as if there were none
  return false;
}

}  // namespace bcauth::http
