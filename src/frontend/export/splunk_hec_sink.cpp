#include "frontend/export/splunk_hec_sink.hpp"

#include <sodium.h>

#include <iostream>
#include <stdexcept>

#include "frontend/oauth/fetcher.hpp"

namespace warden::mcp {

namespace {

// Splunk's default max_content_length is 800 MB; stay far below, and split bigger batches.
constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;

// HEC answers {"text": ..., "code": N}: printable ASCII only, at most 200 characters, for our log.
std::string loggable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

std::string splunk_hec_body(const std::vector<ExportedEvent>& events) {
  std::string body;
  for (const auto& e : events) {
    auto ocsf = nlohmann::json::parse(e.ocsf, nullptr, false);
    nlohmann::json wrapped = {
        {"source", "warden"}, {"sourcetype", "ocsf"}, {"fields", {{"event_id", e.event_id}}}};
    if (ocsf.is_object() && ocsf.contains("time") && ocsf["time"].is_number_integer()) {
      wrapped["time"] = static_cast<double>(ocsf["time"].get<long long>()) / 1000.0;
    }
    wrapped["event"] = ocsf.is_discarded() ? nlohmann::json(e.ocsf) : ocsf;
    body += wrapped.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    body += '\n';
  }
  return body;
}

awaitable<void> SplunkHecSink::read_token() {
  std::vector<Param> params{secret_name_};
  auto rows = co_await pool_.query("SELECT warden.export_secret($1)", params);
  if (rows.empty() || !rows.front()[0] || rows.front()[0]->empty()) {
    throw std::runtime_error("no export secret \"" + secret_name_ +
                             "\": store the HEC token with `warden-mcp secret put --export " +
                             secret_name_ + "`");
  }
  if (!token_.empty()) sodium_memzero(token_.data(), token_.size());
  token_ = std::move(*rows.front()[0]);
}

awaitable<std::size_t> SplunkHecSink::deliver(const std::vector<ExportedEvent>& events) {
  if (token_.empty()) co_await read_token();
  co_return co_await deliver_part(events);
}

awaitable<std::size_t> SplunkHecSink::deliver_part(std::vector<ExportedEvent> events) {
  if (events.empty()) co_return 0;
  const std::size_t n = events.size();
  std::string body = splunk_hec_body(events);
  const bool too_big = body.size() > kMaxBodyBytes && n > 1;
  unsigned status = 0;
  std::string answer_text;
  if (!too_big) {
    oauth::FetchLimits limits;
    limits.timeout = std::chrono::seconds(30);
    limits.max_body_bytes = 64 * 1024;
    oauth::FormPost post{std::move(body), "Splunk " + token_, "application/json"};
    auto answer = co_await oauth::post_form(url_, fetch_, std::move(post), limits);
    if (!answer) {
      throw std::runtime_error("Splunk HEC " + url_ + ": " +
                               std::string(oauth::to_string(answer.error())));
    }
    status = answer.value().status;
    answer_text = answer.value().body;
  }
  if (too_big || (status == 400 && n > 1)) {
    const auto middle = events.begin() + static_cast<std::ptrdiff_t>(n / 2);
    std::vector<ExportedEvent> first(events.begin(), middle), second(middle, events.end());
    std::size_t refused = co_await deliver_part(std::move(first));
    refused += co_await deliver_part(std::move(second));
    co_return refused;
  }
  if (status == 400) {
    std::cerr << "warden-mcp: export: Splunk HEC refused event " << events.front().event_id << " ("
              << loggable(answer_text) << "); not retried\n";
    co_return 1;
  }
  if (status == 401 || status == 403) {
    // A rotated or revoked token: read it again before the retry.
    sodium_memzero(token_.data(), token_.size());
    token_.clear();
    throw std::runtime_error("Splunk HEC refused the token (" + std::to_string(status) +
                             "): store the current one with `warden-mcp secret put --export " +
                             secret_name_ + "`");
  }
  if (status != 200) {
    throw std::runtime_error("Splunk HEC answered " + std::to_string(status) + ": " +
                             loggable(answer_text));
  }
  co_return 0;
}

}  // namespace warden::mcp
