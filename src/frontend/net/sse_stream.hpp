#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "frontend/base/asio.hpp"
#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// One Server-Sent Events response body (text/event-stream) being produced: the gateway pushes
// JSON-RPC messages, the HTTP server writes each as one event. Single-threaded io_context.
class SseStream {
 public:
  // What may wait for a client that does not read: past it, the client is taken to be gone.
  static constexpr std::size_t kDefaultMaxQueuedBytes = 16 * 1024 * 1024;

  explicit SseStream(const Executor& ex, std::size_t max_queued_bytes = kDefaultMaxQueuedBytes)
      : timer_(ex, asio::steady_timer::time_point::max()), max_queued_bytes_(max_queued_bytes) {}

  // Queues one message as an event ("event: message", "data: <json>"). Dropped once finished.
  // When the events already waiting reach max_queued_bytes (the client has stopped reading
  // while an upstream goes on sending), the stream is abandoned instead (overflowed): an agent
  // that does not read cannot make the gateway hold an upstream's output without bound. An
  // event of any size (a large result) is still queued while less than that waits.
  void push(const json& message);
  // Abandoned by push because the client did not read: the HTTP server then closes the
  // connection without ending the body, so the client sees a cut stream, not a clean end.
  bool overflowed() const { return overflowed_; }
  // No more events: the HTTP server ends the body after the queued ones.
  void finish();
  // The client went away (a write failed): later pushes are dropped.
  void abandon();
  bool open() const { return !finished_ && !abandoned_; }
  // Called once if the client goes away before the stream finished: for a 2026-07-28 request
  // that is its cancellation. Set, the HTTP server also watches the connection for its end.
  void on_abandon(std::function<void()> hook) { on_abandon_ = std::move(hook); }
  bool watched() const { return static_cast<bool>(on_abandon_); }
  // The response head waits up to this long for the first event, so that a short call's whole
  // answer (head, events, end) leaves in one write, one wake-up of the client instead of three.
  // Zero (the default): the head is sent at once (a GET stream, which may stay quiet for long).
  void hold_head(std::chrono::steady_clock::duration hold) { head_hold_ = hold; }
  std::chrono::steady_clock::duration head_hold() const { return head_hold_; }

  // The next event's text; a comment (": keep-alive") when nothing came for `idle`; nullopt
  // once finished and drained.
  awaitable<std::optional<std::string>> next(std::chrono::steady_clock::duration idle);
  // The next event already queued, without waiting; nullopt when none is.
  std::optional<std::string> take_queued();
  // Finished (or abandoned) with nothing left to write.
  bool drained() const { return events_.empty() && (finished_ || abandoned_); }

 private:
  asio::steady_timer timer_;
  std::deque<std::string> events_;
  std::size_t queued_bytes_ = 0;
  std::size_t max_queued_bytes_;
  bool finished_ = false, abandoned_ = false, overflowed_ = false;
  std::function<void()> on_abandon_;
  std::chrono::steady_clock::duration head_hold_{0};
};

// Reading an event stream: removes each complete event (ended by a blank line) from the front of
// `buffer` and returns its data (data lines joined by newlines; events without data are skipped).
// Incomplete text stays in `buffer` for the next call.
std::vector<std::string> take_sse_data(std::string& buffer);

}  // namespace warden::mcp
