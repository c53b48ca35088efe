// Counters and a histogram in Prometheus text format (Poco 1.11 has no Prometheus module).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>

namespace bcauth::http {

class Metrics {
 public:
  void countRequest(const std::string& route, int status);
  void countInbound(const std::string& outcome);
  void observeInboundSeconds(double seconds);
  void observeDecryptSeconds(double seconds);
  // Connections refused at the door (per_address, capacity, queue_full, headers_too_large,
  // uri_too_long, descriptors) and closed for taking too long (header, idle, request).
  void countConnectionRefused(const std::string& reason);
  void countConnectionTimedOut(const std::string& phase);
  // Gauges read at scrape time: pending requests from the store, the key pool's counters.
  struct Gauges {
    std::int64_t pendingRequests = 0;
    std::size_t keyPoolReady = 0;
    std::size_t keyPoolCapacity = 0;
    std::uint64_t keyPoolTaken = 0;
    std::uint64_t keyPoolGeneratedInline = 0;
    int longPollsOpen = 0;  // long-polls and event streams holding a worker thread
    int connectionsOpen = 0;
    int connectionsWaiting = 0;  // held by the listener: head not yet whole, or idle kept-alive
    int apiWorkersBusy = 0;
    int appleWorkersBusy = 0;
  };
  // Renders everything.
  std::string render(const Gauges& gauges);

 private:
  static constexpr std::array<double, 10> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0};
  std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, std::uint64_t> inbound_;
  std::map<std::string, std::uint64_t> connectionsRefused_;
  std::map<std::string, std::uint64_t> connectionsTimedOut_;
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
    void observe(double seconds);
    void render(std::ostream& out, const char* name, const char* help) const;
  };
  Histogram inboundSeconds_;
  Histogram decryptSeconds_;
};

}  // namespace bcauth::http
