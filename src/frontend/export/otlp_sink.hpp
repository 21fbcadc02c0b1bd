#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/export/audit_export.hpp"
#include "frontend/net/url.hpp"

namespace warden::mcp {

// The OTLP/HTTP JSON body (ExportLogsServiceRequest) for these events: one log record each,
// the OCSF JSON as its string body, the event id and OCSF class as attributes (the event id is
// the idempotency key a collector can deduplicate on). Pure.
nlohmann::json otlp_logs_request(const std::vector<ExportedEvent>& events);

// --export otlp:URL: POSTs each batch to URL (an OTLP/HTTP logs endpoint, e.g.
// http://collector:4318/v1/logs). Delivered means 200 with no rejected log records; anything
// else is a failure (the batch is sent again, whole). Plain http only: run the collector next to
// the gateway, or put TLS in front of it.
class OtlpSink : public ExportSink {
 public:
  explicit OtlpSink(Url url) : url_(std::move(url)) {}
  awaitable<void> deliver(const std::vector<ExportedEvent>& events) override;

 private:
  Url url_;
};

}  // namespace warden::mcp
