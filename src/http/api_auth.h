// The CSP API's guard, run before any /v1 route reads its body: the Bearer API key (401 without
// one, 403 with a wrong or revoked one) resolved to a principal — an operator (BCAUTH_API_KEYS,
// or a stored operator key) or one business (a stored business key) — the key's request rate
// (429 with Retry-After), which a retry of an idempotent create that already exists passes, and
// the route's KeyScope (router.h). Stored keys are looked up on every call, so a revocation
// holds at once on every instance.
#pragma once

#include "http/call.h"
#include "http/router.h"

namespace bcauth::http {

// True when the route may run; otherwise the request has been answered.
bool authorizeApiKey(Call& call, const RouteSpec& route);

}  // namespace bcauth::http
