#include "frontend/upstream/stdio_upstream.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <vector>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "frontend/upstream/handshake.hpp"

namespace warden::mcp {

namespace {

constexpr auto kInitializeTimeout = std::chrono::seconds(30);
constexpr auto kRequestTimeout = std::chrono::seconds(300);
constexpr std::size_t kMaxLine = 64 * 1024 * 1024;

}  // namespace

StdioUpstream::StdioUpstream(const Executor& ex, std::string name, StdioAllowlist::Launch launch,
                             std::optional<StdioUser> user)
    : ex_(ex),
      name_(std::move(name)),
      launch_(std::move(launch)),
      user_(std::move(user)),
      state_changed_(ex) {}

StdioUpstream::~StdioUpstream() {
  stop_child();
}

void StdioUpstream::shutdown() {
  shut_down_ = true;
  stop_child();
  state_ = State::kStopped;
  state_changed_.notify_all();
}

void StdioUpstream::stop_child() {
  ++generation_;
  for (auto* d : {&to_child_, &from_child_}) {
    if (*d) {
      boost::system::error_code ec;
      (*d)->close(ec);
      d->reset();
    }
  }
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);  // the child leads its own process group (and what it starts)
    pid_ = -1;
  }
  home_.reset();
  for (auto& [id, p] : pending_) p->set(ChildExited{});
  pending_.clear();
  outbox_.clear();
}

awaitable<void> StdioUpstream::start(std::optional<std::string> env_entry) {
  state_ = State::kStarting;
  int to[2], from[2];
  if (::pipe2(to, O_CLOEXEC) != 0) throw UpstreamError("cannot create a pipe");
  if (::pipe2(from, O_CLOEXEC) != 0) {
    ::close(to[0]);
    ::close(to[1]);
    throw UpstreamError("cannot create a pipe");
  }
  pid_t pid = -1;
  try {
    auto home = std::make_unique<ChildHome>(user_);
    pid = launch_child(ChildLaunch{launch_.program, launch_.argv,
                                   clean_child_environment(home->path(), env_entry), home->path(),
                                   user_, to[0], from[1]});
    home_ = std::move(home);
  } catch (const std::exception& e) {
    for (int fd : {to[0], to[1], from[0], from[1]}) ::close(fd);
    state_ = State::kStopped;
    state_changed_.notify_all();
    throw UpstreamError("cannot start upstream " + name_ + ": " + e.what());
  }
  ::close(to[0]);
  ::close(from[1]);
  pid_ = pid;
  env_entry_ = std::move(env_entry);
  to_child_ = std::make_shared<asio::posix::stream_descriptor>(ex_, to[1]);
  from_child_ = std::make_shared<asio::posix::stream_descriptor>(ex_, from[0]);
  asio::co_spawn(ex_, read_loop(shared_from_this(), generation_), asio::detached);

  // A child serves one agent (each agent gets its own, see Upstreams): what it asks of its own
  // (sampling, elicitation, roots) goes to that agent's most recent call in flight, as over
  // HTTP, so the handshake declares the same capabilities as the HTTP upstream does.
  HandshakeTransport transport{
      [this](json params) -> awaitable<json> {
        json answer;
        try {
          answer = co_await exchange("initialize", std::move(params));
        } catch (const UpstreamError&) {
          answer = json{{"error", {{"message", "no answer to initialize"}}}};
        }
        co_return answer;
      },
      [this](json initialized, const std::string&) -> awaitable<void> {
        send(initialized.dump());
        co_return;
      }};
  std::string failure;
  try {
    co_await handshake(name_, ServerRequests::kRelayedToAgent, std::move(transport));
  } catch (const UpstreamError& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    stop_child();
    state_ = State::kStopped;
    state_changed_.notify_all();
    throw UpstreamError(failure);
  }
  state_ = State::kReady;
  state_changed_.notify_all();
}

awaitable<void> StdioUpstream::ensure_ready(const std::optional<Credential>& credential) {
  std::optional<std::string> wanted;
  // Only a credential meant for the environment (a vaulted secret with "env") reaches a stdio
  // child; per-call header credentials (jwt, paseto) have no place on a pipe.
  if (credential && !credential->env.empty()) wanted = credential->env + "=" + credential->value;
  for (;;) {
    if (shut_down_) throw UpstreamError("upstream " + name_ + " was removed");
    if (state_ == State::kStarting) {
      co_await state_changed_.wait(kInitializeTimeout);
      continue;
    }
    // A new credential value needs a new child; without one, any running child will do.
    if (state_ == State::kReady && (!wanted || wanted == env_entry_)) co_return;
    if (state_ == State::kReady) {
      stop_child();
      state_ = State::kStopped;
    }
    co_await start(wanted ? wanted : env_entry_);
  }
}

awaitable<json> StdioUpstream::request(const std::string& method, json params,
                                       const ForwardContext& context) {
  co_await ensure_ready(context.credential);
  // Progress notifications name the request's progress token: they reach its caller, with
  // the token the caller chose. The child sees a token of the gateway's, unique to this
  // request, so that two sessions choosing the same token never receive each other's
  // progress. Other notifications (logging) name no call and are not passed through; the
  // child's own requests are (see on_message).
  std::string progress;
  if (params.contains("_meta") && params["_meta"].is_object() &&
      params["_meta"].contains("progressToken")) {
    json chosen = params["_meta"]["progressToken"];
    std::string ours = "warden-progress-" + std::to_string(next_progress_++);
    params["_meta"]["progressToken"] = ours;
    if (context.on_message) {
      progress = json(ours).dump();
      progress_sinks_[progress] = [sink = context.on_message, chosen](const json& message,
                                                                      Answer answer) {
        json relayed = message;
        relayed["params"]["progressToken"] = chosen;
        sink(relayed, std::move(answer));
      };
    }
  }
  // While this request runs, the child's own requests may go to its caller.
  std::uint64_t call = next_call_++;
  if (context.on_message) call_sinks_[call] = {context.relay_key, context.on_message};
  json answer;
  try {
    answer = co_await exchange(method, std::move(params), context.cancel);
  } catch (...) {
    progress_sinks_.erase(progress);
    call_sinks_.erase(call);
    throw;
  }
  progress_sinks_.erase(progress);
  call_sinks_.erase(call);
  co_return answer;
}

awaitable<json> StdioUpstream::exchange(const std::string& method, json params,
                                        const std::shared_ptr<CancelHook>& hook) {
  if (hook && !hook->ended_before_sent.empty()) {
    throw UpstreamError("not sent: " + hook->ended_before_sent);
  }
  std::int64_t id = next_id_++;
  if (hook) {
    hook->cancel = [weak = weak_from_this(), id](const std::string& reason) {
      if (auto self = weak.lock()) {
        self->send(json{{"jsonrpc", "2.0"},
                        {"method", "notifications/cancelled"},
                        {"params", {{"requestId", id}, {"reason", reason}}}}
                       .dump());
      }
    };
  }
  auto pending = std::make_shared<Pending<ChildReply>>(ex_);
  pending_[id] = pending;
  send(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}
           .dump());
  auto timeout = method == "initialize" ? kInitializeTimeout : kRequestTimeout;
  std::optional<ChildReply> reply = co_await pending->wait(timeout);
  pending_.erase(id);
  if (!reply) throw UpstreamError("upstream " + name_ + " did not answer " + method + " in time");
  const json* response = std::get_if<json>(&*reply);
  if (!response) throw UpstreamError("upstream " + name_ + " exited");
  json out = json::object();
  if (response->contains("result")) {
    out["result"] = (*response)["result"];
  } else {
    out["error"] = response->value("error", json::object());
  }
  co_return out;
}

void StdioUpstream::send(std::string line) {
  line += '\n';
  outbox_.push_back(std::move(line));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(ex_, write_loop(shared_from_this()), asio::detached);
  }
}

awaitable<void> StdioUpstream::write_loop(std::shared_ptr<StdioUpstream> self) {
  (void)self;  // keeps this object alive while the loop runs
  auto pipe = to_child_;
  while (!outbox_.empty() && pipe && pipe->is_open()) {
    std::string line = std::move(outbox_.front());
    outbox_.pop_front();
    boost::system::error_code ec;
    co_await asio::async_write(*pipe, asio::buffer(line), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
  }
  writing_ = false;
}

awaitable<void> StdioUpstream::read_loop(std::shared_ptr<StdioUpstream> self,
                                         std::uint64_t generation) {
  (void)self;
  auto pipe = from_child_;
  asio::streambuf buffer(kMaxLine);
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = co_await asio::async_read_until(*pipe, buffer, '\n',
                                                    asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    std::string line(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + n);
    buffer.consume(n);
    if (generation != generation_) co_return;
    on_message(line);
  }
  if (generation != generation_) co_return;
  std::cerr << "warden-mcp: upstream " << name_ << " exited; restarting on next use\n";
  stop_child();
  state_ = State::kStopped;
  state_changed_.notify_all();
}

bool StdioUpstream::one_caller_in_flight() const {
  for (const auto& [call, sink] : call_sinks_) {
    if (sink.first != call_sinks_.begin()->second.first) return false;
  }
  return true;
}

void StdioUpstream::on_message(const std::string& line) {
  json message = parse_message(line);
  if (message.is_discarded() || !message.is_object()) return;
  MessageKind kind = classify(message);
  if (kind == MessageKind::kResponse) {
    if (!message["id"].is_number_integer()) return;
    auto it = pending_.find(message["id"].get<std::int64_t>());
    if (it != pending_.end()) it->second->set(std::move(message));
  } else if (kind == MessageKind::kNotification && message["method"] == "notifications/progress") {
    const json& params = message.value("params", json::object());
    auto it = params.is_object() && params.contains("progressToken")
                  ? progress_sinks_.find(params["progressToken"].dump())
                  : progress_sinks_.end();
    if (it != progress_sinks_.end()) it->second(message, nullptr);
  } else if (kind == MessageKind::kRequest) {
    if (message["method"] == "ping") {
      send(rpc_result(message["id"], json::object()).dump());
    } else if (call_sinks_.empty()) {
      send(rpc_error(message["id"], rpc_code::kMethodNotFound,
                     "warden-mcp has no call in flight to pass this request to")
               .dump());
    } else if (!one_caller_in_flight()) {
      // The child is this agent's, but its calls in flight come from more than one of the
      // agent's sessions (e.g. two chains, two people): a request naming no call cannot be
      // given to either without risking the wrong person answering it.
      send(rpc_error(message["id"], rpc_code::kInvalidRequest,
                     "warden-mcp has calls of more than one session in flight on this server "
                     "and cannot tell which one this request belongs to; send it while only one "
                     "session's calls are in flight")
               .dump());
    } else {
      // The child's own request (sampling, elicitation, roots): to the newest call in flight,
      // all of which are one session's. The answer goes back with the child's id,
      // to this same child only (a restarted child never gets an answer meant for the last).
      json child_id = message["id"];
      std::uint64_t generation = generation_;
      Answer answer = [weak = weak_from_this(), child_id, generation](json response) {
        auto self = weak.lock();
        if (!self || self->generation_ != generation) return;
        response["id"] = child_id;
        self->send(response.dump());
      };
      call_sinks_.rbegin()->second.second(message, std::move(answer));
    }
  }
}

}  // namespace warden::mcp
