// The CSP API's guard, run before any /v1 route reads its body: the Bearer API key (401 without
// one, 403 with a wrong one) and the key's request rate (429 with Retry-After), which a retry of
// an idempotent create that already exists passes.
#pragma once

#include "http/call.h"
#include "http/router.h"

namespace bcauth::http {

// True when the route may run; otherwise the request has been answered.
bool authorizeApiKey(Call& call, const RouteSpec& route);

}  // namespace bcauth::http
