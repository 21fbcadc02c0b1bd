#include "frontend/export/otlp_sink.hpp"

#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace warden::mcp {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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
      attributes.push_back(
          {{"key", "ocsf.class_uid"}, {"value", {{"intValue", std::to_string(ocsf.value("class_uid", 0))}}}});
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
  return {{"resourceLogs", nlohmann::json::array({{{"resource", std::move(resource)},
                                                   {"scopeLogs", nlohmann::json::array({scope})}}})}};
}

awaitable<void> OtlpSink::deliver(const std::vector<ExportedEvent>& events) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(url_.host, url_.port, use_awaitable);
  beast::tcp_stream stream(ex);
  stream.expires_after(std::chrono::seconds(10));
  co_await stream.async_connect(endpoints, use_awaitable);
  http::request<http::string_body> request{http::verb::post, url_.target, 11};
  request.set(http::field::host, url_.host + ":" + url_.port);
  request.set(http::field::content_type, "application/json");
  request.set(http::field::user_agent, "warden-mcp/" WARDEN_VERSION);
  request.body() = otlp_logs_request(events).dump();
  request.prepare_payload();
  request.keep_alive(false);
  co_await http::async_write(stream, request, use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  co_await http::async_read(stream, buffer, parser, use_awaitable);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  unsigned status = parser.get().result_int();
  if (status != 200) {
    throw std::runtime_error("OTLP collector answered " + std::to_string(status));
  }
  auto answer = nlohmann::json::parse(parser.get().body(), nullptr, false);
  if (answer.is_object() && answer.contains("partialSuccess") &&
      answer["partialSuccess"].is_object()) {
    auto rejected = answer["partialSuccess"].value("rejectedLogRecords", nlohmann::json(0));
    // int64 travels as a JSON string in OTLP/JSON.
    std::string count = rejected.is_string() ? rejected.get<std::string>() : rejected.dump();
    if (count != "0") throw std::runtime_error("OTLP collector rejected " + count + " log records");
  }
}

}  // namespace warden::mcp
