#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/export/audit_export.hpp"
#include "frontend/oauth/fetch_policy.hpp"

namespace warden::mcp {

// The OTLP/HTTP JSON body (ExportLogsServiceRequest) for these events: one log record each,
// the OCSF JSON as its string body, the event id and OCSF class as attributes (the event id is
// the idempotency key a collector can deduplicate on). Pure.
nlohmann::json otlp_logs_request(const std::vector<ExportedEvent>& events);

// --export otlp:URL: POSTs each batch to URL (an OTLP/HTTP logs endpoint, e.g.
// http://collector:4318/v1/logs). Delivered means 200; a partial success's rejected records
// are counted as refused, not retried (OTLP says so). Bounded: an event over 256 KiB goes as a
// stub naming it, a request stays under 4 MiB (split otherwise). A 400 or 413 splits the batch
// to find the events the collector will not take; one that is refused alone goes as a stub,
// and a refused stub is given up (logged, counted). Any other failure (no connection, 429,
// 5xx, 401...) retries the batch whole with back-off. https verifies the collector's
// certificate against the system store and the CAs of --export-ca-file (`fetch.tls`); plain
// http goes to loopback only unless the operator's URL names a private address.
class OtlpSink : public ExportSink {
 public:
  OtlpSink(std::string url, oauth::FetchOptions fetch)
      : url_(std::move(url)), fetch_(std::move(fetch)) {}
  awaitable<std::size_t> deliver(const std::vector<ExportedEvent>& events) override;

 private:
  awaitable<std::size_t> deliver_part(std::vector<ExportedEvent> events);
  awaitable<std::size_t> deliver_halves(std::vector<ExportedEvent> events);

  std::string url_;
  oauth::FetchOptions fetch_;
};

}  // namespace warden::mcp
