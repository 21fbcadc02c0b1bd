#include "frontend/db/decisions.hpp"

namespace warden::mcp {

namespace {

std::string text(const std::optional<std::string>& v) {
  return v.value_or("");
}

// warden.credential's jsonb ({"kind", "header"|"env", "value", ...}) read once, here; a value
// that names no credential (SQL null, or no "value") is none.
std::optional<Credential> read_credential(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  json c = json::parse(*text);
  auto field = [&c](const char* key) {
    auto it = c.find(key);
    return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!c.is_object() || !c.contains("value") || !c["value"].is_string()) return std::nullopt;
  return Credential{field("kind"), field("header"), field("env"), field("value")};
}

const Row& single_row(const std::vector<Row>& rows, const char* function) {
  if (rows.size() != 1) throw DbError("XX000", std::string(function) + " returned no row");
  return rows.front();
}

}  // namespace

awaitable<std::vector<UpstreamRow>> Decisions::upstreams() {
  std::vector<Param> params;
  auto rows = co_await pool_.query(
      "SELECT name, transport, endpoint, credential_kind, credential_env FROM warden.upstreams()",
      params);
  std::vector<UpstreamRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    out.push_back({text(r[0]), text(r[1]), text(r[2]), text(r[3]), text(r[4])});
  }
  co_return out;
}

awaitable<SessionGrant> Decisions::open_session(const std::string& token, const json& context) {
  std::vector<Param> params{token, context.dump()};
  auto rows = co_await pool_.query(
      "SELECT allowed, reason, event_id, chain_id, token_id, agent, human "
      "FROM warden.open_session($1, $2::jsonb)",
      params);
  const Row& r = single_row(rows, "warden.open_session");
  co_return SessionGrant{text(r[0]) == "t", text(r[1]), text(r[2]), text(r[3]),
                         text(r[4]),        text(r[5]), text(r[6])};
}

awaitable<json> Decisions::visible_tools(const std::string& token, const std::string& server,
                                         const json& tools) {
  std::vector<Param> params{token, server, tools.dump()};
  auto rows = co_await pool_.query("SELECT warden.visible_tools($1, $2, $3::jsonb)", params);
  const Row& r = single_row(rows, "warden.visible_tools");
  co_return r[0] ? json::parse(*r[0]) : json::array();
}

namespace {

const char* const kAuthorize =
    "SELECT allowed, reason, event_id, chain_id, trace_id, agent, human "
    "FROM warden.authorize($1, $2, $3, $4::jsonb, $5::jsonb)";

Decision read_decision(const std::vector<Row>& rows) {
  const Row& r = single_row(rows, "warden.authorize");
  return Decision{text(r[0]) == "t", text(r[1]), text(r[2]), text(r[3]),
                  text(r[4]),        text(r[5]), text(r[6])};
}

}  // namespace

awaitable<Decision> Decisions::authorize(const std::string& token, const std::string& server,
                                         const std::string& tool, const json& arguments,
                                         const json& context) {
  std::vector<Statement> statements{
      Statement{kAuthorize, {token, server, tool, arguments.dump(), context.dump()}}};
  std::vector<StatementResult> results = co_await decide(std::move(statements));
  if (const DbError* e = std::get_if<DbError>(&results[0])) throw *e;
  Decision decision = read_decision(std::get<std::vector<Row>>(results[0]));
  co_return decision;
}

awaitable<std::vector<StatementResult>> Decisions::decide(std::vector<Statement> statements) {
  CompletionBatch::Ride ride = completions_.board();
  if (!ride.empty()) {
    // After the decision, not before: warden.authorize always runs first in its pipeline, so
    // that warden.credential_for_last_decision behind it only ever meets this decision (made
    // in this round trip, and refused as not committed when the ride rolled it back), never
    // an earlier one of this connection.
    // The ride goes in at index 1 and out again below (no copy of the decision's parameters).
    statements.front().joins_next = true;
    std::vector<StatementResult> results;
    std::exception_ptr unavailable;
    try {
      statements.insert(statements.begin() + 1, ride.statement());
      results = co_await pool_.pipeline(statements);
    } catch (const DbUnavailable&) {
      unavailable = std::current_exception();
    } catch (const DbError&) {
      // Refused before anything ran (a statement that does not prepare): as rolled back.
    }
    statements.erase(statements.begin() + 1);
    statements.front().joins_next = false;
    if (unavailable) {
      completions_.unknown(ride, unavailable);
      std::rethrow_exception(unavailable);
    }
    if (results.size() == statements.size() + 1 &&
        std::holds_alternative<std::vector<Row>>(results[0]) &&
        std::holds_alternative<std::vector<Row>>(results[1])) {
      completions_.committed(ride);
      results.erase(results.begin() + 1);
      co_return results;
    }
    // Whatever failed (an outcome, the decision, the commit), nothing of it committed: each
    // outcome is written again alone.
    completions_.rolled_back(ride);
    // The decision raised an error of its own (the outcomes after it were skipped, so they
    // cannot have caused it): that is its answer, the one it would have had alone. Made again
    // only when a stale plan refused it before it ran (the lone path below prepares anew).
    if (results.size() == statements.size() + 1) {
      const auto* own = std::get_if<DbError>(&results[0]);
      const auto* carried = std::get_if<DbError>(&results[1]);
      if (own && !own->stale_plan() && own->sqlstate() != "25P02" && carried &&
          carried->sqlstate() == "25P02") {
        results.erase(results.begin() + 1);
        co_return results;
      }
    }
    // Otherwise an outcome or the commit failed it: the decision goes again alone, and gets
    // exactly the answer it would have had without the outcomes.
  }
  if (statements.size() == 1) {
    // query, not a pipeline of one: it prepares anew and runs once more a statement whose
    // plan an ALTER EXTENSION UPDATE made stale.
    std::vector<StatementResult> results;
    results.emplace_back(co_await pool_.query(statements[0].sql, statements[0].params));
    co_return results;
  }
  co_return co_await pool_.pipeline(statements);
}

awaitable<DecisionWithCredential> Decisions::authorize_with_credential(const std::string& token,
                                                                       const std::string& server,
                                                                       const std::string& tool,
                                                                       const json& arguments,
                                                                       const json& context) {
  std::vector<Statement> statements{
      Statement{kAuthorize, {token, server, tool, arguments.dump(), context.dump()}},
      Statement{"SELECT event_id, credential FROM warden.credential_for_last_decision()", {}}};
  std::vector<StatementResult> results = co_await decide(std::move(statements));
  if (const DbError* e = std::get_if<DbError>(&results[0])) throw *e;
  DecisionWithCredential out;
  out.decision = read_decision(std::get<std::vector<Row>>(results[0]));
  // Only an answer naming this very decision counts. Anything else (an error, no row, another
  // event: a pooler between us and PostgreSQL could have run the two on different backends)
  // leaves the credential to be asked for by event_id, which gives the authoritative answer.
  if (out.decision.allowed) {
    if (const auto* rows = std::get_if<std::vector<Row>>(&results[1]);
        rows && rows->size() == 1 && rows->front()[0] &&
        *rows->front()[0] == out.decision.event_id) {
      out.credential = read_credential(rows->front()[1]);
    }
  }
  co_return out;
}

awaitable<std::optional<Credential>> Decisions::credential(const std::string& event_id) {
  std::vector<Param> params{event_id};
  auto rows = co_await pool_.query("SELECT warden.credential($1::uuid)", params);
  const Row& r = single_row(rows, "warden.credential");
  std::optional<Credential> credential = read_credential(r[0]);
  co_return credential;
}

awaitable<void> Decisions::complete(const std::string& event_id, const std::string& status,
                                    const json& detail, bool may_ride) {
  co_await completions_.complete(event_id, status, detail, may_ride);
}

awaitable<std::optional<std::pair<std::string, std::string>>> Decisions::seal_token(
    const std::string& seal_id) {
  std::vector<Param> params{seal_id.empty() ? Param() : Param(seal_id)};
  auto rows = co_await pool_.query("SELECT id, token FROM warden.seal_token($1::uuid)", params);
  if (rows.empty() || !rows.front()[0] || !rows.front()[1]) co_return std::nullopt;
  co_return std::make_pair(*rows.front()[0], *rows.front()[1]);
}

awaitable<std::string> Decisions::approval_for(const std::string& event_id) {
  std::vector<Param> params{event_id};
  auto rows = co_await pool_.query("SELECT approval_id FROM warden.approval_for($1::uuid)", params);
  co_return rows.empty() ? std::string() : text(rows.front()[0]);
}

awaitable<std::string> Decisions::approval_state(const std::string& approval_id) {
  std::vector<Param> params{approval_id};
  auto rows = co_await pool_.query("SELECT warden.approval_state($1::uuid)", params);
  co_return rows.empty() ? std::string() : text(rows.front()[0]);
}

awaitable<json> Decisions::approval_page(const std::string& session,
                                         const std::string& approval_id) {
  std::vector<Param> params{session, approval_id.empty() ? Param() : Param(approval_id)};
  auto rows = co_await pool_.query("SELECT warden.approval_page($1, $2::uuid)", params);
  const Row& r = single_row(rows, "warden.approval_page");
  co_return r[0] ? json::parse(*r[0]) : json::object();
}

awaitable<json> Decisions::decide_approval(const std::string& session,
                                           const std::string& approval_id, bool approve,
                                           const std::string& note) {
  std::vector<Param> params{session, approval_id, std::string(approve ? "true" : "false"),
                            note.empty() ? Param() : Param(note)};
  auto rows =
      co_await pool_.query("SELECT warden.decide_approval($1, $2::uuid, $3::boolean, $4)", params);
  const Row& r = single_row(rows, "warden.decide_approval");
  co_return r[0] ? json::parse(*r[0]) : json::object();
}

awaitable<std::vector<std::string>> Decisions::callable(const std::string& token,
                                                        const std::string& server,
                                                        const std::vector<std::string>& names) {
  std::vector<Param> params{token, server, json(names).dump()};
  auto rows = co_await pool_.query(
      "SELECT n FROM unnest(warden.callable($1, $2, ARRAY(SELECT "
      "jsonb_array_elements_text($3::jsonb)))) n",
      params);
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(text(r[0]));
  co_return out;
}

namespace {

constexpr const char* kDeadTokens = "SELECT token_id, reason FROM warden.dead_tokens($1::uuid[])";

std::string uuid_array(const std::vector<std::string>& ids) {
  std::string array = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + ids[i];
  return array + "}";
}

std::vector<std::pair<std::string, std::string>> dead_of(const std::vector<Row>& rows) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.emplace_back(text(r[0]), text(r[1]));
  return out;
}

}  // namespace

awaitable<std::vector<std::pair<std::string, std::string>>> Decisions::dead_tokens(
    const std::vector<std::string>& token_ids) {
  std::vector<Param> params{uuid_array(token_ids)};
  auto rows = co_await pool_.query(kDeadTokens, params);
  co_return dead_of(rows);
}

awaitable<std::vector<std::pair<std::string, std::string>>> Decisions::dead_in_flight(
    const std::vector<std::string>& token_ids) {
  std::vector<Param> params{uuid_array(token_ids)};
  DbPool& pool = recheck_pool_ ? *recheck_pool_ : pool_;
  // Once more on a new connection when the first broke: after a failover or a restart the
  // re-check may meet the old server's connection first, and giving up would leave calls
  // revoked meanwhile running. A read: safe to repeat.
  std::vector<Row> rows;
  for (int attempt = 1;; ++attempt) {
    bool broke = false;
    try {
      rows = co_await pool.query(kDeadTokens, params);
    } catch (const DbUnavailable&) {
      if (attempt == 2) throw;
      broke = true;
    }
    if (!broke) break;
  }
  co_return dead_of(rows);
}

}  // namespace warden::mcp
