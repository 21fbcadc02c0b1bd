#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <variant>
#include <vector>

#include "core/audit_arguments.hpp"
#include "core/audit_mac.hpp"
#include "core/bounded_json.hpp"
#include "core/canonical_json.hpp"
#include "core/vended_credential.hpp"
#include "core/approval_condition.hpp"
#include "core/constraints.hpp"
#include "core/control_characters.hpp"
#include "extension/event_writer.hpp"
#include "extension/index_probe.hpp"
#include "extension/keys.hpp"
#include "extension/last_decision.hpp"
#include "extension/pg_pattern_engine.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"
#include "extension/token_keys.hpp"

// warden.authorize: the decision every governed tool call takes. One transaction: verify the
// token, load token, chain and agent state, match live grants for the caller and every agent
// above it in the delegation tree, evaluate argument constraints, consume budget, write the
// audit event. A denial is a result, never an exception, and is audited like an allowance.
// It never returns a credential: warden.credential vends one only once this decision has
// committed (src/extension/credential.cpp).

using namespace warden;
using namespace warden::pg;

namespace {

constexpr size_t kMaxArgumentDepth = 64;
constexpr size_t kMaxArgumentBytes = 16 * 1024 * 1024;
constexpr size_t kAuditStringBytes = 2048;

struct Decision {
  bool allowed = false;
  std::string reason;
  std::string detail;  // human-readable: the argument, grant or state behind the reason
  std::optional<std::string> chain_id, token_id, trace_id, agent, human;
  std::optional<std::string> grant_id;
  // approval_required: the approval asked for; allowed: the approval consumed, and the
  // approval_granted event the call hangs under in the audit graph.
  std::optional<std::string> approval_id, approval_event;
  bool observed = false;  // allowed only because the agent is in observe mode
  // A denial observe mode must not soften: the token's own tool list and every delegating
  // agent's grants bound a delegation whatever mode the sub-agent is in.
  bool enforced = false;
  std::string event_id = time_ordered_uuid();
};

struct Grant {
  std::string grant_id;
  std::string agent_id;
  nlohmann::json constraints;
  std::optional<int64_t> max_calls;
  std::optional<nlohmann::json> approval;  // the grant's approval policy (see warden.grant)
};

// Scope decisions (grants, constraints, budgets, tool changes) may be observed instead of
// enforced; identity and revocation decisions never are.
bool observable(const std::string& reason) {
  return reason == "no_grant" || reason == "constraint_failed" || reason == "budget_exhausted" ||
         reason == "tool_changed";
}

// 8-4-4-4-12 hex digits: what uuid_datum accepts without raising an error.
bool is_canonical_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool tool_list_covers(const std::vector<std::string>& patterns, const std::string& server,
                      const std::string& tool) {
  const std::string full = server + "/" + tool;
  for (const auto& p : patterns) {
    if (p == full || p == server + "/*") return true;
  }
  return false;
}

class Authorizer {
 public:
  Authorizer(std::optional<std::string> token, std::optional<std::string> server,
             std::optional<std::string> tool, const std::optional<std::string>& arguments_text,
             std::optional<std::string> context_text)
      : token_(std::move(token)),
        server_(std::move(server)),
        tool_(std::move(tool)),
        arguments_text_(arguments_text.value_or("{}")),
        context_text_(std::move(context_text)) {}

  Decision decide() {
    Decision d;
    decide_into(d);
    if (!d.allowed && !d.reason.empty() && !d.enforced && observe_mode_ && observable(d.reason)) {
      d.allowed = true;
      d.observed = true;
      d.reason = "observe:" + d.reason;
    }
    if (d.allowed && !d.observed) d.reason = "granted";
    return d;
  }

  // Whether the front-end asks for the call's credential with the decision (see
  // LastDecision::with_decision); read from the context with the other keys, once.
  bool credential_with_decision() const { return credential_with_decision_; }

  // base64url SHA-256 of the call's canonical arguments (empty when they did not parse), and
  // the agents of its chain from the first to the caller: what a transaction token states.
  std::string arguments_sha256() const {
    return arguments_ ? sha256_base64url(canonical_json(*arguments_)) : std::string();
  }
  std::vector<std::string> actors(const std::string& caller) const {
    std::vector<std::string> names;
    for (size_t i = 0; i < ancestors_.size(); ++i) {
      names.push_back(i < ancestor_names_.size() ? ancestor_names_[i] : ancestors_[i]);
    }
    names.push_back(caller);
    return names;
  }

  // The call's server and tool as asked (set whenever a call was allowed).
  std::string server() const { return server_.value_or(""); }
  std::string tool() const { return tool_.value_or(""); }

  std::string audit(const Decision& d) {
    EventRow row;
    row.event_id = d.event_id;
    row.kind = "call";
    row.chain_id = d.chain_id;
    row.token_id = d.token_id;
    row.agent = d.agent;
    row.human = d.human;
    row.server = server_;
    row.tool = tool_;
    row.allowed = d.allowed;
    row.reason = d.reason;
    row.trace_id = d.trace_id;
    row.parent_id = d.approval_event;
    const KeyRing& ring = require_key_ring();
    if (arguments_) {
      row.arguments_json = audit_copy_of_arguments(*arguments_, kAuditStringBytes).dump();
      row.arguments_digest =
          arguments_digest(ring.subkey(Subkey::kAuditMac), canonical_json(*arguments_));
    } else {
      row.arguments_digest = arguments_digest(ring.subkey(Subkey::kAuditMac), arguments_text_);
    }
    nlohmann::json detail = nlohmann::json::object();
    if (!d.detail.empty()) detail["detail"] = d.detail;
    if (d.grant_id) detail["grant_id"] = *d.grant_id;
    if (d.approval_id) detail["approval_id"] = *d.approval_id;
    if (d.observed) detail["mode"] = "observe";
    if (context_text_) {
      auto context = parse_json_bounded(*context_text_, 16, 64 * 1024);
      if (context && context->is_object())
        detail["context"] = audit_copy_of_arguments(*context, 512);
    }
    row.detail_json = detail.dump();
    return write_event(row);
  }

 private:
  void decide_into(Decision& d) {
    if (!token_) return deny(d, "token_invalid", "no token was presented");
    // A transaction snapshot (REPEATABLE READ, SERIALIZABLE) may predate a revocation that has
    // committed since; only a statement snapshot guarantees the next call sees every kill.
    if (IsolationUsesXactSnapshot()) {
      return deny(d, "invalid_request",
                  "warden.authorize must run in READ COMMITTED: a transaction snapshot could "
                  "predate a revocation");
    }
    if (!server_ || !tool_ || server_->empty() || tool_->empty()) {
      return deny(d, "invalid_request", "server and tool must be named");
    }
    // Names are compared as whole byte strings everywhere (libpq, C strings, the upstream) and
    // reach audit rows and logs: a control character could make them differ or forge lines.
    if (has_control_characters(*server_) || has_control_characters(*tool_)) {
      return deny(d, "invalid_request", "server and tool names must not hold control characters");
    }
    arguments_ = parse_json_bounded(arguments_text_, kMaxArgumentDepth, kMaxArgumentBytes);
    // The front-end could not pass the arguments as jsonb (a \u0000 escape, say): the call is
    // still decided and audited, and denied.
    if (context_text_) {
      auto context = parse_json_bounded(*context_text_, 16, 64 * 1024);
      if (context && context->is_object() && context->contains("arguments_error")) {
        arguments_invalid_ = true;
      }
      // The front-end asks for the call's credential with the decision (mint_with_decision).
      if (context && context->is_object() && context->contains("credential") &&
          (*context)["credential"] == "with_decision") {
        credential_with_decision_ = true;
      }
      // Put there by the front-end once it has verified the call's DPoP proof (RFC 9449).
      if (context && context->is_object() && context->contains("dpop_jkt") &&
          (*context)["dpop_jkt"].is_string()) {
        presented_jkt_ = (*context)["dpop_jkt"].get<std::string>();
      }
      // An approval the caller names: only that one may be consumed (any matching one otherwise).
      if (context && context->is_object() && context->contains("approval_id") &&
          (*context)["approval_id"].is_string() &&
          is_canonical_uuid((*context)["approval_id"].get<std::string>())) {
        named_approval_ = (*context)["approval_id"].get<std::string>();
      }
    }
    auto opened = open_task_token(*token_);
    if (auto* refusal = std::get_if<TokenRefusal>(&opened)) {
      if (*refusal == TokenRefusal::expired)
        return deny(d, "token_expired", "the token has expired");
      return deny(d, "token_invalid", std::string(to_string(*refusal)));
    }
    const TaskClaims& claims = std::get<TaskClaims>(opened);
    if (!load_state(d, claims)) return deny(d, "token_invalid", "unknown_token");
    // A sender-constrained token is only good with a proof from the key it was bound to: a
    // copy of it (from a log, say) alone is refused.
    if (token_jkt_ && (!presented_jkt_ || *presented_jkt_ != *token_jkt_)) {
      return deny(d, "token_invalid", "dpop_proof_required");
    }
    // Most general first: a killed agent or chain also revokes its tokens, and the reason
    // should name what was killed.
    if (agent_status_ != "active")
      return deny(d, "agent_suspended", "agent " + *d.agent + " is " + agent_status_);
    if (suspended_ancestors_ > 0)
      return deny(d, "agent_suspended", "an agent above this one in the chain is suspended");
    // An offboarded person (warden.revoke_human): every chain they originated is dead, also one
    // that was started while the revocation was committing.
    if (human_revoked_) return deny(d, "human_revoked", "the person was offboarded");
    if (chain_revoked_) return deny(d, "chain_revoked", "the chain was revoked");
    if (token_revoked_) return deny(d, "token_revoked", "the token was revoked");
    if (chain_expired_) return deny(d, "token_expired", "the chain has ended");
    if (ancestor_token_revoked_) {
      return deny(d, "token_revoked", "a token this one was delegated from was revoked");
    }
    if (arguments_invalid_) {
      d.enforced = true;
      return deny(d, "invalid_arguments", "the arguments cannot be represented as JSON text");
    }
    if (!arguments_ || !arguments_->is_object()) {
      return deny(d, "invalid_arguments",
                  "arguments must be a JSON object (at most 64 levels deep, 16 MiB)");
    }
    if (!server_known_) return deny(d, "unknown_server", "no upstream server named " + *server_);
    if (tool_changed_) {
      return deny(d, "tool_changed",
                  "the definition of " + *server_ + "/" + *tool_ +
                      " changed and awaits warden.approve_tool");
    }
    if (token_tools_ && !tool_list_covers(*token_tools_, *server_, *tool_)) {
      d.enforced = true;
      return deny(d, "no_grant", "the token does not include " + *server_ + "/" + *tool_);
    }
    match_grants(d, claims);
  }

  void deny(Decision& d, const char* reason, std::string detail) {
    d.allowed = false;
    d.reason = reason;
    d.detail = std::move(detail);
  }

  // Everything a decision reads, by key: token, chain, agent, person, server, tool and the
  // live grants that could apply, for the caller and every agent above it. Index probes, not a
  // SQL statement: the executor's start-up for a join of seven tables and two subqueries cost
  // more than the reads themselves (index_probe.hpp). Each probe sees the statement's snapshot,
  // as the read-only statement did: every revocation committed before the call began.
  bool load_state(Decision& d, const TaskClaims& claims) {
    const TimestampTz now = GetCurrentTransactionStartTimestamp();  // SQL's now()
    const Datum token_id = uuid_datum(claims.token_id);
    const Datum chain_id = uuid_datum(claims.chain_id);
    const Datum agent_id = uuid_datum(claims.agent_id);

    IndexProbe tokens("tokens", "tokens_pkey");
    if (!tokens.find_one({token_id}) || !tokens.uuid_equals("chain_id", chain_id) ||
        !tokens.uuid_equals("agent_id", agent_id)) {
      tokens.end();
      return false;
    }
    token_revoked_ = !tokens.is_null("revoked_at");
    token_tools_ = tokens.strings("tools");
    token_jkt_ = tokens.text("dpop_jkt");
    ancestors_ = tokens.strings("ancestor_agents").value_or(std::vector<std::string>());
    // The tokens this one was delegated from (none for a chain's first token): revoking one
    // revokes everything delegated from it.
    for (const std::string& id :
         tokens.strings("ancestor_tokens").value_or(std::vector<std::string>())) {
      if (tokens.find_one({uuid_datum(id)}) && !tokens.is_null("revoked_at")) {
        ancestor_token_revoked_ = true;
        break;
      }
    }
    tokens.end();

    IndexProbe chains("chains", "chains_pkey");
    if (!chains.find_one({chain_id})) {
      chains.end();
      return false;
    }
    chain_revoked_ = !chains.is_null("revoked_at");
    chain_expired_ = *chains.timestamptz("expires_at") <= now;
    std::optional<std::string> trace_id = chains.text("trace_id");
    const std::string human_id = *chains.uuid("human_id");
    chains.end();

    IndexProbe humans("humans", "humans_pkey");
    if (!humans.find_one({uuid_datum(human_id)})) {
      humans.end();
      return false;
    }
    human_revoked_ = !humans.is_null("revoked_at");
    std::optional<std::string> human = humans.text("subject");
    humans.end();

    IndexProbe agents("agents", "agents_pkey");
    if (!agents.find_one({agent_id})) {
      agents.end();
      return false;
    }
    agent_status_ = *agents.text("status");
    observe_mode_ = agents.text("mode") == "observe";
    std::optional<std::string> agent = agents.text("name");
    // The agents above the caller, by name, and whether any is not active (one that cannot be
    // found counts as suspended: fail closed).
    for (const std::string& id : ancestors_) {
      if (agents.find_one({uuid_datum(id)})) {
        ancestor_names_.push_back(*agents.text("name"));
        if (agents.text("status") != "active") ++suspended_ancestors_;
      } else {
        ancestor_names_.push_back(id);
        ++suspended_ancestors_;
      }
    }
    agents.end();

    // Named in the decision only once every row was found (an unknown token names nothing).
    d.token_id = claims.token_id;
    d.chain_id = claims.chain_id;
    d.trace_id = std::move(trace_id);
    d.human = std::move(human);
    d.agent = std::move(agent);
    load_server_and_tool();
    load_grants(chain_id, claims.agent_id, now);
    return true;
  }

  void load_server_and_tool() {
    IndexProbe servers("servers", "servers_name_key");
    server_known_ = servers.find_one({text_datum(*server_)});
    const std::optional<std::string> server_id =
        server_known_ ? servers.uuid("server_id") : std::nullopt;
    servers.end();
    if (!server_id) return;
    IndexProbe tools("tools", "tools_pkey");
    if (tools.find_one({uuid_datum(*server_id), text_datum(*tool_)})) {
      tool_changed_ = tools.bytes("digest") != tools.bytes("approved_digest");
    }
    tools.end();
  }

  // The live grants on this server for this tool (or every tool), of the caller and of every
  // agent above it, for any chain or this one: those with a call budget last, then oldest first.
  void load_grants(Datum chain_id, const std::string& caller, TimestampTz now) {
    struct Loaded {
      Grant grant;
      TimestampTz created_at;
    };
    std::vector<Loaded> loaded;
    // Each agent once, though delegation may name one twice (A to B to A): its grants are read
    // once, as the SQL's "agent_id = ANY (...)" did.
    std::vector<std::string> agents = ancestors_;
    agents.push_back(caller);
    std::sort(agents.begin(), agents.end());
    agents.erase(std::unique(agents.begin(), agents.end()), agents.end());
    IndexProbe grants("grants", "grants_live");
    const Datum server = text_datum(*server_);
    for (const std::string& agent : agents) {
      grants.find({uuid_datum(agent), server});
      while (grants.next()) {
        if (!grants.is_null("revoked_at") || *grants.timestamptz("expires_at") <= now) continue;
        const std::string tool = *grants.text("tool");
        if (tool != *tool_ && tool != "*") continue;
        if (!grants.is_null("chain_id") && !grants.uuid_equals("chain_id", chain_id)) continue;
        // jsonb text that nlohmann cannot read (a number beyond a double, say) leaves the grant
        // out: the call is then denied and audited like any other, never allowed by it.
        nlohmann::json constraints =
            nlohmann::json::parse(*grants.jsonb_text("constraints"), nullptr, false);
        if (constraints.is_discarded()) continue;
        Grant g{*grants.uuid("grant_id"), agent, std::move(constraints),
                grants.integer("max_calls"), std::nullopt};
        if (auto approval = grants.jsonb_text("approval")) {
          nlohmann::json policy = nlohmann::json::parse(*approval, nullptr, false);
          if (policy.is_discarded()) continue;
          if (policy.is_object()) g.approval = std::move(policy);
        }
        loaded.push_back({std::move(g), *grants.timestamptz("created_at")});
      }
    }
    grants.end();
    std::stable_sort(loaded.begin(), loaded.end(), [](const Loaded& a, const Loaded& b) {
      const bool a_budget = a.grant.max_calls.has_value();
      const bool b_budget = b.grant.max_calls.has_value();
      return a_budget != b_budget ? b_budget : a.created_at < b.created_at;
    });
    for (Loaded& l : loaded) grants_.push_back(std::move(l.grant));
  }

  void match_grants(Decision& d, const TaskClaims& claims) {
    PgPatternEngine patterns;
    // Every agent above the caller must itself be allowed this call: delegation only narrows.
    // That includes a person's yes: when an agent above may make this call only with approval,
    // so may the agents it delegates to (under that agent's approval policy).
    const Grant* ancestor_policy = nullptr;
    for (size_t i = 0; i < ancestors_.size(); ++i) {
      std::string why;
      VerdictKind why_kind = VerdictKind::allowed;
      const Grant* needs = nullptr;
      if (!passing_grant(ancestors_[i], patterns, why, why_kind, needs)) {
        const std::string& name = i < ancestor_names_.size() ? ancestor_names_[i] : ancestors_[i];
        d.enforced = true;
        return deny(d, why.empty() ? "no_grant" : denial_reason(why_kind),
                    "delegating agent " + name +
                        (why.empty() ? " holds no grant for this call" : ": " + why));
      }
      if (needs && !ancestor_policy) ancestor_policy = needs;
    }
    std::string why;
    VerdictKind why_kind = VerdictKind::allowed;
    const std::string full = *server_ + "/" + *tool_;
    bool any_constraints_passed = false;
    const Grant* needs_approval = nullptr;
    const Grant* approval_policy = nullptr;
    for (const Grant& g : grants_) {
      if (g.agent_id != claims.agent_id) continue;
      Verdict v = evaluate_constraints(g.constraints, *arguments_, patterns);
      if (!v.allowed) {
        remember_refusal(v, why, why_kind);
        continue;
      }
      any_constraints_passed = true;
      // A grant that needs no person for this call wins over one that does. One policy decides
      // who approves: the delegating agent's when one above needs a person for this call (the
      // nearest the chain's start), else the caller's own; the caller's own approvers cannot
      // stand in for the ones its delegator's grant names.
      const bool own = approval_needed(g, patterns);
      if (own || ancestor_policy) {
        if (!needs_approval) {
          needs_approval = &g;
          approval_policy = ancestor_policy ? ancestor_policy : &g;
        }
        continue;
      }
      if (g.max_calls && !consume_budget(g.grant_id)) continue;
      d.allowed = true;
      d.grant_id = g.grant_id;
      return;
    }
    if (needs_approval) return settle_approval(d, *needs_approval, *approval_policy, claims);
    if (any_constraints_passed) {
      return deny(d, "budget_exhausted", "every matching grant has used its call budget");
    }
    if (!why.empty()) return deny(d, denial_reason(why_kind), why);
    deny(d, "no_grant", "no live grant for " + full);
  }

  bool approval_needed(const Grant& g, PatternEngine& patterns) {
    if (!g.approval) return false;
    const nlohmann::json& p = *g.approval;
    if (p.contains("required") && p["required"] == true) return true;
    // "when": the same predicates as argument constraints; approval is needed when they hold.
    // Fails closed: only a clean failure of the condition skips the person (approval_condition).
    if (p.contains("when")) return approval_condition_holds(p["when"], *arguments_, patterns);
    return false;
  }

  // The call needs a person's yes: consume an approval of exactly this call (token, server,
  // tool, canonical arguments, policy grant) if one was given, or ask for one (the open one for
  // the same call, if any). `g` is the caller's grant (its budget, the decision's grant);
  // `policy` the grant whose approval policy applies (approvers, ttl): `g` itself, or the grant
  // of an agent above that needs approval for this call. Approval comes before budget; a call
  // the budget refuses leaves its approval unused.
  void settle_approval(Decision& d, const Grant& g, const Grant& policy, const TaskClaims& claims) {
    const KeyRing& ring = require_key_ring();
    const Mac digest =
        arguments_digest(ring.subkey(Subkey::kAuditMac), canonical_json(*arguments_));
    const Datum digest_datum = bytea_datum(std::vector<uint8_t>(digest.begin(), digest.end()));
    static Statement take(
        "UPDATE warden.approvals SET state = 'used', used_at = now(), used_event = $6 "
        "WHERE token_id = $1 AND server = $2 AND tool = $3 AND arguments_digest = $4 "
        "AND grant_id = $5 AND state = 'approved' AND expires_at > now() "
        "AND ($7::uuid IS NULL OR approval_id = $7) "
        "RETURNING approval_id, decision_event",
        {UUIDOID, TEXTOID, TEXTOID, BYTEAOID, UUIDOID, UUIDOID, UUIDOID});
    const bool named = named_approval_.has_value();
    if (take.run({uuid_datum(claims.token_id), text_datum(*server_), text_datum(*tool_),
                  digest_datum, uuid_datum(policy.grant_id), uuid_datum(d.event_id),
                  named ? uuid_datum(*named_approval_) : Datum(0)},
                 named ? "       " : "      n") == 1) {
      const std::string approval_id = *take.text(0, "approval_id");
      const std::optional<std::string> approval_event = take.text(0, "decision_event");
      if (g.max_calls && !consume_budget(g.grant_id)) {
        static Statement untake(
            "UPDATE warden.approvals SET state = 'approved', used_at = NULL, used_event = NULL "
            "WHERE approval_id = $1",
            {UUIDOID});
        untake.run({uuid_datum(approval_id)});
        deny(d, "budget_exhausted", "every matching grant has used its call budget");
        // Observe mode must not soften this one: the approval stays unused, so an observed
        // "allowed" here would let one approval serve any number of calls.
        d.enforced = true;
        return;
      }
      d.allowed = true;
      d.grant_id = g.grant_id;
      d.approval_id = approval_id;
      d.approval_event = approval_event;
      return;
    }
    // An open approval past its time is expired first, so that the call can ask anew.
    static Statement expire(
        "UPDATE warden.approvals SET state = 'expired' "
        "WHERE token_id = $1 AND server = $2 AND tool = $3 AND arguments_digest = $4 "
        "AND state IN ('pending', 'approved') AND expires_at <= now()",
        {UUIDOID, TEXTOID, TEXTOID, BYTEAOID});
    expire.run(
        {uuid_datum(claims.token_id), text_datum(*server_), text_datum(*tool_), digest_datum});
    static Statement ask(
        "INSERT INTO warden.approvals (event_id, grant_id, token_id, chain_id, server, tool, "
        "  arguments_digest, expires_at) "
        "SELECT $6, g.grant_id, $1, $7, $2, $3, $4, "
        "  now() + coalesce(g.approval->>'ttl', '10 minutes')::interval "
        "FROM warden.grants g WHERE g.grant_id = $5 "
        "ON CONFLICT (token_id, server, tool, arguments_digest) "
        "  WHERE state IN ('pending', 'approved') "
        "DO NOTHING RETURNING approval_id",
        {UUIDOID, TEXTOID, TEXTOID, BYTEAOID, UUIDOID, UUIDOID, UUIDOID});
    std::optional<std::string> id;
    if (ask.run({uuid_datum(claims.token_id), text_datum(*server_), text_datum(*tool_),
                 digest_datum, uuid_datum(policy.grant_id), uuid_datum(d.event_id),
                 uuid_datum(claims.chain_id)}) == 1) {
      id = ask.text(0, "approval_id");
    } else {
      static Statement open(
          "SELECT approval_id FROM warden.approvals "
          "WHERE token_id = $1 AND server = $2 AND tool = $3 AND arguments_digest = $4 "
          "AND state IN ('pending', 'approved')",
          {UUIDOID, TEXTOID, TEXTOID, BYTEAOID});
      if (open.run({uuid_datum(claims.token_id), text_datum(*server_), text_datum(*tool_),
                    digest_datum}) == 1) {
        id = open.text(0, "approval_id");
      }
    }
    d.enforced = true;
    d.approval_id = id;
    deny(
        d, "approval_required",
        "a person must approve this exact call" + (id ? " (approval " + *id + ")" : std::string()));
  }

  // Budgets are the caller's to spend; an ancestor only has to be allowed the call at all.
  // `needs_approval`: set to the agent's grant whose approval policy applies when every grant
  // of it that allows the call needs a person for it (left null when one needs none).
  bool passing_grant(const std::string& agent_id, PatternEngine& patterns, std::string& why,
                     VerdictKind& why_kind, const Grant*& needs_approval) {
    const Grant* first_needing = nullptr;
    for (const Grant& g : grants_) {
      if (g.agent_id != agent_id) continue;
      Verdict v = evaluate_constraints(g.constraints, *arguments_, patterns);
      if (!v.allowed) {
        remember_refusal(v, why, why_kind);
        continue;
      }
      if (!approval_needed(g, patterns)) {
        needs_approval = nullptr;
        return true;
      }
      if (!first_needing) first_needing = &g;
    }
    needs_approval = first_needing;
    return first_needing != nullptr;
  }

  // The refusal to report when several grants refuse: the first, unless a later one found the
  // arguments themselves invalid (a number beyond +-2^53, say), which outranks it.
  static void remember_refusal(const Verdict& v, std::string& why, VerdictKind& why_kind) {
    const bool outranks =
        v.kind == VerdictKind::invalid_arguments && why_kind != VerdictKind::invalid_arguments;
    if (why.empty() || outranks) {
      why = v.message();
      why_kind = v.kind;
    }
  }

  static const char* denial_reason(VerdictKind kind) {
    return kind == VerdictKind::invalid_arguments ? "invalid_arguments" : "constraint_failed";
  }

  // Exact under concurrency: the row lock serialises racers and the loser re-reads calls_used.
  bool consume_budget(const std::string& grant_id) {
    static Statement spend(
        "UPDATE warden.grants SET calls_used = calls_used + 1 WHERE grant_id = $1 AND calls_used < "
        "max_calls",
        {UUIDOID});
    return spend.run({uuid_datum(grant_id)}) == 1;
  }

  std::optional<std::string> token_, server_, tool_;
  std::string arguments_text_;
  std::optional<std::string> context_text_;
  std::optional<nlohmann::json> arguments_;
  bool human_revoked_ = false;
  bool credential_with_decision_ = false;
  bool token_revoked_ = false, chain_revoked_ = false, chain_expired_ = false,
       observe_mode_ = false;
  bool server_known_ = false, tool_changed_ = false;
  bool ancestor_token_revoked_ = false, arguments_invalid_ = false;
  int64_t suspended_ancestors_ = 0;
  std::string agent_status_;
  std::optional<std::vector<std::string>> token_tools_;
  std::optional<std::string> token_jkt_, presented_jkt_, named_approval_;
  std::vector<std::string> ancestors_;
  std::vector<std::string> ancestor_names_;  // same order as ancestors_
  std::vector<Grant> grants_;
};

std::optional<std::string> jsonb_arg_text(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  char* s =
      pg_call([&] { return DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(n))); });
  return std::string(s);
}

}  // namespace

WARDEN_SQL_FUNCTION(warden_authorize) {
  // Before anything can fail: a denied or failed decision leaves no earlier one behind for
  // warden.credential_for_last_decision.
  forget_last_decision();
  Authorizer authorizer(arg_text(fcinfo, 0), arg_text(fcinfo, 1), arg_text(fcinfo, 2),
                        jsonb_arg_text(fcinfo, 3), jsonb_arg_text(fcinfo, 4));
  spi_connect();
  Decision d = authorizer.decide();
  const TimestampTz decided_at = GetCurrentTimestamp();
  std::string event_id = authorizer.audit(d);
  if (d.allowed) {
    LastDecision last;
    last.event_id = event_id;
    last.server = authorizer.server();
    last.tool = authorizer.tool();
    last.agent = d.agent.value_or("");
    last.human = d.human.value_or("");
    last.chain_id = d.chain_id.value_or("");
    last.token_id = d.token_id.value_or("");
    last.observed = d.observed;
    last.xid = GetCurrentTransactionIdIfAny();  // assigned by the event's INSERT
    last.decided_at = decided_at;
    if (authorizer.credential_with_decision()) {
      last.arguments_sha256 = authorizer.arguments_sha256();
      last.actors = authorizer.actors(last.agent);
      mint_with_decision(last);
    }
    remember_last_decision(std::move(last));
  }
  spi_finish();
  // Columns: allowed, reason, event_id, chain_id, trace_id, agent, human, credential (always
  // NULL since 0.2.0; kept so that the result type is unchanged).
  auto opt_text = [](const std::optional<std::string>& v) { return v ? text_datum(*v) : Datum(0); };
  return composite_result(
      fcinfo,
      {BoolGetDatum(d.allowed), text_datum(d.reason), uuid_datum(event_id),
       d.chain_id ? uuid_datum(*d.chain_id) : Datum(0), opt_text(d.trace_id), opt_text(d.agent),
       opt_text(d.human), Datum(0)},
      {false, false, false, !d.chain_id, !d.trace_id, !d.agent, !d.human, true});
}
