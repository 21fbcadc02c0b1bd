#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace warden::mcp {

// A Prometheus histogram with fixed buckets in seconds.
class Histogram {
 public:
  void observe(double seconds);
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   10};
  std::array<std::uint64_t, kBounds.size()> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// Counters and gauges served at /metrics (Prometheus text format 0.0.4). One io_context
// thread updates them, so plain integers suffice.
class Metrics {
 public:
  // outcome: allowed, denied, observe, unavailable.
  void count_decision(const std::string& outcome) { ++decisions_[outcome]; }
  Histogram& decision_latency() { return decision_latency_; }
  Histogram& upstream_latency() { return upstream_latency_; }
  void call_started() { ++in_flight_; }
  void call_finished() { --in_flight_; }
  // HTTP connections closed by the listener's limits; reason: per_address (over
  // --max-connections-per-address), shed_idle (an idle one closed to make room), refused (no
  // room at all), header_timeout (includes idle keep-alive connections), body_timeout.
  void count_dropped_connection(const std::string& reason) { ++dropped_connections_[reason]; }
  void set_open_connections(std::size_t n) { open_connections_ = n; }
  // A refused SET at /ssf/receive answered 429 without being audited (its address was over
  // the refusal limit).
  void count_ssf_refusal_limited() { ++ssf_refusals_limited_; }
  // A session ended because its agent (for one person) opened more than --max-sessions-per-agent.
  void count_session_evicted() { ++sessions_evicted_; }
  // The audit export (--export): seconds between now and the oldest event not yet delivered
  // (0 when caught up), events delivered, and failed delivery attempts, per destination.
  struct Export {
    double lag_seconds = 0;
    std::uint64_t delivered = 0;
    std::uint64_t failures = 0;
    std::uint64_t refused = 0;  // refused for good by the destination, not retried
  };
  Export& export_of(const std::string& name) { return exports_[name]; }
  std::string render() const;

 private:
  std::map<std::string, std::uint64_t> decisions_;
  Histogram decision_latency_;
  Histogram upstream_latency_;
  std::int64_t in_flight_ = 0;
  std::map<std::string, std::uint64_t> dropped_connections_;
  std::size_t open_connections_ = 0;
  std::uint64_t ssf_refusals_limited_ = 0;
  std::uint64_t sessions_evicted_ = 0;
  std::map<std::string, Export> exports_;
};

}  // namespace warden::mcp
