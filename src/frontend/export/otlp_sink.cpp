#include "frontend/export/otlp_sink.hpp"

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "frontend/oauth/fetcher.hpp"

namespace warden::mcp {

nlohmann::json otlp_logs_request(const std::vector<ExportedEvent>& events) {
  nlohmann::json records = nlohmann::json::array();
  for (const auto& e : events) {
    auto ocsf = nlohmann::json::parse(e.ocsf, nullptr, false);
    long long ms = ocsf.is_object() && ocsf.contains("time") && ocsf["time"].is_number_integer()
                       ? ocsf["time"].get<long long>()
                       : 0;
    int severity_id = ocsf.is_object() ? ocsf.value("severity_id", 1) : 1;
    // OCSF severity 1..6 onto OTLP's INFO(9), WARN(13), ERROR(17), FATAL(21).
    int number = severity_id <= 1 ? 9 : severity_id <= 3 ? 13 : severity_id <= 5 ? 17 : 21;
    nlohmann::json attributes = nlohmann::json::array();
    attributes.push_back({{"key", "event.id"}, {"value", {{"stringValue", e.event_id}}}});
    if (ocsf.is_object() && ocsf.contains("class_uid")) {
      attributes.push_back({{"key", "ocsf.class_uid"},
                            {"value", {{"intValue", std::to_string(ocsf.value("class_uid", 0))}}}});
    }
    records.push_back({{"timeUnixNano", std::to_string(ms) + "000000"},
                       {"severityNumber", number},
                       {"body", {{"stringValue", e.ocsf}}},
                       {"attributes", std::move(attributes)}});
  }
  nlohmann::json resource = {
      {"attributes",
       nlohmann::json::array({{{"key", "service.name"}, {"value", {{"stringValue", "warden"}}}}})}};
  nlohmann::json scope = {{"scope", {{"name", "warden.audit"}, {"version", WARDEN_VERSION}}},
                          {"logRecords", std::move(records)}};
  return {
      {"resourceLogs", nlohmann::json::array({{{"resource", std::move(resource)},
                                               {"scopeLogs", nlohmann::json::array({scope})}}})}};
}

namespace {

// A log record's body is the event's OCSF JSON; one that big (arguments are kept redacted but
// not short) goes as a stub naming the event, so no collector limit stalls the export.
constexpr std::size_t kMaxEventBytes = 256 * 1024;
// Request bodies stay under the 4 MiB that OTLP collectors commonly accept.
constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;

// The event without the bulky parts an agent controls (the call's arguments and answer data,
// unmapped fields): who acted, for whom, on which tool, allowed or not all stay, so an agent
// cannot hide a call from the SIEM by padding its arguments. When even that is too big, only
// the event's identity and class remain. Either names the query for the full event.
ExportedEvent stub_of(const ExportedEvent& e, const std::string& why) {
  auto ocsf = nlohmann::json::parse(e.ocsf, nullptr, false);
  const nlohmann::json note = {
      {"stub", why},
      {"bytes", e.ocsf.size()},
      {"full_event", "SELECT * FROM warden.events WHERE event_id = '" + e.event_id + "'"}};
  if (ocsf.is_object()) {
    nlohmann::json slim = ocsf;
    for (const char* part : {"request", "response"}) {
      if (slim.contains("api") && slim["api"].is_object() && slim["api"].contains(part) &&
          slim["api"][part].is_object()) {
        slim["api"][part].erase("data");
      }
    }
    slim["unmapped"] = {{"warden", note}};
    std::string text = slim.dump();
    if (text.size() <= kMaxEventBytes) return {e.event_id, e.at, std::move(text), true};
  }
  nlohmann::json stub = {{"metadata", {{"uid", e.event_id}, {"version", "1.8.0"}}},
                         {"unmapped", {{"warden", note}}}};
  for (const char* keep : {"class_uid", "category_uid", "activity_id", "type_uid", "time",
                           "severity_id", "status_id"}) {
    if (ocsf.is_object() && ocsf.contains(keep)) stub[keep] = ocsf[keep];
  }
  return {e.event_id, e.at, stub.dump(), true};
}

// Collector text for our log: printable ASCII only, at most 300 characters.
std::string loggable(const nlohmann::json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : std::string();
  std::string out;
  for (char c : text.substr(0, 300)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

struct Answer {
  unsigned status = 0;
  std::string body;
};

// Through the fetcher: https verifies the collector's certificate (system store, or
// --export-ca-file's CAs too), redirects are failures, the answer is bounded.
awaitable<Answer> post(const std::string& url, const oauth::FetchOptions& fetch, std::string body) {
  oauth::FetchLimits limits;
  limits.timeout = std::chrono::seconds(30);
  limits.max_body_bytes = 1024 * 1024;
  oauth::FormPost request{std::move(body), "", "application/json"};
  auto answer = co_await oauth::post_form(url, fetch, std::move(request), limits);
  if (!answer) {
    throw std::runtime_error("OTLP collector " + url + ": " +
                             std::string(oauth::to_string(answer.error())));
  }
  co_return Answer{answer.value().status, answer.value().body};
}

// OTLP/HTTP: 400 and 413 are not worth retrying as sent (the spec's non-retryable answers
// that a smaller request can fix); 429, 5xx and the rest are retried whole, with back-off.
bool refused_as_sent(unsigned status) {
  return status == 400 || status == 413;
}

}  // namespace

awaitable<std::size_t> OtlpSink::deliver(const std::vector<ExportedEvent>& events) {
  std::vector<ExportedEvent> sized;
  sized.reserve(events.size());
  for (const auto& e : events) {
    sized.push_back(e.ocsf.size() > kMaxEventBytes ? stub_of(e, "too_big") : e);
  }
  co_return co_await deliver_part(sized);
}

awaitable<std::size_t> OtlpSink::deliver_part(std::vector<ExportedEvent> events) {
  if (events.empty()) co_return 0;
  std::string body = otlp_logs_request(events).dump();
  const std::size_t n = events.size();
  if (body.size() > kMaxBodyBytes && n > 1) co_return co_await deliver_halves(std::move(events));
  Answer answer = co_await post(url_, fetch_, std::move(body));
  if (refused_as_sent(answer.status)) {
    // Find the events the collector will not take: halves until one is alone, then its stub,
    // then give it up (logged and counted; it stays in warden.events).
    if (n > 1) co_return co_await deliver_halves(std::move(events));
    const ExportedEvent& e = events.front();
    if (!e.stub) {
      std::cerr << "warden-mcp: export: the collector answered " << answer.status << " for event "
                << e.event_id << " alone; sending a stub that names it\n";
      std::vector<ExportedEvent> stub;
      stub.push_back(stub_of(e, "refused_by_collector"));
      co_return co_await deliver_part(std::move(stub));
    }
    std::cerr << "warden-mcp: export: the collector refused event " << e.event_id
              << " even as a stub (" << answer.status << "); not retried\n";
    co_return 1;
  }
  if (answer.status != 200) {
    throw std::runtime_error("OTLP collector answered " + std::to_string(answer.status));
  }
  auto parsed = nlohmann::json::parse(answer.body, nullptr, false);
  if (parsed.is_object() && parsed.contains("partialSuccess") &&
      parsed["partialSuccess"].is_object()) {
    auto rejected = parsed["partialSuccess"].value("rejectedLogRecords", nlohmann::json(0));
    // int64 travels as a JSON string in OTLP/JSON. A partial success must not be retried (the
    // collector has the rest): the rejected ones are counted and logged with the message.
    std::string count = rejected.is_string() ? rejected.get<std::string>() : rejected.dump();
    std::size_t refused = 0;
    try {
      refused = std::min<std::size_t>(std::stoull(count), n);
    } catch (const std::exception&) {
      refused = 0;
    }
    if (refused > 0) {
      const nlohmann::json& partial = parsed["partialSuccess"];
      std::cerr << "warden-mcp: export: the collector rejected " << refused << " of " << n
                << " log records: "
                << loggable(partial.contains("errorMessage") ? partial["errorMessage"]
                                                             : nlohmann::json())
                << "\n";
    }
    co_return refused;
  }
  co_return 0;
}

awaitable<std::size_t> OtlpSink::deliver_halves(std::vector<ExportedEvent> events) {
  const auto middle = events.begin() + static_cast<std::ptrdiff_t>(events.size() / 2);
  std::vector<ExportedEvent> first(events.begin(), middle), second(middle, events.end());
  std::size_t refused = co_await deliver_part(std::move(first));
  refused += co_await deliver_part(std::move(second));
  co_return refused;
}

}  // namespace warden::mcp
