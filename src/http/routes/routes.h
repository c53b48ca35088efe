// The routes of each resource group, one file each; the router tries them in this order.
#pragma once

#include <vector>

#include "http/router.h"

namespace bcauth::http {

std::vector<RouteSpec> operationRoutes();  // /healthz, /readyz, /metrics
std::vector<RouteSpec> appleRoutes();      // Apple's POST /message
std::vector<RouteSpec> providerRoutes();   // /v1/providers
std::vector<RouteSpec> requestRoutes();    // /v1/auth-requests
std::vector<RouteSpec> oauthRoutes();      // the identity provider's redirect back
std::vector<RouteSpec> eventRoutes();      // /v1/events, its stream, a conversation's events
std::vector<RouteSpec> webhookRoutes();    // /v1/webhooks and their dead letters

}  // namespace bcauth::http
