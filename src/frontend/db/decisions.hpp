#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "frontend/db/completion_batch.hpp"
#include "frontend/db/db_pool.hpp"
#include "frontend/mcp/json_rpc.hpp"
#include "frontend/upstream/credential.hpp"

namespace warden::mcp {

struct UpstreamRow {
  std::string name, transport, endpoint, credential_kind, credential_env;
};

struct SessionGrant {
  bool allowed = false;
  std::string reason, event_id, chain_id, token_id, agent, human;
};

struct Decision {
  bool allowed = false;
  std::string reason, event_id, chain_id, trace_id, agent, human;
};

// A decision and, when it was asked for in the same round trip, the credential for it. The outer
// optional is empty when the credential is still to be asked for with Decisions::credential (not
// prefetched, or the answer was not for this decision); the inner one is empty when the server
// takes none.
struct DecisionWithCredential {
  Decision decision;
  std::optional<std::optional<Credential>> credential;
};

// The warden SQL functions the proxy role may call, typed. Tokens and arguments travel as
// query parameters, never in SQL text.
class Decisions {
 public:
  explicit Decisions(DbPool& pool) : pool_(pool), completions_(pool.executor(), pool) {}
  // dead_in_flight asks through `pool` (its own connection, see main.cpp): a kill must not
  // queue behind the decisions of a busy gateway for a connection of the shared pool.
  void recheck_through(DbPool& pool) { recheck_pool_ = &pool; }
  // Call outcomes written in one transaction, at most (see CompletionBatch).
  void batch_completions(std::size_t max) { completions_.set_max_batch(max); }
  // How long an outcome waits for the next decision to carry it (see CompletionBatch).
  void linger_completions(std::chrono::microseconds linger) { completions_.set_linger(linger); }

  awaitable<std::vector<UpstreamRow>> upstreams();
  awaitable<SessionGrant> open_session(const std::string& token, const json& context);
  awaitable<json> visible_tools(const std::string& token, const std::string& server,
                                const json& tools);
  awaitable<Decision> authorize(const std::string& token, const std::string& server,
                                const std::string& tool, const json& arguments,
                                const json& context);
  // authorize, and in the same round trip (pipeline mode, each in its own transaction) the
  // credential for the call if it is allowed: warden.credential_for_last_decision.
  awaitable<DecisionWithCredential> authorize_with_credential(const std::string& token,
                                                              const std::string& server,
                                                              const std::string& tool,
                                                              const json& arguments,
                                                              const json& context);
  // The upstream credential for a committed, allowed decision: nullopt when the server takes
  // none. Throws DbError when warden refuses it (revoked since, too old, already vended, no
  // secret stored).
  awaitable<std::optional<Credential>> credential(const std::string& event_id);
  // may_ride false: not carried in a decision's transaction (a retry; see CompletionBatch).
  awaitable<void> complete(const std::string& event_id, const std::string& status,
                           const json& detail, bool may_ride = true);
  // Of these names (prompts, resource URIs or templates of `server`), those the token may use.
  awaitable<std::vector<std::string>> callable(const std::string& token, const std::string& server,
                                               const std::vector<std::string>& names);
  // Of these token ids, those that are revoked (or whose chain or agent is), with the reason.
  awaitable<std::vector<std::pair<std::string, std::string>>> dead_tokens(
      const std::vector<std::string>& token_ids);
  // The same for the tokens of calls in flight, after a revocation notice: asked through
  // recheck_through's pool (when there is one), and once more on a new connection when the
  // first broke.
  awaitable<std::vector<std::pair<std::string, std::string>>> dead_in_flight(
      const std::vector<std::string>& token_ids);
  // A stored audit seal (empty seal_id: the newest) as {id, token}; nullopt when none.
  awaitable<std::optional<std::pair<std::string, std::string>>> seal_token(
      const std::string& seal_id);
  // Approvals (src/sql/functions/approvals.sql). The approval a decision with reason
  // approval_required asked for; empty when none.
  awaitable<std::string> approval_for(const std::string& event_id);
  // pending, approved, denied, expired, used or cancelled; empty when unknown.
  awaitable<std::string> approval_state(const std::string& approval_id);
  // The approval page's view (warden.approval_page) for an approver's session: one approval,
  // or (empty id) the pending ones. Throws DbError (28000: no such session).
  awaitable<json> approval_page(const std::string& session, const std::string& approval_id);
  awaitable<json> decide_approval(const std::string& session, const std::string& approval_id,
                                  bool approve, const std::string& note);
  awaitable<bool> ping() { return pool_.ping(); }

 private:
  // A decision's statements in one round trip, with the outcomes waiting run right after the
  // first (warden.authorize) in its transaction; the results are the decision's own, as if it
  // had gone alone.
  awaitable<std::vector<StatementResult>> decide(std::vector<Statement> statements);

  DbPool& pool_;
  DbPool* recheck_pool_ = nullptr;
  CompletionBatch completions_;  // warden.complete, batched under load
};

}  // namespace warden::mcp
