#include "frontend/export/audit_export.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include <boost/asio/steady_timer.hpp>

#include "frontend/export/otlp_sink.hpp"
#include "frontend/export/splunk_hec_sink.hpp"
#include "frontend/net/tls_client.hpp"
#include "frontend/oauth/fetch_policy.hpp"

namespace warden::mcp {

namespace {

constexpr auto kIdlePoll = std::chrono::milliseconds(500);
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(30);

void write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
}

}  // namespace

awaitable<std::size_t> NdjsonSink::deliver(const std::vector<ExportedEvent>& events) {
  std::string lines;
  for (const auto& e : events) {
    lines += e.ocsf;
    lines += '\n';
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + path_ + ": " + std::strerror(errno));
  try {
    write_all(fd, lines, path_);
    if (::fdatasync(fd) != 0) {
      throw std::runtime_error("cannot sync " + path_ + ": " + std::strerror(errno));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  co_return 0;
}

awaitable<std::size_t> AuditExport::once() {
  std::vector<Param> params{cursor_, std::to_string(batch_)};
  auto rows = co_await pool_.query(
      "SELECT event_id::text, at::text, ocsf::text, "
      "extract(epoch FROM pg_catalog.clock_timestamp() - at)::float8 "
      "FROM warden.export_batch($1, $2::int)",
      params);
  if (rows.empty()) {
    // Nothing to send now need not mean up to date: the export may be held back by an open
    // transaction. The lag is the age of the oldest event not yet delivered either way.
    std::vector<Param> cursor{cursor_};
    auto lag = co_await pool_.query("SELECT warden.export_lag($1)", cursor);
    metrics_.lag_seconds = lag.empty() ? 0 : std::stod(lag.front()[0].value_or("0"));
    co_return 0;
  }
  metrics_.lag_seconds = std::stod(rows.front()[3].value_or("0"));
  std::vector<ExportedEvent> events;
  events.reserve(rows.size());
  for (auto& r : rows) events.push_back({r[0].value_or(""), r[1].value_or(""), r[2].value_or("")});
  const std::size_t refused = co_await sink_->deliver(events);
  if (refused > 0) {
    metrics_.refused += refused;
    std::cerr << "warden-mcp: export " << cursor_ << ": the destination refused " << refused
              << " event(s) for good (they stay in warden.events; see the log above)\n";
  }
  // Delivered: only now may the cursor move (a crash before this line sends them again).
  std::vector<Param> advance{cursor_, events.back().at, events.back().event_id,
                             std::to_string(events.size())};
  co_await pool_.query(
      "SELECT warden.advance_export_cursor($1, $2::timestamptz, $3::uuid, $4::int)", advance);
  metrics_.delivered += events.size();
  co_return events.size();
}

awaitable<void> AuditExport::run() {
  std::chrono::steady_clock::duration backoff = kFirstBackoff;
  for (;;) {
    std::size_t delivered = 0;
    bool failed = false;
    try {
      delivered = co_await once();
    } catch (const std::exception& e) {
      failed = true;
      ++metrics_.failures;
      std::cerr << "warden-mcp: export " << cursor_ << " failed (retrying in "
                << std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count()
                << " ms): " << e.what() << "\n";
    }
    if (failed) {
      co_await sleep_for(backoff);
      backoff = std::min<std::chrono::steady_clock::duration>(backoff * 2, kMaxBackoff);
      continue;
    }
    backoff = kFirstBackoff;
    if (delivered < batch_) co_await sleep_for(kIdlePoll);
  }
}

std::string export_kind(const std::string& spec) {
  return spec.substr(0, spec.find(':'));
}

std::unique_ptr<ExportSink> export_sink(const std::string& spec, DbPool& pool,
                                        const std::string& secret_name,
                                        const std::string& ca_file) {
  auto colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  std::string where = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "ocsf-ndjson" && !where.empty()) return std::make_unique<NdjsonSink>(where);
  // The operator names the destination (not anyone on the network): loopback and private
  // addresses are fine; https is verified against the system store and --export-ca-file.
  oauth::FetchOptions fetch;
  fetch.allow_loopback = true;
  fetch.allow_private = true;
  fetch.allow_http_loopback = true;
  if (!ca_file.empty()) fetch.tls = client_tls_context_with_ca(ca_file);
  if (kind == "otlp") {
    fetch.allow_http = true;  // a collector next to the gateway; OTLP carries no secret here
    auto url = parse_url(where);
    if (!url || !oauth::check_fetch_url(where, fetch)) {
      throw std::invalid_argument(
          "--export otlp:URL needs the http:// or https:// URL of an OTLP/HTTP logs "
          "endpoint (e.g. https://collector.example:4318/v1/logs)");
    }
    return std::make_unique<OtlpSink>(where, std::move(fetch));
  }
  if (kind == "splunk-hec") {
    auto url = parse_url(where);
    if (!url) {
      throw std::invalid_argument(
          "--export splunk-hec:URL needs the URL of a Splunk HTTP Event Collector (e.g. "
          "https://splunk.example.com:8088/services/collector/event)");
    }
    return std::make_unique<SplunkHecSink>(where, pool, secret_name, std::move(fetch));
  }
  throw std::invalid_argument("--export " + spec +
                              ": expected ocsf-ndjson:FILE (one OCSF event per line), "
                              "otlp:http://HOST:PORT/v1/logs or "
                              "splunk-hec:https://HOST:8088/services/collector/event");
}

}  // namespace warden::mcp
