#include "http/metrics.h"

#include <sstream>

namespace bcauth::http {

void Metrics::countRequest(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::countInbound(const std::string& outcome) {
  std::lock_guard lock(mutex_);
  ++inbound_[outcome];
}

void Metrics::countConnectionRefused(const std::string& reason) {
  std::lock_guard lock(mutex_);
  ++connectionsRefused_[reason];
}

void Metrics::countConnectionTimedOut(const std::string& phase) {
  std::lock_guard lock(mutex_);
  ++connectionsTimedOut_[phase];
}

void Metrics::Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++buckets[i];
  }
  ++count;
  sum += seconds;
}

void Metrics::Histogram::render(std::ostream& out, const char* name, const char* help) const {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    out << name << "_bucket{le=\"" << kBuckets[i] << "\"} " << buckets[i] << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << count << "\n" << name << "_sum " << sum << "\n" << name << "_count " << count << "\n";
}

void Metrics::observeInboundSeconds(double seconds) {
  std::lock_guard lock(mutex_);
  inboundSeconds_.observe(seconds);
}

void Metrics::observeDecryptSeconds(double seconds) {
  std::lock_guard lock(mutex_);
  decryptSeconds_.observe(seconds);
}

std::string Metrics::render(const Gauges& gauges) {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP bcauth_http_requests_total HTTP requests by route and status.\n"
         "# TYPE bcauth_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out << "bcauth_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << count << "\n";
  }
  out << "# HELP bcauth_inbound_messages_total Inbound messages from Apple by the event they produced.\n"
         "# TYPE bcauth_inbound_messages_total counter\n";
  for (const auto& [outcome, count] : inbound_) {
    out << "bcauth_inbound_messages_total{outcome=\"" << outcome << "\"} " << count << "\n";
  }
  out << "# HELP bcauth_connections_refused_total Connections refused before a request was served, by reason.\n"
         "# TYPE bcauth_connections_refused_total counter\n";
  for (const auto& [reason, count] : connectionsRefused_) {
    out << "bcauth_connections_refused_total{reason=\"" << reason << "\"} " << count << "\n";
  }
  out << "# HELP bcauth_connections_timed_out_total Connections closed for exceeding a deadline, by phase.\n"
         "# TYPE bcauth_connections_timed_out_total counter\n";
  for (const auto& [phase, count] : connectionsTimedOut_) {
    out << "bcauth_connections_timed_out_total{phase=\"" << phase << "\"} " << count << "\n";
  }
  inboundSeconds_.render(out, "bcauth_inbound_seconds", "Time to process an inbound message, decryption included.");
  decryptSeconds_.render(out, "bcauth_decrypt_seconds", "Time to decrypt one authenticate token.");
  const auto single = [&out](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << name << " " << value << "\n";
  };
  single("bcauth_pending_requests", "gauge", "Authenticate requests waiting for a reply.", gauges.pendingRequests);
  single("bcauth_key_pool_ready", "gauge", "Request keys generated ahead and ready.", gauges.keyPoolReady);
  single("bcauth_key_pool_capacity", "gauge", "Request keys the pool keeps ready at most.", gauges.keyPoolCapacity);
  single("bcauth_key_pool_taken_total", "counter", "Request keys taken from the pool.", gauges.keyPoolTaken);
  single("bcauth_key_pool_misses_total", "counter",
         "Requests that found the pool dry and generated their key inline.", gauges.keyPoolGeneratedInline);
  single("bcauth_long_polls_open", "gauge",
         "Long-polls and event streams open, each holding a worker thread (a quarter of them at most).",
         gauges.longPollsOpen);
  single("bcauth_connections_open", "gauge", "Client connections open.", gauges.connectionsOpen);
  single("bcauth_connections_waiting", "gauge",
         "Connections held without a worker: request head not yet whole, or idle between requests.",
         gauges.connectionsWaiting);
  single("bcauth_workers_busy_api", "gauge", "API workers answering a request.", gauges.apiWorkersBusy);
  single("bcauth_workers_busy_apple", "gauge", "Workers kept for Apple's POST /message that are answering one.",
         gauges.appleWorkersBusy);
  return out.str();
}

}  // namespace bcauth::http
