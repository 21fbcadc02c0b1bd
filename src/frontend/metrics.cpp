#include "frontend/metrics.hpp"

#include <cstdio>

namespace warden::mcp {

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++counts_[i];
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    out += name + "_bucket{le=\"" + number(kBounds[i]) + "\"} " + std::to_string(counts_[i]) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

std::string Metrics::render() const {
  std::string out;
  out += "# HELP warden_decisions_total Decisions asked of the database, by outcome.\n";
  out += "# TYPE warden_decisions_total counter\n";
  for (const char* outcome : {"allowed", "denied", "observe", "unavailable"}) {
    auto it = decisions_.find(outcome);
    out += std::string("warden_decisions_total{outcome=\"") + outcome + "\"} " +
           std::to_string(it == decisions_.end() ? 0 : it->second) + "\n";
  }
  decision_latency_.render(out, "warden_decision_duration_seconds",
                           "Time to get a decision (warden.authorize) from the database.");
  upstream_latency_.render(out, "warden_upstream_duration_seconds",
                           "Time an upstream MCP server took to answer a forwarded call.");
  out += "# HELP warden_calls_in_flight Calls forwarded upstream and not yet answered.\n";
  out += "# TYPE warden_calls_in_flight gauge\n";
  out += "warden_calls_in_flight " + std::to_string(in_flight_) + "\n";
  out += "# HELP warden_http_connections_open HTTP connections open to clients.\n";
  out += "# TYPE warden_http_connections_open gauge\n";
  out += "warden_http_connections_open " + std::to_string(open_connections_) + "\n";
  out +=
      "# HELP warden_http_connections_dropped_total Connections closed by the listener's "
      "limits (a slowloris or a flood shows here), by reason.\n";
  out += "# TYPE warden_http_connections_dropped_total counter\n";
  for (const char* reason :
       {"per_address", "shed_idle", "refused", "header_timeout", "body_timeout"}) {
    auto it = dropped_connections_.find(reason);
    out += std::string("warden_http_connections_dropped_total{reason=\"") + reason + "\"} " +
           std::to_string(it == dropped_connections_.end() ? 0 : it->second) + "\n";
  }
  out +=
      "# HELP warden_ssf_refusals_limited_total Refused SETs answered 429 without an audit row "
      "(the sender's address was over the refusal limit).\n"
      "# TYPE warden_ssf_refusals_limited_total counter\n"
      "warden_ssf_refusals_limited_total " +
      std::to_string(ssf_refusals_limited_) + "\n";
  out +=
      "# HELP warden_sessions_evicted_total Sessions ended because their agent, for one person, "
      "opened more than --max-sessions-per-agent.\n"
      "# TYPE warden_sessions_evicted_total counter\n"
      "warden_sessions_evicted_total " +
      std::to_string(sessions_evicted_) + "\n";
  if (!exports_.empty()) {
    out +=
        "# HELP warden_export_lag_seconds Age of the oldest audit event not yet delivered to "
        "the export destination (0: caught up).\n# TYPE warden_export_lag_seconds gauge\n";
    for (const auto& [name, e] : exports_) {
      out += "warden_export_lag_seconds{export=\"" + name + "\"} " + number(e.lag_seconds) + "\n";
    }
    out +=
        "# HELP warden_export_events_total Audit events delivered to the export destination.\n"
        "# TYPE warden_export_events_total counter\n";
    for (const auto& [name, e] : exports_) {
      out += "warden_export_events_total{export=\"" + name + "\"} " + std::to_string(e.delivered) +
             "\n";
    }
    out +=
        "# HELP warden_export_failures_total Failed export attempts (retried with back-off).\n"
        "# TYPE warden_export_failures_total counter\n";
    for (const auto& [name, e] : exports_) {
      out += "warden_export_failures_total{export=\"" + name + "\"} " + std::to_string(e.failures) +
             "\n";
    }
    out +=
        "# HELP warden_export_refused_total Audit events the destination refused for good "
        "(not retried; still in warden.events).\n# TYPE warden_export_refused_total counter\n";
    for (const auto& [name, e] : exports_) {
      out += "warden_export_refused_total{export=\"" + name + "\"} " + std::to_string(e.refused) +
             "\n";
    }
  }
  return out;
}

}  // namespace warden::mcp
