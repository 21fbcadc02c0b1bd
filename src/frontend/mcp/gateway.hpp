#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "frontend/db/decisions.hpp"
#include "frontend/mcp/call_end.hpp"
#include "frontend/mcp/input_exchange.hpp"
#include "frontend/net/param_headers.hpp"
#include "frontend/base/event.hpp"
#include "frontend/metrics.hpp"
#include "frontend/mcp/session_channel.hpp"
#include "frontend/upstream/upstreams.hpp"

namespace warden::mcp {

// The prefix of the requestState warden-mcp gives a stateless agent whose call waits for its
// input. A retry whose requestState starts with it continues that call; an upstream's own
// requestState (passed through to the agent as it is) that started with it too would name no
// parked call of the agent and be refused: an upstream could only break its own calls.
inline constexpr std::string_view kParkedStatePrefix = "warden-input.";

// Who is asking, as the transport established it.
struct Caller {
  std::string token;  // the agent's task token; used for decisions, never sent upstream
  std::string token_id;
  std::string agent;  // whose upstream sessions this caller's requests use (never shared)
  std::string session_id;
  std::string protocol_version;
  std::string transport;         // "http" or "stdio"
  ToClient to_client;            // the request's way back to the agent; null: none
  std::string dpop_jkt;          // the key of the DPoP proof the request came with; empty: none
  bool url_elicitation = false;  // the client takes URL-mode elicitation (MCP 2025-11-25)
  // MCP 2026-07-28, no session: what an upstream on a session revision asks the agent during a
  // governed call (sampling, elicitation, roots) reaches it as an input_required result, and
  // its retry carries the answers (see InputExchange).
  bool stateless = false;
  std::string traceparent;  // the agent's own W3C traceparent (params._meta), recorded
  // Whether the agent is still there to take the answer (its response stream open); null:
  // unknown. A call held for approval is given up, not forwarded, once the agent has left.
  std::function<bool()> connected{};
  // MCP 2026-07-28: the request's own envelope keys the upstream needs (client capabilities, log
  // level); null for a session (see ForwardContext::agent_envelope).
  json client_envelope{};
};

// The MCP methods, independent of transport. Every call that reaches an upstream was allowed
// by warden.authorize first and is closed with warden.complete; tools are listed through
// warden.visible_tools. Mapping to decisions:
//   tools/call     server__tool        -> authorize(server, tool, arguments)
//   prompts/get    server__prompt      -> authorize(server, prompt, arguments)
//   resources/read uri (routed by the  -> authorize(server, uri, {"uri": uri})
//                  last resources/list)
// Other methods (completion/complete, resources/subscribe and unsubscribe, logging/setLevel,
// resources/templates/list) are relayed without a decision; the transports pass them only
// within an authenticated session. What an upstream sends during a request (progress, logging,
// sampling, elicitation, roots) goes to that request's agent, and the agent's answers back.
class Gateway {
 public:
  Gateway(Executor ex, Decisions& decisions, Upstreams& upstreams, Metrics& metrics,
          std::chrono::seconds call_timeout = std::chrono::seconds(60))
      : ex_(std::move(ex)),
        decisions_(decisions),
        upstreams_(upstreams),
        metrics_(metrics),
        call_timeout_(call_timeout) {}

  json initialize_result(const json& params) const;
  // The response to one JSON-RPC request (already validated as a request).
  awaitable<json> handle_request(const json& request, const Caller& caller);
  // Re-reads warden.upstreams(); keeps the old list when the database cannot be reached.
  awaitable<void> reload_upstreams();
  // Asks warden.dead_tokens about every call in flight and aborts those whose token, chain or
  // agent was revoked: on each revocation notice (a hint only; any login may send one) and
  // after the listener reconnects (notices sent meanwhile never arrived).
  awaitable<void> recheck_in_flight();

  // Tools and prompts of `server` keep their own names (no "server__" prefix); names that are
  // not "<another upstream>__name" are taken as that server's.
  void expose_bare(std::string server) { bare_server_ = std::move(server); }
  // Calls that need a person's approval (issue 15): held up to `wait` for a client that sent a
  // progressToken; the approval page is base + "/approvals/" + id.
  void hold_approvals(std::chrono::seconds wait, std::string base) {
    approval_wait_ = wait;
    approval_base_ = std::move(base);
  }
  // On each approval notice (a hint only: held calls re-read the approval's state).
  void approvals_changed() {
    ++approval_generation_;
    approvals_changed_.notify_all();
  }
  SessionChannels& channels() { return channels_; }
  // The agent cancelled its request `request_id` (notifications/cancelled, or a 2026-07-28
  // client that disconnected): a governed call of it still running is cancelled upstream and
  // completes as "cancelled". False when no such call is in flight.
  bool cancel_request(const Caller& caller, const json& request_id, const std::string& reason);
  // The governed calls forwarded and not yet answered, oldest first: [{call, event_id,
  // chain_id, agent, token_id, server, tool, started_at}] (the console's live view).
  json calls_in_flight() const;
  // Outcomes of answered calls not yet written (queued, being written or waiting to retry):
  // warden-mcp waits for them at SIGTERM before it exits.
  std::size_t outcomes_pending() const { return *outcomes_pending_; }
  // Requests being answered (deciding, held for approval, forwarded): warden-mcp waits for
  // them too at SIGTERM (and at the end of stdin), so that an allowed call is answered and its
  // outcome written rather than cut off.
  std::size_t requests_open() const { return *requests_open_; }
  // Whether anything is left to finish before exiting: a request open or an outcome unwritten.
  bool work_pending() const { return requests_open() + outcomes_pending() > 0; }
  // From SIGTERM (or the end of stdin) on, every request but ping is refused with
  // kDecisionUnavailable ("warden-mcp is shutting down; nothing was forwarded"): nothing new
  // starts while the requests already open finish.
  void close() { closing_ = true; }
  bool closing() const { return closing_; }
  // The refusal of a request met while closing ("warden-mcp is shutting down; " + what), the
  // same over every transport.
  static json shutting_down(const json& id, const std::string& what);
  // Woken whenever a call starts or ends.
  Broadcast& in_flight_changed() { return in_flight_changed_; }
  // MCP 2026-07-28 (SEP-2243): the x-mcp-header declarations of the tool `full_name` names, which
  // a stateless agent's Mcp-Param-* headers must agree with; empty when it declares none or is
  // not known. Learned from the upstream's tools/list, which is asked for it only when the
  // caller's grants could let it call the tool (asking starts its session with the upstream).
  awaitable<std::vector<ParamHeader>> param_headers_of(const std::string& full_name,
                                                       const Caller& caller);

 private:
  // "server__name" (or a bare name of the bare server) -> (server, name).
  bool resolve_name(const std::string& full, std::string& server, std::string& name) const;
  std::string shown_name(const std::string& server, const std::string& name) const;
  // The upstream serving a resource URI (listed, else the bare server or the only one).
  awaitable<std::optional<std::string>> route_uri(const std::string& uri, const Caller& caller);
  awaitable<json> relay_plain(const json& id, const std::string& server, const std::string& method,
                              json params, const Caller& caller);
  awaitable<json> set_level(const json& id, const json& params, const Caller& caller);
  awaitable<json> complete(const json& id, json params, const Caller& caller);
  // Where what `upstream` sends during a request of `caller` goes.
  MessageSink sink_for(const Caller& caller);
  // The ForwardContext::relay_key of the caller's calls: its MCP session (or, without one,
  // its token).
  static std::string relay_key(const Caller& caller) {
    return caller.session_id.empty() ? "token:" + caller.token_id : "session:" + caller.session_id;
  }

  awaitable<json> list_tools(const json& id, const Caller& caller);
  // Drops from `offered` the tools whose x-mcp-header declarations are invalid (a conforming
  // client leaves them out: their headers cannot be derived, so no proxy could route them) and,
  // with `remember` (a listing in 2026-07-28, whose tools carry the marks), keeps the valid ones.
  void learn_param_headers(const std::string& server, json& offered, bool remember);
  awaitable<json> list_merged(const json& id, const std::string& method, const std::string& key,
                              const Caller& caller);
  // An error reply when the session's token is no longer live (revoked, suspended, expired),
  // for requests relayed without a decision of their own. Asked at most once a second per
  // token, and again at once after any revocation notice.
  awaitable<std::optional<json>> refuse_dead_session(const json& id, const Caller& caller);
  // Records a call's outcome (warden.complete) after the agent has its answer: the decision
  // and its audit event committed before forwarding; the outcome need not delay the reply.
  void spawn_outcome(std::string event_id, std::string status, json detail);
  // `pending` is the share of outcomes_pending_ this outcome holds until it is written (or
  // given up); shared, so that a frame destroyed after the gateway at exit touches no member.
  awaitable<void> record_outcome(std::string event_id, std::string status, json detail,
                                 std::shared_ptr<std::size_t> pending);
  awaitable<json> governed_call(const json& id, const std::string& server,
                                const std::string& target, const std::string& method, json params,
                                const json& arguments, const Caller& caller);
  // How a held call's wait for a person ended: state approved (then approval_id is consumed by
  // the next decision), denied, expired, cancelled, timeout; or not held at all (not_held).
  struct Held {
    std::string approval_id, url, state = "not_held";
  };
  awaitable<Held> hold_for_approval(const std::string& event_id, const json& params,
                                    const Caller& caller);
  // Every page of `method`'s `key` list from `server`, asked in the caller's revision.
  awaitable<json> collect(const std::string& server, const std::string& method,
                          const std::string& key, const Caller& caller);

  // Identifies a request of one agent connection: its session (or token) and JSON-RPC id.
  static std::string request_key(const Caller& caller, const json& id) {
    return relay_key(caller) + "#" + id.dump();
  }
  struct InFlight {
    std::string chain_id, agent, token_id, request;
    std::shared_ptr<Pending<CallEnd>> end;
    std::shared_ptr<CancelHook> cancel;
    std::string event_id, server, tool;
    std::chrono::system_clock::time_point started{};
  };
  awaitable<void> forward(std::shared_ptr<Upstream> upstream, std::string method, json params,
                          ForwardContext context, std::shared_ptr<Pending<CallEnd>> end);

  // A governed call forwarded upstream whose outcome the agent has not had yet.
  struct RunningCall {
    std::uint64_t call = 0;  // its in_flight_ entry
    std::shared_ptr<Pending<CallEnd>> end;
    std::shared_ptr<CancelHook> cancel;
    // Stateless agents only: the upstream's requests held for the agent, and where the
    // upstream's notifications go now (the current request's response stream; none while the
    // call waits for the agent's retry).
    std::shared_ptr<InputExchange> input;
    std::shared_ptr<ToClient> to_client;
    std::string event_id, shown, server, method, target, token_id;
    json arguments;  // as decided: a retry must repeat them
    std::chrono::steady_clock::time_point forwarded{}, deadline{};
  };
  // Waits for the call's end (or, for a stateless agent, for the upstream to ask it something:
  // then the call is parked and the agent gets input_required) and answers the agent.
  awaitable<json> await_call(json id, RunningCall running);
  // Asks warden.dead_tokens about `running`'s token before the call goes out; ends it (never
  // sent) when the token, chain or agent is dead, or when the database cannot say.
  awaitable<void> recheck_before_sending(const RunningCall& running);
  // The agent's answer for how the call ended (nullopt: its time ran out); records the outcome.
  json conclude(RunningCall& running, std::optional<CallEnd> end);
  // A call of a stateless agent waiting for the retry that carries its inputResponses, by the
  // requestState the agent was given (bound to the agent's token).
  struct ParkedCall {
    RunningCall running;
    std::optional<json> ended;  // the answer, when the call ended while it waited
  };
  json park(const json& id, RunningCall running);
  // Ends a parked call that ends (revoked, cancelled, answered, timed out) while the agent is away.
  awaitable<void> watch_parked(std::string state);
  awaitable<json> resume_parked(const json& id, const std::string& state, const std::string& server,
                                const std::string& method, const std::string& target,
                                const json& arguments, const json& params, const Caller& caller);
  static MessageSink stateless_sink(std::shared_ptr<InputExchange> input,
                                    std::shared_ptr<ToClient> to_client,
                                    std::shared_ptr<Pending<CallEnd>> end);

  Executor ex_;
  Decisions& decisions_;
  Upstreams& upstreams_;
  Metrics& metrics_;
  std::map<std::string, std::string> resource_servers_;  // uri -> server
  std::map<std::uint64_t, InFlight> in_flight_;
  // How many re-checks of the calls in flight have begun (one per revocation notice, listener
  // reconnect or reload). A call decided while this moved is re-checked before it goes out:
  // that re-check could not see it (it was not in flight yet), and its decision may have read
  // the token just before the revocation committed (revocation takes no lock).
  std::uint64_t rechecks_begun_ = 0;
  std::map<std::string, ParkedCall> parked_;  // requestState ->
  // server -> tool -> its x-mcp-header declarations (see param_headers_of)
  std::map<std::string, std::map<std::string, std::vector<ParamHeader>>> param_headers_;
  std::map<std::string, std::chrono::steady_clock::time_point> param_listed_at_;  // server ->
  std::map<std::string, std::chrono::steady_clock::time_point> live_until_;       // token id ->
  std::uint64_t next_call_ = 0;
  std::shared_ptr<std::size_t> outcomes_pending_ = std::make_shared<std::size_t>(0);
  // Shared for the same reason as outcomes_pending_.
  std::shared_ptr<std::size_t> requests_open_ = std::make_shared<std::size_t>(0);
  bool closing_ = false;
  bool upstreams_loaded_ = false;
  std::string bare_server_;
  SessionChannels channels_;  // a request before the first load loads them itself
  std::chrono::seconds call_timeout_;
  std::chrono::seconds approval_wait_{120};
  std::string approval_base_;
  std::uint64_t approval_generation_ = 0;
  Broadcast approvals_changed_{ex_};
  Broadcast in_flight_changed_{ex_};
};

}  // namespace warden::mcp
