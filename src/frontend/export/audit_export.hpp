#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "frontend/base/asio.hpp"
#include "frontend/db/db_pool.hpp"
#include "frontend/metrics.hpp"

namespace warden::mcp {

// One audit event as an export delivers it: the OCSF JSON of warden.export_batch.
struct ExportedEvent {
  std::string event_id, at, ocsf;
  bool stub = false;  // ocsf is a shortened stand-in (an export destination's limits)
};

// Where an export delivers. deliver() returns once the destination has the events, or throws
// (the whole batch is then sent again after a back-off). It returns how many of them the
// destination refused for good (a collector's partial success, or an event it will not take
// even alone): those are logged and counted, never retried, so one bad event cannot stall the
// export of everything after it.
class ExportSink {
 public:
  virtual ~ExportSink() = default;
  virtual awaitable<std::size_t> deliver(const std::vector<ExportedEvent>& events) = 0;
};

// --export ocsf-ndjson:FILE: one OCSF event per line, appended and fsynced before the cursor
// moves. A crash in between sends those events again (at least once; metadata.uid, the event
// id, tells the duplicates).
class NdjsonSink : public ExportSink {
 public:
  explicit NdjsonSink(std::string path) : path_(std::move(path)) {}
  awaitable<std::size_t> deliver(const std::vector<ExportedEvent>& events) override;

 private:
  std::string path_;
};

// Drives one export from its durable cursor in the database (warden.export_batch, then
// warden.advance_export_cursor once the sink has the events): nothing is lost or skipped
// across restarts, and a failed delivery is retried with exponential back-off.
class AuditExport {
 public:
  AuditExport(DbPool& pool, std::string cursor, std::unique_ptr<ExportSink> sink,
              Metrics::Export& metrics, std::size_t batch = 500)
      : pool_(pool),
        cursor_(std::move(cursor)),
        sink_(std::move(sink)),
        metrics_(metrics),
        batch_(batch) {}

  awaitable<void> run();

 private:
  // One batch; the number of events delivered.
  awaitable<std::size_t> once();

  DbPool& pool_;
  std::string cursor_;
  std::unique_ptr<ExportSink> sink_;
  Metrics::Export& metrics_;
  std::size_t batch_;
};

// Parses --export KIND:WHERE; throws std::invalid_argument with a message for the user. `pool`
// reads a destination's secret (splunk-hec: the export secret `secret_name`); `ca_file`
// (--export-ca-file, may be empty) adds CAs an https destination's certificate may chain to.
std::unique_ptr<ExportSink> export_sink(const std::string& spec, DbPool& pool,
                                        const std::string& secret_name,
                                        const std::string& ca_file = "");
// The cursor name of an export: the kind (ocsf-ndjson), unless named with --export-cursor.
std::string export_kind(const std::string& spec);

}  // namespace warden::mcp
