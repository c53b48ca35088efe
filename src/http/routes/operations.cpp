// The operations endpoints: liveness, readiness and the Prometheus metrics (no API key).
#include "http/routes/routes.h"

namespace bcauth::http::routes {

using Poco::Net::HTTPResponse;

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

}  // namespace bcauth::http::routes
