// The route handlers, one file per resource group; the route table (src/http/router.cpp) names
// them. Each handler reads its input, calls the service and answers: a line or two each.
#pragma once

#include "http/call.h"
#include "http/inputs.h"
#include "http/views.h"

namespace bcauth::http::routes {

// operations.cpp: liveness, readiness, the Prometheus metrics (no API key)
void healthz(Call& call);
void readyz(Call& call);
void metrics(Call& call);

// apple.cpp: Apple's POST /message
void appleMessage(Call& call);

// providers.cpp: /v1/providers
void listProviders(Call& call);
void putProvider(Call& call);
void getProvider(Call& call);
void deleteProvider(Call& call);
// /v1/businesses/{businessId}/providers/{providerId}: a shared provider enabled for a business
void enableProvider(Call& call);
void disableProvider(Call& call);

// requests.cpp: /v1/auth-requests
void createRequest(Call& call);
void getRequest(Call& call);
void cancelRequest(Call& call);
void requestToken(Call& call);
void refreshToken(Call& call);

// oauth.cpp: the identity provider's redirect back
void oauthCallback(Call& call);

// events.cpp: a conversation's events, the global feed and its Server-Sent Events stream
void conversationEvents(Call& call);
void events(Call& call);
void eventStream(Call& call);

// webhooks.cpp: /v1/webhooks and their dead letters
void listWebhooks(Call& call);
void deadLetters(Call& call);
void replayDeadLetter(Call& call);
void putWebhook(Call& call);
void getWebhook(Call& call);
void deleteWebhook(Call& call);

// tenancy.cpp: /v1/businesses and /v1/api-keys (operators only)
void createBusiness(Call& call);
void listBusinesses(Call& call);
void getBusiness(Call& call);
void createApiKey(Call& call);
void listApiKeys(Call& call);
void revokeApiKey(Call& call);
void me(Call& call);  // GET /v1/me, any key

// console.cpp: the web console's files (no API key)
void consoleRedirect(Call& call);
void consoleIndex(Call& call);
void consoleAsset(Call& call);

}  // namespace bcauth::http::routes
