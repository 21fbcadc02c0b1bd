#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <sys/types.h>

#include "frontend/base/event.hpp"
#include "frontend/upstream/stdio_allowlist.hpp"
#include "frontend/upstream/stdio_child.hpp"
#include "frontend/upstream/upstream.hpp"

namespace warden::mcp {

// How this host runs stdio upstreams: only commands its allowlist admits (none without one),
// as `user` when set, each child with a clean environment and a private HOME.
struct StdioPolicy {
  std::optional<StdioAllowlist> allowlist;
  std::string allowlist_path;
  std::optional<StdioUser> user;
  ProgramResolver resolve;
};

// An upstream executed directly (execve of an allowlisted program, never a shell), speaking
// newline-delimited JSON-RPC on its stdin/stdout (stderr is inherited). Started on first use,
// initialized with the MCP handshake, and restarted after it exits. A credential with an `env` is
// put in the child's environment; when its value changes the child is restarted with it.
class StdioUpstream : public Upstream, public std::enable_shared_from_this<StdioUpstream> {
 public:
  StdioUpstream(const Executor& ex, std::string name, StdioAllowlist::Launch launch,
                std::optional<StdioUser> user);
  ~StdioUpstream() override;

  awaitable<json> request(const std::string& method, json params,
                          const ForwardContext& context) override;
  void shutdown() override;

 private:
  enum class State { kStopped, kStarting, kReady };

  awaitable<void> ensure_ready(const std::optional<Credential>& credential);
  awaitable<void> start(std::optional<std::string> env_entry);
  awaitable<json> exchange(const std::string& method, json params,
                           const std::shared_ptr<CancelHook>& hook = nullptr);
  void send(std::string line);
  awaitable<void> write_loop(std::shared_ptr<StdioUpstream> self);
  awaitable<void> read_loop(std::shared_ptr<StdioUpstream> self, std::uint64_t generation);
  void on_message(const std::string& line);
  bool one_caller_in_flight() const;
  void stop_child();

  Executor ex_;
  std::string name_;
  StdioAllowlist::Launch launch_;
  std::optional<StdioUser> user_;
  std::unique_ptr<ChildHome> home_;  // the running child's HOME
  State state_ = State::kStopped;
  Broadcast state_changed_;
  std::uint64_t generation_ = 0;
  pid_t pid_ = -1;
  std::optional<std::string> env_entry_;  // "NAME=value" the child was started with
  std::shared_ptr<asio::posix::stream_descriptor> to_child_, from_child_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool shut_down_ = false;
  std::int64_t next_id_ = 1;
  // What a request waiting on the child gets: the child's response, or word that it exited.
  struct ChildExited {};
  using ChildReply = std::variant<json, ChildExited>;
  std::map<std::int64_t, std::shared_ptr<Pending<ChildReply>>> pending_;
  // Progress tokens are the gateway's own ("warden-progress-N"), one per forwarded request:
  // agents of different sessions choose the same tokens (often their request ids).
  std::map<std::string, MessageSink> progress_sinks_;  // progress token (JSON text) -> caller
  std::uint64_t next_progress_ = 1;
  // The callers of the requests in flight (relay key, sink), oldest first: the child's own
  // requests go to the newest, and only while all of them have one relay key.
  std::map<std::uint64_t, std::pair<std::string, MessageSink>> call_sinks_;
  std::uint64_t next_call_ = 1;
};

}  // namespace warden::mcp
