#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/db/db_pool.hpp"
#include "frontend/export/audit_export.hpp"
#include "frontend/oauth/fetch_policy.hpp"

namespace warden::mcp {

// The HEC body for these events: one JSON event object per event, concatenated with newlines
// (Splunk's batch format): "time" (seconds, from the OCSF time), "source" "warden", "sourcetype"
// "ocsf", the OCSF JSON as "event", and the event id as the indexed field "event_id" (the
// idempotency key: duplicates after a crash carry the same one). Pure.
std::string splunk_hec_body(const std::vector<ExportedEvent>& events);

// --export splunk-hec:URL: POSTs each batch to a Splunk HTTP Event Collector (URL ends in
// /services/collector/event) with "Authorization: Splunk TOKEN". The token is the export secret
// --export-secret NAME (default "splunk-hec"), stored sealed with `warden-mcp secret put --export
// NAME` and read from the database (warden.export_secret) when needed, so it is never in argv,
// the environment or a file; a 401/403 reads it again (a rotated token) and retries. Delivered
// means 200. A 400 splits the batch until the event HEC will not take is alone; that one is
// refused (logged, counted, kept in warden.events). Anything else retries the batch whole, with
// back-off. https verifies the certificate against the system store and the CAs of
// --export-ca-file (`fetch.tls`); plain http (the token in clear) only to loopback.
class SplunkHecSink : public ExportSink {
 public:
  SplunkHecSink(std::string url, DbPool& pool, std::string secret_name, oauth::FetchOptions fetch)
      : url_(std::move(url)),
        pool_(pool),
        secret_name_(std::move(secret_name)),
        fetch_(std::move(fetch)) {}
  awaitable<std::size_t> deliver(const std::vector<ExportedEvent>& events) override;

 private:
  awaitable<std::size_t> deliver_part(std::vector<ExportedEvent> events);
  awaitable<void> read_token();

  std::string url_;
  DbPool& pool_;
  std::string secret_name_;
  oauth::FetchOptions fetch_;
  std::string token_;
};

}  // namespace warden::mcp
