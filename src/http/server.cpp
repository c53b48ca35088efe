#include "http/server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <sstream>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "bcauth/secure.h"
#include "http/apple_jwt.h"
#include "http/body.h"
#include "http/errors.h"
#include "http/exchange.h"
#include "http/lane.h"
#include "http/listener.h"
#include "http/rate_limit.h"
#include "http/inputs.h"
#include "http/views.h"
#include "protocol/json_util.h"
#include "store/store.h"

namespace bcauth::http {
namespace {

using Poco::Net::HTTPRequest;
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

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

// A matched request: the route's name (for metrics), its path parameters and query.
struct Call {
  HTTPServerRequest& request;
  HTTPServerResponse& response;
  std::vector<std::string> params;
  Poco::URI::QueryParameters query;
  Context& context;
};

using Route = std::function<void(Call&)>;

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
  try {
    std::size_t used = 0;
    const std::int64_t value = std::stoll(text, &used);
    if (used == text.size() && value >= min && value <= max) return value;
  } catch (const std::exception&) {
  }
  return Status::invalidArgument("must be an integer from " + std::to_string(min) + " to " + std::to_string(max), name);
}

// Before a 413, a body of modest excess is read and dropped so the client, still sending, gets
// the answer instead of a connection reset; a far larger one is cut off with the connection.
void discardRest(HTTPServerRequest& request, HTTPServerResponse& response, std::size_t cap) {
  std::istream& in = request.stream();
  char buffer[8192];
  std::size_t discarded = 0;
  const std::size_t limit = 4 * cap;
  while (in && discarded <= limit) {
    in.read(buffer, sizeof buffer);
    discarded += static_cast<std::size_t>(in.gcount());
  }
  if (in) response.setKeepAlive(false);
}

// Reads at most cap bytes; a larger body is refused before it is read whole.
BodyError readBody(HTTPServerRequest& request, HTTPServerResponse& response, std::size_t cap, std::string& body) {
  body.clear();
  if (!hasBody(request)) return BodyError::kNone;  // nothing to wait for (RFC 9112 §6.3)
  if (request.hasContentLength() && request.getContentLength64() > static_cast<Poco::Int64>(cap)) {
    if (request.getContentLength64() > static_cast<Poco::Int64>(4 * cap)) response.setKeepAlive(false);
    else discardRest(request, response, cap);
    return BodyError::kTooLarge;
  }
  std::istream& in = request.stream();
  char buffer[8192];
  while (in) {
    in.read(buffer, sizeof buffer);
    body.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (body.size() > cap) {
      discardRest(request, response, cap);
      return BodyError::kTooLarge;
    }
  }
  // Apple gzips its bodies, with or without Content-Encoding (§8).
  return inflateIfGzip(body, cap);
}

bool readJsonBody(Call& call, Poco::JSON::Object::Ptr& object) {
  std::string body;
  switch (readBody(call.request, call.response, call.context.config.maxBodyBytes, body)) {
    case BodyError::kTooLarge:
      sendError(call.response, HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                "the body is larger than " + std::to_string(call.context.config.maxBodyBytes) + " bytes");
      return false;
    case BodyError::kBadGzip:
      sendError(call.response, HTTPResponse::HTTP_BAD_REQUEST, "invalid_argument", "the body is not valid gzip");
      return false;
    case BodyError::kNone:
      break;
  }
  auto parsed = protocol::json::parseObject(body);
  if (!parsed) {
    sendStatus(call.response, parsed.status());
    return false;
  }
  object = *parsed;
  return true;
}

template <typename T>
void answer(Call& call, const Result<T>& result, HTTPResponse::HTTPStatus ok = HTTPResponse::HTTP_OK) {
  if (!result) return sendStatus(call.response, result.status());
  std::ostringstream out;
  result.value()->stringify(out);
  sendJson(call.response, ok, out.str());
}

// A 429 with Retry-After (whole seconds), from a limiter's refusal.
void sendRateLimited(Call& call, std::int64_t retryAfterSeconds, const std::string& what) {
  call.response.set("Retry-After", std::to_string(retryAfterSeconds));
  sendError(call.response, HTTPResponse::HTTP_TOO_MANY_REQUESTS, "too_many_requests",
            what + "; retry after " + std::to_string(retryAfterSeconds) + " s");
}

// A POST /v1/auth-requests whose Idempotency-Key is already taken: answered from the store
// (the first request, or idempotency_conflict), never creating anything.
bool isReplay(const Call& call) {
  if (call.request.getMethod() != HTTPRequest::HTTP_POST || !call.request.has("Idempotency-Key")) return false;
  const std::string& uri = call.request.getURI();
  if (uri.substr(0, uri.find('?')) != "/v1/auth-requests") return false;
  return call.context.service.requests.idempotencyKeyUsed(call.request.get("Idempotency-Key"));
}

// The CSP API's Bearer key: 401 without one, 403 with a wrong one, 429 past its rate limit.
bool authorizeApiKey(Call& call) {
  const std::string header = call.request.get("Authorization", "");
  static const std::string kBearer = "Bearer ";
  if (header.compare(0, kBearer.size(), kBearer) != 0 || header.size() == kBearer.size()) {
    call.response.set("WWW-Authenticate", "Bearer");
    sendError(call.response, HTTPResponse::HTTP_UNAUTHORIZED, "unauthorized", "an API key is required (Authorization: Bearer <key>)");
    return false;
  }
  const std::string presented = header.substr(kBearer.size());
  // Every key is compared (constant time each) so the timing does not tell which one matched.
  std::size_t matched = call.context.config.apiKeys.size();
  for (std::size_t i = 0; i < call.context.config.apiKeys.size(); ++i) {
    if (crypto::constantTimeEquals(presented, call.context.config.apiKeys[i])) matched = i;
  }
  if (matched == call.context.config.apiKeys.size()) {
    sendError(call.response, HTTPResponse::HTTP_FORBIDDEN, "forbidden", "the API key is not valid");
    return false;
  }
  // Buckets are keyed by the key's position, never by the key itself. Every call is counted,
  // garbage included (this is the flood guard, before any body is read), but a retry of a create
  // that already exists is never refused: its answer is a read of what was made (isReplay).
  if (auto wait = call.context.apiKeyLimiter.acquire("key#" + std::to_string(matched))) {
    if (isReplay(call)) return true;
    sendRateLimited(call, *wait, "this API key is over its request rate");
    return false;
  }
  return true;
}

// --- routes ---------------------------------------------------------------------

// Long-polls and event streams each hold a worker thread; at most a quarter of the threads may,
// so Apple's intake always finds one. A refused slot has already answered 429.
class LongPollSlot {
 public:
  explicit LongPollSlot(Call& call) : count_(call.context.longPolls) {
    const int cap = std::max(1, call.context.config.maxThreads / 4);
    granted_ = ++count_ <= cap;
    if (!granted_) {
      --count_;
      call.response.set("Retry-After", "1");
      sendError(call.response, HTTPResponse::HTTP_TOO_MANY_REQUESTS, "too_many_requests",
                "too many streams and long-polls are open; retry, or poll without waitSeconds");
    }
  }
  ~LongPollSlot() {
    if (granted_) --count_;
  }
  explicit operator bool() const { return granted_; }

 private:
  std::atomic<int>& count_;
  bool granted_ = false;
};

void healthz(Call& call) { sendJson(call.response, HTTPResponse::HTTP_OK, R"({"status":"ok"})"); }

void readyz(Call& call) {
  if (call.context.service.ready()) return sendJson(call.response, HTTPResponse::HTTP_OK, R"({"status":"ready"})");
  sendStatus(call.response, Status::storageUnavailable("the store does not answer or cannot take writes"));
}

void metrics(Call& call) {
  const auto pool = call.context.service.keyPool().stats();
  Metrics::Gauges gauges;
  gauges.pendingRequests = call.context.service.pendingCount();
  gauges.keyPoolReady = pool.ready;
  gauges.keyPoolCapacity = pool.capacity;
  gauges.keyPoolTaken = pool.taken;
  gauges.keyPoolGeneratedInline = pool.generatedInline;
  gauges.longPollsOpen = call.context.longPolls.load();
  if (call.context.connectionGauges) call.context.connectionGauges(gauges);
  const std::string body = call.context.metrics.render(gauges);
  call.response.setContentType("text/plain; version=0.0.4");
  call.response.setContentLength(static_cast<std::streamsize>(body.size()));
  call.response.send() << body;
}

void appleMessage(Call& call) {
  const auto started = std::chrono::steady_clock::now();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const JwtCheck jwt = verifyAppleJwt(call.request.get("Authorization", ""), call.context.config.appleSecret,
                                      call.context.config.cspId, now.count(), call.context.config.jwtWindowSeconds);
  if (jwt.verdict == JwtVerdict::kMissing) {
    return sendError(call.response, HTTPResponse::HTTP_UNAUTHORIZED, "unauthorized", jwt.reason);
  }
  if (jwt.verdict == JwtVerdict::kInvalid) {
    return sendError(call.response, HTTPResponse::HTTP_FORBIDDEN, "forbidden", jwt.reason);
  }
  std::string body;
  switch (readBody(call.request, call.response, call.context.config.maxBodyBytes, body)) {
    case BodyError::kTooLarge:
      return sendError(call.response, HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                       "the body is larger than " + std::to_string(call.context.config.maxBodyBytes) + " bytes");
    case BodyError::kBadGzip:
      return sendError(call.response, HTTPResponse::HTTP_BAD_REQUEST, "invalid_argument", "the body is not valid gzip");
    case BodyError::kNone:
      break;
  }
  const auto result = call.context.service.intake.handleInbound(body, call.request.get("capability-list", call.request.get("capabilities", "")));
  if (!result) return sendStatus(call.response, result.status());
  call.context.metrics.countInbound(result->duplicate ? "duplicate" : result->eventType);
  call.context.metrics.observeInboundSeconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  sendJson(call.response, HTTPResponse::HTTP_OK,
           result->duplicate ? R"({"status":"duplicate"})" : R"({"status":"accepted"})");
}

void putProvider(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (readJsonBody(call, body)) {
    answer(call, views::of(call.context.service.admin.putProvider(call.params[0], inputs::provider(body))));
  }
}
void getProvider(Call& call) { answer(call, views::of(call.context.service.admin.provider(call.params[0]))); }
void deleteProvider(Call& call) {
  const Status status = call.context.service.admin.deleteProvider(call.params[0]);
  if (!status) return sendStatus(call.response, status);
  call.response.setStatus(HTTPResponse::HTTP_NO_CONTENT);
  call.response.send();
}
void listProviders(Call& call) {
  answer(call, Result<views::Json>(views::providers(call.context.service.admin.providers(queryValue(call, "enabled") == "true"))));
}

void createRequest(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (!readJsonBody(call, body)) return;
  std::optional<std::string> key;
  if (call.request.has("Idempotency-Key")) key = call.request.get("Idempotency-Key");
  // Each conversation has its own budget of new requests, so one customer cannot be flooded with
  // sign-in prompts (and one conversation cannot spend the whole API key's rate). The service
  // asks only for a valid request that is not a replay: retries and bad bodies cost nothing.
  std::optional<std::int64_t> wait;
  auto created = call.context.service.requests.create(inputs::createRequest(body), inputs::idempotencyKey(key, body),
                                                      [&](const std::string& conversation) {
    wait = call.context.conversationLimiter.acquire(conversation);
    return wait ? Status::conflict("rate limited") : Status::ok();
  });
  if (wait) return sendRateLimited(call, *wait, "too many authenticate requests for this conversation");
  if (!created) return sendStatus(call.response, created.status());
  std::ostringstream out;
  views::request(created->state)->stringify(out);
  if (!created->created) call.response.set("Idempotent-Replayed", "true");
  sendJson(call.response, created->created ? HTTPResponse::HTTP_CREATED : HTTPResponse::HTTP_OK, out.str());
}
void getRequest(Call& call) { answer(call, views::of(call.context.service.requests.request(call.params[0]))); }
void cancelRequest(Call& call) { answer(call, views::of(call.context.service.requests.cancel(call.params[0]))); }
void requestToken(Call& call) { answer(call, views::of(call.context.service.requests.token(call.params[0]))); }

void oauthCallback(Call& call) {
  std::map<std::string, std::string> query;
  for (const auto& [key, value] : call.query) query.emplace(key, value);
  const std::string location = call.context.service.redirect.complete(query);
  call.response.set("Location", location);
  call.response.set("Cache-Control", "no-store");
  call.response.setStatus(HTTPResponse::HTTP_FOUND);
  call.response.setContentType("text/html; charset=utf-8");
  const std::string body = "<!doctype html><title>Signing in</title><a href=\"" + location + "\">Continue</a>";
  call.response.setContentLength(static_cast<std::streamsize>(body.size()));
  call.response.send() << body;
}

void putWebhook(Call& call) {
  Poco::JSON::Object::Ptr body;
  if (readJsonBody(call, body)) {
    answer(call, views::of(call.context.service.admin.putWebhook(call.params[0], inputs::webhook(body))));
  }
}
void getWebhook(Call& call) { answer(call, views::of(call.context.service.admin.webhook(call.params[0]))); }
void listWebhooks(Call& call) { answer(call, Result<views::Json>(views::webhooks(call.context.service.admin.webhooks()))); }
void deleteWebhook(Call& call) {
  const Status status = call.context.service.admin.deleteWebhook(call.params[0]);
  if (!status) return sendStatus(call.response, status);
  call.response.setStatusAndReason(HTTPResponse::HTTP_NO_CONTENT);
  call.response.send();
}
void deadLetters(Call& call) {
  auto limit = queryInteger(call, "limit", 100, 1, 1000);
  if (!limit) return sendStatus(call.response, limit.status());
  answer(call, Result<views::Json>(views::deadLetters(call.context.service.admin.deadLetters(static_cast<std::size_t>(*limit)))));
}
void replayDeadLetter(Call& call) {
  std::int64_t id = 0;
  try {
    std::size_t used = 0;
    id = std::stoll(call.params[0], &used);
    if (used != call.params[0].size()) throw std::invalid_argument("id");
  } catch (const std::exception&) {
    return sendError(call.response, HTTPResponse::HTTP_BAD_REQUEST, "invalid_argument", "must be a delivery id", "deliveryId");
  }
  answer(call, views::of(call.context.service.admin.replayDeadLetter(id)));
}

// Server-Sent Events of the global feed, resumable with Last-Event-ID (or ?after=). Holds a
// worker thread, so it counts against the same cap as long-polls.
void eventStream(Call& call) {
  std::int64_t after = 0;
  const std::string lastEventId = call.request.get("Last-Event-ID", "");
  auto fromQuery = queryInteger(call, "after", 0, 0, INT64_MAX);
  if (!fromQuery) return sendStatus(call.response, fromQuery.status());
  after = *fromQuery;
  if (!lastEventId.empty()) {
    try {
      after = std::stoll(lastEventId);
    } catch (const std::exception&) {
      return sendError(call.response, HTTPResponse::HTTP_BAD_REQUEST, "invalid_argument", "must be an event seq",
                       "Last-Event-ID");
    }
  }
  LongPollSlot slot(call);
  if (!slot) return;
  call.response.setContentType("text/event-stream");
  call.response.set("Cache-Control", "no-store");
  call.response.setChunkedTransferEncoding(true);
  std::ostream& out = call.response.send();
  out << "retry: 2000\n\n" << std::flush;
  while (out.good() && !call.context.service.stopping()) {
    auto batch = views::of(call.context.service.events.read(after, 100, 15000));
    if (!batch) break;
    const auto events = (*batch)->getArray("events");
    if (events->size() == 0) {
      out << ": keep-alive\n\n" << std::flush;  // also notices a client that went away
      continue;
    }
    for (std::size_t i = 0; i < events->size(); ++i) {
      const auto event = events->getObject(static_cast<unsigned>(i));
      std::ostringstream data;
      event->stringify(data);
      out << "id: " << event->getValue<std::int64_t>("seq") << "\nevent: " << event->getValue<std::string>("type")
          << "\ndata: " << data.str() << "\n\n";
      after = event->getValue<std::int64_t>("seq");
    }
    out << std::flush;
  }
}

void refreshToken(Call& call) { answer(call, views::of(call.context.service.requests.refresh(call.params[0]))); }

void conversationEvents(Call& call) {
  auto after = queryInteger(call, "after", 0, 0, INT64_MAX);
  if (!after) return sendStatus(call.response, after.status());
  auto limit = queryInteger(call, "limit", 100, 1, 1000);
  if (!limit) return sendStatus(call.response, limit.status());
  answer(call, views::of(call.context.service.events.conversation(call.params[0], *after, static_cast<std::size_t>(*limit))));
}

void events(Call& call) {
  auto after = queryInteger(call, "after", 0, 0, INT64_MAX);
  if (!after) return sendStatus(call.response, after.status());
  auto limit = queryInteger(call, "limit", 100, 1, 1000);
  if (!limit) return sendStatus(call.response, limit.status());
  auto wait = queryInteger(call, "waitSeconds", 0, 0, 60);
  if (!wait) return sendStatus(call.response, wait.status());
  if (*wait > 0) {
    LongPollSlot slot(call);
    if (!slot) return;
    return answer(call, views::of(call.context.service.events.read(*after, static_cast<std::size_t>(*limit), *wait * 1000)));
  }
  answer(call, views::of(call.context.service.events.read(*after, static_cast<std::size_t>(*limit), 0)));
}

// --- routing --------------------------------------------------------------------

struct RouteSpec {
  std::string method;
  std::string pattern;  // "/v1/providers/{}" — {} matches one path segment
  bool apiKey;
  Route run;
};

const std::vector<RouteSpec>& routes() {
  static const std::vector<RouteSpec> all = {
      {"GET", "/healthz", false, healthz},
      {"GET", "/readyz", false, readyz},
      {"GET", "/metrics", false, metrics},
      {"POST", "/message", false, appleMessage},
      {"GET", "/v1/providers", true, listProviders},
      {"PUT", "/v1/providers/{}", true, putProvider},
      {"GET", "/v1/providers/{}", true, getProvider},
      {"DELETE", "/v1/providers/{}", true, deleteProvider},
      {"POST", "/v1/auth-requests", true, createRequest},
      {"GET", "/v1/auth-requests/{}", true, getRequest},
      {"POST", "/v1/auth-requests/{}/cancel", true, cancelRequest},
      {"GET", "/v1/auth-requests/{}/token", true, requestToken},
      {"POST", "/v1/auth-requests/{}/refresh", true, refreshToken},
      {"GET", "/oauth/callback", false, oauthCallback},
      {"GET", "/v1/conversations/{}/events", true, conversationEvents},
      {"GET", "/v1/events", true, events},
      {"GET", "/v1/events/stream", true, eventStream},
      {"GET", "/v1/webhooks", true, listWebhooks},
      {"GET", "/v1/webhooks/dead-letters", true, deadLetters},
      {"POST", "/v1/webhooks/dead-letters/{}/replay", true, replayDeadLetter},
      {"PUT", "/v1/webhooks/{}", true, putWebhook},
      {"GET", "/v1/webhooks/{}", true, getWebhook},
      {"DELETE", "/v1/webhooks/{}", true, deleteWebhook},
  };
  return all;
}

std::vector<std::string> splitPath(const std::string& rawPath) {
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= rawPath.size()) {
    const std::size_t slash = std::min(rawPath.find('/', start), rawPath.size());
    std::string decoded;
    // Segments are decoded one by one, so an opaque id's %2F stays inside its segment.
    Poco::URI::decode(rawPath.substr(start, slash - start), decoded);
    segments.push_back(decoded);
    start = slash + 1;
  }
  return segments;
}

bool match(const std::string& pattern, const std::vector<std::string>& segments, std::vector<std::string>& params) {
  const auto parts = splitPath(pattern);
  if (parts.size() != segments.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "{}") {
      if (segments[i].empty()) return false;
      params.push_back(segments[i]);
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

// Whatever a route did not read of the body is read and dropped now, so it can never be taken
// for the next request on a kept-alive connection (request smuggling). The response is already
// sent, so a body too large to drain closes the connection instead.
void drainBody(HTTPServerRequest& request, HTTPServerResponse& response, std::size_t cap) {
  if (!hasBody(request)) return;
  try {
    std::istream& in = request.stream();
    char buffer[8192];
    std::size_t drained = 0;
    while (in && drained <= cap) {
      in.read(buffer, sizeof buffer);
      drained += static_cast<std::size_t>(in.gcount());
    }
    if (in) response.setKeepAlive(false);
  } catch (const std::exception&) {
    response.setKeepAlive(false);
  }
}

// Every request, from the moment its head is read: request id, routing, the API key, the route,
// whatever of the body is left, metrics and the one log line.
class Handler {
 public:
  explicit Handler(Context& context) : context_(context) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) {
    const auto started = std::chrono::steady_clock::now();
    std::string requestId = request.get("X-Request-Id", "");
    if (requestId.empty() || requestId.size() > 64 ||
        requestId.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
            std::string::npos) {
      requestId = crypto::randomUuid();
    }
    response.set("X-Request-Id", requestId);
    std::string routeName = "unmatched";
    // The method is logged: only an ordinary token is, anything else as "?".
    std::string method = request.getMethod();
    if (method.empty() || method.size() > 16 ||
        method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
      method = "?";
    }
    try {
      const std::string& uri = request.getURI();
      const std::size_t q = uri.find('?');
      const std::string rawPath = uri.substr(0, q);
      const auto segments = splitPath(rawPath);
      const RouteSpec* found = nullptr;
      bool pathKnown = false;
      std::vector<std::string> params;
      // HEAD is GET without the body (Poco's response writes none for a HEAD request).
      const std::string& routeMethod = isHead(request) ? HTTPRequest::HTTP_GET : request.getMethod();
      for (const auto& route : routes()) {
        if (!match(route.pattern, segments, params)) continue;
        pathKnown = true;
        if (route.method == routeMethod) {
          found = &route;
          break;
        }
      }
      if (found == nullptr) {
        if (pathKnown) {
          std::string allow;
          for (const auto& route : routes()) {
            std::vector<std::string> ignored;
            if (!match(route.pattern, segments, ignored)) continue;
            allow += (allow.empty() ? "" : ", ") + route.method;
            if (route.method == HTTPRequest::HTTP_GET) allow += ", HEAD";
          }
          allow += ", OPTIONS";
          response.set("Allow", allow);
          if (request.getMethod() == HTTPRequest::HTTP_OPTIONS) {
            routeName = "OPTIONS";
            response.setStatusAndReason(HTTPResponse::HTTP_NO_CONTENT);
            response.setContentLength(0);
            response.send();
          } else {
            sendError(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                      method + " is not allowed here");
          }
        } else {
          sendError(response, HTTPResponse::HTTP_NOT_FOUND, "not_found", "no such route");
        }
      } else {
        routeName = found->method + " " + found->pattern;
        Call call{request, response, params, {}, context_};
        if (q != std::string::npos) call.query = Poco::URI(uri).getQueryParameters();
        if (!found->apiKey || authorizeApiKey(call)) found->run(call);
      }
    } catch (const Poco::SyntaxException&) {
      // Malformed percent-encoding in the path or query.
      if (!response.sent()) sendError(response, HTTPResponse::HTTP_BAD_REQUEST, "invalid_argument", "malformed URL encoding");
    } catch (const store::UnavailableError& e) {
      // A full disk or a lost database: nothing was kept, and the client (Apple too) may retry.
      Poco::Logger::get("bcauth.http").warning("request " + requestId + " refused: " + e.what());
      if (!response.sent()) sendStatus(response, Status::storageUnavailable("the store cannot take writes now; retry later"));
    } catch (const std::exception& e) {
      Poco::Logger::get("bcauth.http").error("request " + requestId + " failed: " + e.what());
      if (!response.sent()) sendError(response, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "internal", "internal error");
    }
    drainBody(request, response, context_.config.maxBodyBytes);
    const int status = static_cast<int>(response.getStatus());
    context_.metrics.countRequest(routeName, status);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    // One line per request: never a body, a query string or an Authorization header.
    std::ostringstream line;
    line << R"({"requestId":")" << requestId << R"(","method":")" << method << R"(","route":")"
         << routeName << R"(","status":)" << status << R"(,"ms":)" << ms << "}";
    Poco::Logger::get("bcauth.http").information(line.str());
  }

 private:
  Context& context_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> registeredRoutes() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& route : routes()) out.emplace_back(route.method, route.pattern);
  return out;
}

// How long a worker waits for the next request on a kept-alive connection before handing it
// back to the listener (a client that answers faster than this keeps its worker).
constexpr std::chrono::milliseconds kNextHeadWait{3};

struct Server::Parts {
  std::shared_ptr<HttpConfig> config;
  std::shared_ptr<Context> context;
  std::atomic<bool> stopping{false};
  std::unique_ptr<Exchange> exchange;
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Lane> apple;  // Apple's POST /message only, so the CSP API cannot starve it
  std::unique_ptr<Lane> ops;    // /healthz, /readyz, /metrics: cheap, and answered while the API is busy
  std::unique_ptr<Lane> api;
  std::unique_ptr<Lane> tls;    // TLS connections: the handshake and head are read here

  Lane& lane(LaneId id) {
    switch (id) {
      case LaneId::kApple: return *apple;
      case LaneId::kOps: return *ops;
      case LaneId::kApi: return *api;
      case LaneId::kTls: break;
    }
    return *tls;
  }

  // A worker's turn with a connection: read the head if the listener has not, answer it and what
  // is pipelined behind it. A client on a kept-alive connection usually sends its next request
  // at once: the worker waits a moment for a whole next head (never a partial one: a head still
  // arriving goes back to the listener) and answers it itself, sparing the trip through the
  // listener and another worker's wake-up. Lanes stay honest: an Apple or operations worker hands
  // an API request to the API lane, so API traffic never runs on the workers kept for Apple;
  // Apple's requests and health checks may run on any worker.
  void serve(Connection&& connection, LaneId id) {
    thread_local std::vector<char> peek;
    peek.resize(config->maxHeaderBytes + 1);
    if (!connection.head) connection.head = exchange->readHead(connection);
    while (connection.head) {
      if (!exchange->serve(connection)) return;  // closed
      LaneId next = id;
      if (connection.secure() || lane(id).queued() > 0 || !nextHeadArrives(connection.socket, kNextHeadWait, peek, next)) {
        return listener->park(std::move(connection));
      }
      if (next == LaneId::kApi && id != LaneId::kApi) {
        if (!api->offer(std::move(connection))) listener->park(std::move(connection));
        return;
      }
      connection.head = exchange->readHead(connection);
    }
  }

  // TLS: the head, once read, says which lane answers it.
  void readTls(Connection&& connection) {
    connection.head = exchange->readHead(connection);
    if (!connection.head) return;
    const auto& request = *connection.head->request;
    const LaneId id = laneOf(request.getMethod() + " " + request.getURI());
    auto& response = *connection.head->response;
    if (lane(id).offer(std::move(connection))) return;
    context->metrics.countConnectionRefused("queue_full");
    response.setKeepAlive(false);
    response.set("Retry-After", "1");
    sendError(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "server_busy", "every worker is busy; retry");
  }
};

Server::Server(service::AuthService& service, HttpConfig config, const Poco::Net::ServerSocket& socket)
    : metrics_(std::make_unique<Metrics>()), parts_(std::make_unique<Parts>()), port_(socket.address().port()) {
  Parts& parts = *parts_;
  parts.config = std::make_shared<HttpConfig>(std::move(config));
  const HttpConfig& c = *parts.config;
  parts.context = std::make_shared<Context>(service, c, *metrics_);

  ListenerConfig listener;
  listener.maxConnections = c.maxConnections;
  listener.maxConnectionsPerAddress = c.maxConnectionsPerAddress;
  listener.headerTimeout = std::chrono::seconds(c.headerTimeoutSeconds);
  listener.idleTimeout = std::chrono::seconds(c.idleTimeoutSeconds);
  listener.maxHeaderBytes = c.maxHeaderBytes;
  parts.listener = std::make_unique<Listener>(socket, listener, *metrics_, [&parts](Connection&& connection, LaneId id) {
    return parts.lane(id).offer(std::move(connection));
  });

  ExchangeConfig exchange;
  exchange.params = new Poco::Net::HTTPServerParams();
  exchange.params->setKeepAlive(true);
  exchange.params->setTimeout(Poco::Timespan(c.readTimeoutSeconds, 0));
  exchange.headerTimeout = std::chrono::seconds(c.headerTimeoutSeconds);
  exchange.bodyTimeout = std::chrono::seconds(c.bodyTimeoutSeconds);
  auto context = parts.context;
  parts.exchange = std::make_unique<Exchange>(
      exchange, parts.listener->watchdog(),
      [context](HTTPServerRequest& request, HTTPServerResponse& response) { Handler(*context).handleRequest(request, response); },
      parts.stopping);

  const auto queued = static_cast<std::size_t>(c.maxQueued);
  parts.apple = std::make_unique<Lane>("apple", c.appleThreads, queued,
                                       [&parts](Connection&& connection) { parts.serve(std::move(connection), LaneId::kApple); });
  parts.ops = std::make_unique<Lane>("ops", 2, queued,
                                     [&parts](Connection&& connection) { parts.serve(std::move(connection), LaneId::kOps); });
  parts.api = std::make_unique<Lane>("api", c.maxThreads, queued,
                                     [&parts](Connection&& connection) { parts.serve(std::move(connection), LaneId::kApi); });
  parts.tls = std::make_unique<Lane>("tls", socket.secure() ? c.maxThreads : 0, queued,
                                     [&parts](Connection&& connection) { parts.readTls(std::move(connection)); });
  parts.context->connectionGauges = [&parts](Metrics::Gauges& gauges) {
    gauges.connectionsOpen = parts.listener->openConnections();
    gauges.connectionsWaiting = parts.listener->waitingConnections();
    gauges.apiWorkersBusy = parts.api->busy();
    gauges.appleWorkersBusy = parts.apple->busy();
  };
  service.setDecryptObserver([metrics = metrics_.get()](double seconds) { metrics->observeDecryptSeconds(seconds); });
}

Server::~Server() { stop(); }

void Server::start() {
  parts_->listener->start();
  started_ = true;
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  Parts& parts = *parts_;
  // Stop accepting and close the idle connections; requests being answered finish (up to a grace
  // period) before the caller tears down the service and store they use.
  parts.stopping = true;
  parts.listener->stopAccepting();
  const auto grace = Clock::now() + std::chrono::seconds(10);
  for (Lane* lane : {parts.tls.get(), parts.apple.get(), parts.ops.get(), parts.api.get()}) {
    lane->close();
    lane->waitIdle(grace);
  }
  // Whoever still waits on a slow client is cut off now; no handler may outlive the service,
  // store and metrics it uses.
  parts.listener->watchdog().expire(Clock::time_point::max());
  for (Lane* lane : {parts.tls.get(), parts.apple.get(), parts.ops.get(), parts.api.get()}) lane->join();
  parts.listener->stop();
  parts.context->connectionGauges = nullptr;
}

}  // namespace bcauth::http
