#include "http/middleware.h"

#include <charconv>
#include <chrono>

#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/Timestamp.h>

#include "bcauth/secure.h"
#include "http/api_auth.h"
#include "http/body.h"
#include "http/errors.h"
#include "http/exchange.h"
#include "http/router.h"
#include "store/store.h"

namespace bcauth::http {

using Poco::Net::HTTPRequest;

std::string requestLine(std::string_view requestId, std::string_view method, std::string_view route, int status,
                        double ms) {
  char number[32];
  std::string line;
  line.reserve(128);
  line.append(R"({"requestId":")").append(requestId).append(R"(","method":")").append(method);
  line.append(R"(","route":")").append(route).append(R"(","status":)");
  line.append(number, std::to_chars(number, number + sizeof number, status).ptr);
  line.append(R"(,"ms":)");
  line.append(number, std::to_chars(number, number + sizeof number, ms, std::chars_format::fixed, 3).ptr);
  return line.append("}");
}

void handleRequest(Context& context, Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
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
    // HEAD is GET without the body (Poco's response writes none for a HEAD request).
    const std::string& routeMethod = isHead(request) ? HTTPRequest::HTTP_GET : request.getMethod();
    Routing routing = findRoute(routeMethod, uri.substr(0, q));
    if (routing.route == nullptr) {
      routeName = answerUnrouted(request, response, routing, method);
    } else {
      const RouteSpec& route = *routing.route;
      routeName = route.method + " " + route.pattern;
      Call call{request, response, std::move(routing.params), {}, context};
      if (q != std::string::npos) call.query = Poco::URI(uri).getQueryParameters();
      if (!route.apiKey || authorizeApiKey(call, route)) route.run(call);
    }
  } catch (const Poco::SyntaxException&) {
    // Malformed percent-encoding in the path or query.
    if (!response.sent()) sendStatus(response, Status::invalidArgument("malformed URL encoding"));
  } catch (const store::UnavailableError& e) {
    // A full disk or a lost database: nothing was kept, and the client (Apple too) may retry.
    Poco::Logger::get("bcauth.http").warning("request " + requestId + " refused: " + e.what());
    if (!response.sent()) sendStatus(response, Status::storageUnavailable("the store cannot take writes now; retry later"));
  } catch (const std::exception& e) {
    // Answered as any internal failure (sendStatus logs it under the request id); a response
    // already under way can only be logged.
    if (!response.sent()) sendStatus(response, Status::internal(std::string("request failed: ") + e.what()));
    else Poco::Logger::get("bcauth.http").error("request " + requestId + " failed: " + e.what());
  }
  drainBody(request, response, context.config.maxBodyBytes);
  const int status = static_cast<int>(response.getStatus());
  context.metrics.countRequest(routeName, status);
  // One line per request: never a body, a query string or an Authorization header. (Poco keeps
  // a logger for the process's lifetime, so it is looked up once.)
  static Poco::Logger& log = Poco::Logger::get("bcauth.http");
  if (!log.information()) return;
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  // Each worker reuses one message: building a Poco::Message asks the kernel for the pid.
  thread_local Poco::Message line(log.name(), "", Poco::Message::PRIO_INFORMATION);
  line.setText(requestLine(requestId, method, routeName, status, ms));
  line.setTime(Poco::Timestamp());
  log.log(line);
}

}  // namespace bcauth::http
