// What a route handler is given (the request, its response, its path parameters and query, and
// the server's shared context) and the few helpers every handler uses to read its input and
// answer: handlers stay a line or two over a service call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include "bcauth/status.h"
#include "http/errors.h"
#include "http/metrics.h"
#include "http/rate_limit.h"
#include "http/server.h"
#include "service/tenancy.h"

namespace bcauth::http {

// What every request's handler shares: the service, the configuration, the metrics and the limits.
struct Context {
  Context(service::AuthService& s, const HttpConfig& c, Metrics& m)
      : service(s),
        config(c),
        metrics(m),
        apiKeyLimiter(c.apiKeyRatePerSecond, c.apiKeyBurst),
        conversationLimiter(c.conversationRatePerMinute / 60.0, c.conversationBurst) {}
  service::AuthService& service;
  const HttpConfig& config;
  Metrics& metrics;
  std::atomic<int> longPolls{0};  // open GET /v1/events?waitSeconds>0, capped so the API keeps threads
  std::function<void(Metrics::Gauges&)> connectionGauges;  // the listener's and lanes' counts
  RateLimiter apiKeyLimiter;
  RateLimiter conversationLimiter;
};

// A matched request: the route's name (for metrics), its path parameters and query, and who
// is calling (set by the API-key guard; an operator on routes without a key).
struct Call {
  Poco::Net::HTTPServerRequest& request;
  Poco::Net::HTTPServerResponse& response;
  std::vector<std::string> params;
  Poco::URI::QueryParameters query;
  Context& context;
  service::Principal principal{};
};

// The value of query parameter `name` (the first), or "" when it is absent.
std::string queryValue(const Call& call, const std::string& name);

// Query parameter `name` as an integer in [min, max] (parseInteger), or `fallback` when it is
// absent or empty.
Result<std::int64_t> queryInteger(const Call& call, const std::string& name, std::int64_t fallback, std::int64_t min,
                                  std::int64_t max);

// The body, bounded and inflated (readBody); false when it was refused, and answered (413, or
// 400 for bad gzip).
bool readRawBody(Call& call, std::string& body);
// The body as one JSON object; false when it was refused, and answered.
bool readJsonBody(Call& call, Poco::JSON::Object::Ptr& object);

// A 429 with Retry-After (whole seconds), from a limiter's refusal.
void sendRateLimited(Call& call, std::int64_t retryAfterSeconds, const std::string& what);

// 204 for a done deletion, or its failure through the error table.
void answerNoContent(Call& call, const Status& status);

// A result's JSON with status `ok`, or its failure through the error table.
template <typename T>
void answer(Call& call, const Result<T>& result,
            Poco::Net::HTTPResponse::HTTPStatus ok = Poco::Net::HTTPResponse::HTTP_OK) {
  if (!result) return sendStatus(call.response, result.status());
  std::ostringstream out;
  result.value()->stringify(out);
  sendJson(call.response, ok, out.str());
}

}  // namespace bcauth::http
