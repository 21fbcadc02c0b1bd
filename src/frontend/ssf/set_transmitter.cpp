#include "frontend/ssf/set_transmitter.hpp"

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "frontend/oauth/fetcher.hpp"

namespace warden::ssf {

namespace {

constexpr auto kPoll = std::chrono::milliseconds(200);
constexpr auto kFirstBackoff = std::chrono::milliseconds(200);
constexpr auto kMaxBackoff = std::chrono::seconds(60);
constexpr std::size_t kBatch = 100;

awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  mcp::asio::steady_timer timer(co_await mcp::asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await timer.async_wait(mcp::asio::redirect_error(mcp::use_awaitable, ec));
}

// Receiver text for our log: printable ASCII only, at most 200 characters.
std::string loggable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

awaitable<std::size_t> SetTransmitter::deliver(const Target& target) {
  std::vector<mcp::Param> params{target.stream_id, std::to_string(kBatch)};
  auto rows = co_await pool_.query(
      "SELECT event_id::text, at::text, set_jwt FROM warden.ssf_batch($1::uuid, $2::int)", params);
  if (rows.empty()) co_return 0;
  std::size_t pushed = 0;
  for (const auto& row : rows) {
    if (!row[2]) continue;
    oauth::FormPost post{*row[2], target.authorization, "application/secevent+jwt"};
    auto answer = co_await oauth::post_form(target.endpoint_url, fetch_, post);
    if (!answer) {
      throw std::runtime_error("push to " + target.endpoint_url +
                               " failed: " + std::string(oauth::to_string(answer.error())));
    }
    const unsigned status = answer.value().status;
    if (status == 400) {
      // RFC 8935 2.3: the receiver will not take this SET as sent; do not stall behind it.
      ++metrics_.refused;
      std::cerr << "warden-mcp: ssf stream " << target.stream_id << " refused SET " << *row[0]
                << ": " << loggable(answer.value().body) << "\n";
      continue;
    }
    if (status < 200 || status >= 300) {
      throw std::runtime_error("push to " + target.endpoint_url + " answered " +
                               std::to_string(status));
    }
    ++pushed;
  }
  std::vector<mcp::Param> advance{"ssf." + target.stream_id, rows.back()[1], rows.back()[0],
                                  std::to_string(pushed)};
  co_await pool_.query(
      "SELECT warden.advance_export_cursor($1, $2::timestamptz, $3::uuid, $4::int)", advance);
  metrics_.delivered += pushed;
  co_return rows.size();
}

awaitable<void> SetTransmitter::run() {
  for (;;) {
    bool more = false;
    try {
      const std::vector<mcp::Param> none;
      auto rows = co_await pool_.query(
          "SELECT stream_id::text, endpoint_url, authorization_header FROM "
          "warden.ssf_push_targets()",
          none);
      const auto now = std::chrono::steady_clock::now();
      for (const auto& row : rows) {
        Target target{row[0].value_or(""), row[1].value_or(""), row[2].value_or("")};
        Backoff& b = backoff_[target.stream_id];
        if (now < b.until) continue;
        try {
          const std::size_t passed = co_await deliver(target);
          b.delay = std::chrono::milliseconds(0);
          if (passed >= kBatch) more = true;
        } catch (const std::exception& e) {
          ++metrics_.failures;
          b.delay = std::min<std::chrono::milliseconds>(
              b.delay.count() == 0 ? kFirstBackoff : b.delay * 2, kMaxBackoff);
          b.until = std::chrono::steady_clock::now() + b.delay;
          std::cerr << "warden-mcp: ssf stream " << target.stream_id << " (retrying in "
                    << b.delay.count() << " ms): " << loggable(e.what()) << "\n";
        }
      }
    } catch (const std::exception& e) {
      ++metrics_.failures;
      std::cerr << "warden-mcp: ssf transmitter: " << loggable(e.what()) << "\n";
    }
    if (!more) co_await sleep_for(kPoll);
  }
}

}  // namespace warden::ssf
