// Gateway: what an upstream on a session revision asks an MCP 2026-07-28 agent in the middle of
// a governed call (sampling, elicitation, roots). The agent has no session to be asked on, so
// the call is parked: the agent gets an input_required result naming the requests and a
// requestState of warden-mcp's own, and its retry with inputResponses sends the answers to the
// upstream's held requests and waits on for the call's end (or the next requests). The call
// runs once, on its one decision; a revocation, cancel or timeout while it is parked ends it as
// it ends any call in flight (the retry then gets that ending).
#include <chrono>

#include "frontend/base/random.hpp"
#include "frontend/mcp/gateway.hpp"

namespace warden::mcp {

namespace {

using Clock = std::chrono::steady_clock;

// How long the upstream's other requests of the same step may take to join the first one in
// one input_required round (an upstream asking several things at once sends them together).
constexpr auto kGatherRequests = std::chrono::milliseconds(20);
// How long an answer that came while the agent was away is kept for its retry after the call's
// own deadline (a retry that comes later learns only that the state is unknown).
constexpr auto kKeepEnded = std::chrono::seconds(30);
// Calls of one token that may wait for its input at once (each holds an upstream request open).
constexpr std::size_t kMaxParkedPerToken = 16;

json invalid_retry(const json& id, const std::string& why) {
  return rpc_error(id, rpc_code::kInvalidParams, why);
}

}  // namespace

MessageSink Gateway::stateless_sink(std::shared_ptr<InputExchange> input,
                                    std::shared_ptr<ToClient> to_client,
                                    std::shared_ptr<Pending<CallEnd>> end) {
  return [input = std::move(input), to_client = std::move(to_client), end = std::move(end)](
             const json& message, Answer answer) {
    if (!answer) {  // a notification: to the request the agent is waiting on now, if any
      if (*to_client) (*to_client)(message);
      return;
    }
    if (input->ask(message, std::move(answer))) end->wake();
  };
}

awaitable<json> Gateway::await_call(json id, RunningCall running) {
  for (;;) {
    if (running.input && running.input->has_unshown() && !running.end->ready()) {
      asio::steady_timer gather(ex_);
      gather.expires_after(kGatherRequests);
      boost::system::error_code ec;
      co_await gather.async_wait(asio::redirect_error(use_awaitable, ec));
      if (!running.end->ready()) co_return park(id, std::move(running));
    }
    auto left = running.deadline - Clock::now();
    bool ended = co_await running.end->settle(std::max<Clock::duration>(left, Clock::duration{}));
    if (ended || Clock::now() >= running.deadline) break;
    // Woken without an end: the upstream asked the agent something (or a retry took over).
  }
  json answer = conclude(running, running.end->take());
  co_return reply_from_answer(id, answer);
}

json Gateway::park(const json& id, RunningCall running) {
  std::string state = std::string(kParkedStatePrefix) + random_hex(16);
  std::size_t waiting = 0;
  for (const auto& [key, parked] : parked_) {
    if (parked.running.token_id == running.token_id && !parked.ended) ++waiting;
  }
  std::optional<json> result;
  if (waiting < kMaxParkedPerToken) result = running.input->input_required(state);
  if (!result) {
    const std::string why =
        waiting >= kMaxParkedPerToken
            ? "this agent already has " + std::to_string(kMaxParkedPerToken) +
                  " calls waiting for its input"
            : "upstream " + running.server + " asked the agent for input more than " +
                  std::to_string(InputExchange::kMaxRounds) + " times in one call";
    if (running.cancel->cancel) {
      running.cancel->cancel("warden: " + why);
    } else {
      running.cancel->ended_before_sent = why;
    }
    running.end->set(UpstreamFailed{why});
    json answer = conclude(running, running.end->take());
    return reply_from_answer(id, answer);
  }
  // The response this input_required goes out on ends with it: notifications that come while
  // the agent prepares its answers have nowhere to go, and no cancel or disconnect of a later
  // request that happens to reuse its JSON-RPC id may end the call (only the retry names it).
  *running.to_client = nullptr;
  if (auto flight = in_flight_.find(running.call); flight != in_flight_.end()) {
    flight->second.request.clear();
  }
  parked_.emplace(state, ParkedCall{std::move(running), std::nullopt});
  asio::co_spawn(ex_, watch_parked(state), asio::detached);
  return rpc_result(id, std::move(*result));
}

awaitable<void> Gateway::watch_parked(std::string state) {
  auto it = parked_.find(state);
  if (it == parked_.end()) co_return;
  auto end = it->second.running.end;
  const auto deadline = it->second.running.deadline;
  // Woken also when the upstream asks more while the agent is away (held for its retry): only
  // the call's end or its deadline conclude it here.
  while (!end->ready() && Clock::now() < deadline) {
    co_await end->settle(std::max<Clock::duration>(deadline - Clock::now(), Clock::duration{}));
    if (!parked_.count(state)) co_return;  // the agent's retry took the call (and woke this wait)
  }
  it = parked_.find(state);
  if (it == parked_.end()) co_return;
  // Ended while the agent was away (revoked, cancelled, failed, or its time ran out): recorded
  // now, and the answer kept a while for the retry.
  it->second.ended = conclude(it->second.running, end->take());
  asio::steady_timer keep(ex_);
  keep.expires_after(kKeepEnded);
  boost::system::error_code ec;
  co_await keep.async_wait(asio::redirect_error(use_awaitable, ec));
  parked_.erase(state);
}

awaitable<json> Gateway::resume_parked(const json& id, const std::string& state,
                                       const std::string& server, const std::string& method,
                                       const std::string& target, const json& arguments,
                                       const json& params, const Caller& caller) {
  auto it = parked_.find(state);
  // Another agent's (or token's) state is as unknown as a made-up one: nothing is said about it.
  if (it == parked_.end() || it->second.running.token_id != caller.token_id) {
    co_return invalid_retry(id,
                            "params.requestState names no call of this agent that waits for "
                            "input (unknown, expired or already continued)");
  }
  ParkedCall& parked = it->second;
  if (parked.running.server != server || parked.running.method != method ||
      parked.running.target != target || parked.running.arguments != arguments) {
    co_return invalid_retry(id,
                            "a retry with inputResponses must repeat the request that asked for "
                            "input (the same method, name and arguments)");
  }
  if (parked.ended) {
    json answer = std::move(*parked.ended);
    parked_.erase(it);
    co_return reply_from_answer(id, answer);
  }
  auto responses = params.find("inputResponses");
  try {
    parked.running.input->answer(responses == params.end() ? json::object() : *responses);
  } catch (const std::invalid_argument& e) {
    // Nothing was answered: the call still waits for a well-formed retry.
    co_return invalid_retry(id, e.what());
  }
  RunningCall running = std::move(parked.running);
  parked_.erase(it);
  running.end->wake();  // the watcher lets go of the call
  *running.to_client = caller.to_client;
  // This request now stands for the call: its client's cancel or disconnect cancels it.
  if (auto flight = in_flight_.find(running.call); flight != in_flight_.end()) {
    flight->second.request = request_key(caller, id);
  }
  co_return co_await await_call(id, std::move(running));
}

}  // namespace warden::mcp
