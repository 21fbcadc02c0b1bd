#include "frontend/net/sse_stream.hpp"

#include <utility>

namespace warden::mcp {

void SseStream::push(const json& message) {
  if (!open()) return;
  // dump() escapes control characters, so the data never spans lines.
  std::string event = "event: message\ndata: " + message.dump() + "\n\n";
  if (queued_bytes_ >= max_queued_bytes_) {
    overflowed_ = true;
    abandon();
    return;
  }
  queued_bytes_ += event.size();
  events_.push_back(std::move(event));
  timer_.cancel();
}

void SseStream::finish() {
  finished_ = true;
  on_abandon_ = nullptr;
  timer_.cancel();
}

void SseStream::abandon() {
  bool was_open = open();
  abandoned_ = true;
  events_.clear();
  queued_bytes_ = 0;
  timer_.cancel();
  if (was_open && on_abandon_) std::exchange(on_abandon_, nullptr)();
}

awaitable<std::optional<std::string>> SseStream::next(std::chrono::steady_clock::duration idle) {
  if (events_.empty() && !finished_ && !abandoned_) {
    timer_.expires_after(idle);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  if (!events_.empty()) {
    std::string event = std::move(events_.front());
    events_.pop_front();
    queued_bytes_ -= event.size();
    co_return event;
  }
  if (finished_ || abandoned_) co_return std::nullopt;
  co_return std::string(": keep-alive\n\n");
}

std::optional<std::string> SseStream::take_queued() {
  if (events_.empty()) return std::nullopt;
  std::string event = std::move(events_.front());
  events_.pop_front();
  queued_bytes_ -= event.size();
  return event;
}

std::vector<std::string> take_sse_data(std::string& buffer) {
  std::vector<std::string> out;
  std::string data;
  bool has_data = false;
  std::size_t pos = 0, consumed = 0;
  for (;;) {
    std::size_t end = buffer.find('\n', pos);
    if (end == std::string::npos) break;
    std::string_view line(buffer.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    if (line.empty()) {  // end of one event
      if (has_data) out.push_back(std::move(data));
      data.clear();
      has_data = false;
      consumed = pos;
    } else if (line.substr(0, 5) == "data:") {
      std::string_view value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (has_data) data += '\n';
      data += value;
      has_data = true;
    }
  }
  buffer.erase(0, consumed);
  return out;
}

}  // namespace warden::mcp
