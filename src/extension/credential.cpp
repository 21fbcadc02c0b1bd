#include <nlohmann/json.hpp>

#include <string>

#include "core/error.hpp"
#include "extension/event_writer.hpp"
#include "extension/last_decision.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"
#include "extension/vault.hpp"

// warden.credential(event_id): the upstream credential for one allowed call, vended only when
// the decision that allowed it has committed. authorize never returns a credential, so a
// caller that rolls its decision back (ROLLBACK, ROLLBACK PREPARED, a failing statement) never
// holds one: no credential leaves the database without a durable audit event and a spent
// budget behind it. Each decision vends at most once, within 60 seconds, while its token,
// chain and agents are still live; the vend is recorded as a child event (never the value).
//
// warden-mcp asks for the credential with the decision (authorize's context {"credential":
// "with_decision"}): it is then minted and its vend recorded inside the decision's transaction,
// and warden.credential_for_last_decision hands it out once the commit log says that
// transaction committed. A credentialed call then costs one transaction and one round trip.

using namespace warden;
using namespace warden::pg;

namespace {

constexpr int kVendWindowSeconds = 60;

[[noreturn]] void refuse(const char* sqlstate, const std::string& message,
                         const std::string& hint = {}) {
  throw Error(sqlstate, message, {}, hint);
}

struct CallEvent {
  std::string event_id, kind, server, tool, agent, human, chain_id, token_id, server_id;
  std::string credential_descriptor;
  bool allowed = false, observed = false, fresh = false, vended = false;
  std::optional<std::string> dead_reason;
  TransactionId xmin = InvalidTransactionId;
};

// Racing vends of one decision serialise here; the loser then sees the winner's vend event.
void serialise_vends_of(const std::string& event_id) {
  static Statement serialise(
      "SELECT pg_catalog.pg_advisory_xact_lock(7, pg_catalog.hashtext($1::text))", {UUIDOID});
  serialise.run({uuid_datum(event_id)});
}

std::optional<CallEvent> load_call(const std::string& event_id) {
  serialise_vends_of(event_id);
  static Statement load(
      "SELECT e.kind, e.allowed, e.xmin::text AS xmin, "
      "e.at > pg_catalog.now() - $2::int * interval '1 second' AS fresh, "
      "coalesce(e.detail->>'mode' = 'observe', false) AS observed, e.server, e.tool, e.agent, "
      "e.human, e.chain_id, e.token_id, s.server_id, s.credential::text AS credential, "
      "EXISTS (SELECT FROM warden.events v WHERE v.parent_id = e.event_id "
      "        AND v.kind = 'credential_vended') AS vended, "
      // The same liveness rule warden-mcp asks about its calls in flight: one definition.
      "(SELECT d.reason FROM warden.dead_tokens(ARRAY[e.token_id]) d) AS dead_reason "
      "FROM warden.events e LEFT JOIN warden.servers s ON s.name = e.server "
      "WHERE e.event_id = $1",
      {UUIDOID, INT4OID});
  if (load.run({uuid_datum(event_id), Int32GetDatum(kVendWindowSeconds)}, {}, false, 2) != 1) {
    return std::nullopt;
  }
  CallEvent e;
  e.event_id = event_id;
  e.kind = load.text(0, "kind").value_or("");
  e.allowed = load.boolean(0, "allowed").value_or(false);
  e.xmin = static_cast<TransactionId>(std::stoul(load.text(0, "xmin").value_or("0")));
  e.fresh = load.boolean(0, "fresh").value_or(false);
  e.observed = load.boolean(0, "observed").value_or(false);
  e.server = load.text(0, "server").value_or("");
  e.tool = load.text(0, "tool").value_or("");
  e.agent = load.text(0, "agent").value_or("");
  e.human = load.text(0, "human").value_or("");
  e.chain_id = load.text(0, "chain_id").value_or("");
  e.token_id = load.text(0, "token_id").value_or("");
  e.server_id = load.text(0, "server_id").value_or("");
  e.credential_descriptor = load.text(0, "credential").value_or("{\"kind\":\"none\"}");
  e.vended = load.boolean(0, "vended").value_or(false);
  e.dead_reason = load.text(0, "dead_reason");
  return e;
}

// Records the vend as a child event of the decision, in its own transaction once the decision
// has committed, or inside the decision's transaction (own_transaction false: then it commits
// with the decision, durably, or not at all).
void record_vend(const CallEvent& e, const nlohmann::json& note, bool own_transaction = true) {
  // The decision itself committed durably; this record only marks the vend (single use, and
  // for the audit trail). Not waiting for its fsync keeps a credentialed call at one durable
  // commit; a crash inside the WAL writer's window can lose the record, never the decision.
  // SET LOCAL synchronous_commit = off, without a round trip through SQL.
  if (own_transaction) {
    pg_call([] {
      set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
                        true, 0, false);
    });
  }
  EventRow row;
  row.kind = "credential_vended";
  row.parent_id = e.event_id;
  row.chain_id = e.chain_id;
  row.token_id = e.token_id;
  row.agent = e.agent;
  row.human = e.human;
  row.server = e.server;
  row.tool = e.tool;
  row.allowed = true;
  row.reason = "vended";
  row.detail_json = note.dump();
  write_event(row);
}

// What a remembered allowed decision says about its call event.
CallEvent call_event_of(const LastDecision& d) {
  CallEvent e;
  e.event_id = d.event_id;
  e.kind = "call";
  e.allowed = true;
  e.fresh = true;
  e.observed = d.observed;
  e.server = d.server;
  e.tool = d.tool;
  e.agent = d.agent;
  e.human = d.human;
  e.chain_id = d.chain_id;
  e.token_id = d.token_id;
  return e;
}

// Mints the call's credential and records its vend (never the value): the one step both ways
// of vending share. Sets `refusal` instead when the server's credential cannot be had (e.g. no
// secret stored); nullopt without a refusal: the server takes none.
std::optional<std::string> mint_and_record(const CallEvent& e, bool own_transaction,
                                           std::optional<std::string>& refusal,
                                           const LastDecision* decided = nullptr) {
  VendRequest request{e.server_id, e.server,   e.tool,    e.credential_descriptor, e.agent, e.human,
                      e.chain_id,  e.event_id, e.observed};
  if (decided != nullptr) {
    request.arguments_sha256 = decided->arguments_sha256;
    request.actors = decided->actors;
  }
  std::optional<std::string> credential = vend_credential(request);
  if (!credential) return std::nullopt;
  nlohmann::json vended = nlohmann::json::parse(*credential);
  if (vended.contains("error")) {
    refusal = "no credential for " + e.server + ": " + vended["error"].get<std::string>();
    return std::nullopt;
  }
  nlohmann::json note = vended;
  note.erase("value");
  record_vend(e, note, own_transaction);
  return credential;
}

// Every rule but "has committed" (each caller checks that its own way), then the vend.
std::optional<std::string> vend_for(const CallEvent& e) {
  if (e.kind != "call" || !e.allowed) {
    refuse("42501", "the event is not an allowed call");
  }
  if (e.vended) refuse("55000", "a credential was already vended for this call");
  if (!e.fresh) {
    refuse("55000", "the decision is older than 60 seconds", "Ask warden.authorize again.");
  }
  if (e.dead_reason) refuse("42501", "the call may no longer proceed: " + *e.dead_reason);
  if (e.server_id.empty()) refuse("42704", "server \"" + e.server + "\" no longer exists");

  std::optional<std::string> refusal;
  std::optional<std::string> credential = mint_and_record(e, true, refusal);
  if (refusal) refuse("55000", *refusal);
  return credential;
}

// The credential for one decision, by every rule above; nullopt when its server takes none.
std::optional<std::string> credential_for(const std::string& event_id) {
  std::optional<CallEvent> found = load_call(event_id);
  if (!found) {
    refuse("42704", "no committed decision with this event_id",
           "Pass the event_id warden.authorize returned, after its transaction has committed.");
  }
  const CallEvent& e = *found;
  if (pg_call([&] { return TransactionIdIsCurrentTransactionId(e.xmin); })) {
    refuse("25001", "the decision has not committed yet",
           "Call warden.authorize and warden.credential in separate transactions: a credential "
           "is vended only for a decision that has committed.");
  }
  return vend_for(e);
}

// A remembered decision's "committed" is the commit log's word for the (sub)transaction that
// wrote its event (it and every parent committed), not a read of the events table.
void require_committed(const LastDecision& d) {
  const bool current = pg_call(
      [&] { return TransactionIdIsValid(d.xid) && TransactionIdIsCurrentTransactionId(d.xid); });
  if (current) {
    refuse("25001", "the decision has not committed yet",
           "Send warden.authorize and warden.credential_for_last_decision as separate "
           "transactions: a credential is vended only for a decision that has committed.");
  }
  const bool committed = pg_call([&] {
    return TransactionIdIsValid(d.xid) && !TransactionIdIsInProgress(d.xid) &&
           TransactionIdDidCommit(d.xid);
  });
  if (!committed) {
    refuse("42704", "the last decision did not commit",
           "A decision rolled back (or still prepared) never yields a credential.");
  }
}

// The same for the decision this backend remembers. What the event says is known already (a
// lookup by event_id probes every daily partition of warden.events); only the server's
// credential, an earlier vend (in this decision's partitions) and the token's liveness are read.
// A credential minted with the decision needs only the liveness check.
std::optional<std::string> credential_for_remembered(const LastDecision& d) {
  require_committed(d);
  if (d.with_decision) {
    // Minted and recorded with the decision, which has now committed; handed out by the same
    // rules. A kill may have committed while authorize ran (its snapshot is older) or since:
    // then the credential never leaves (its vend event stays, marking one minted, not used).
    const bool stale = pg_call([&] {
      return GetCurrentTimestamp() - d.decided_at >
             static_cast<TimestampTz>(kVendWindowSeconds) * USECS_PER_SEC;
    });
    if (stale) {
      refuse("55000", "the decision is older than 60 seconds", "Ask warden.authorize again.");
    }
    static Statement alive("SELECT t.reason FROM warden.dead_tokens(ARRAY[$1]) t", {UUIDOID});
    if (alive.run({uuid_datum(d.token_id)}, {}, false, 1) == 1) {
      refuse("42501",
             "the call may no longer proceed: " + alive.text(0, "reason").value_or("revoked"));
    }
    if (d.refusal) refuse("55000", *d.refusal);
    return d.credential;
  }
  serialise_vends_of(d.event_id);
  static Statement load(
      "SELECT s.server_id, s.credential::text AS credential, "
      "EXISTS (SELECT FROM warden.events v WHERE v.parent_id = $1 AND v.at >= $2 "
      "        AND v.kind = 'credential_vended') AS vended, "
      "$2 > pg_catalog.now() - $5::int * interval '1 second' AS fresh, "
      "(SELECT t.reason FROM warden.dead_tokens(ARRAY[$3]) t) AS dead_reason "
      "FROM (SELECT) one LEFT JOIN warden.servers s ON s.name = $4",
      {UUIDOID, TIMESTAMPTZOID, UUIDOID, TEXTOID, INT4OID});
  load.run({uuid_datum(d.event_id), TimestampTzGetDatum(d.decided_at), uuid_datum(d.token_id),
            text_datum(d.server), Int32GetDatum(kVendWindowSeconds)},
           {}, false, 1);
  CallEvent e = call_event_of(d);
  e.server_id = load.text(0, "server_id").value_or("");
  e.credential_descriptor = load.text(0, "credential").value_or("{\"kind\":\"none\"}");
  e.vended = load.boolean(0, "vended").value_or(false);
  e.fresh = load.boolean(0, "fresh").value_or(false);
  e.dead_reason = load.text(0, "dead_reason");
  return vend_for(e);
}

Datum jsonb_datum(const std::string& text) {
  return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}

}  // namespace

namespace warden::pg {

void mint_with_decision(LastDecision& d) {
  d.with_decision = true;
  static Statement server(
      "SELECT s.server_id, s.credential::text AS credential FROM warden.servers s "
      "WHERE s.name = $1",
      {TEXTOID});
  if (server.run({text_datum(d.server)}, {}, true, 1) != 1) {
    d.refusal = "server \"" + d.server + "\" no longer exists";
    return;
  }
  CallEvent e = call_event_of(d);
  e.server_id = server.text(0, "server_id").value_or("");
  e.credential_descriptor = server.text(0, "credential").value_or("{\"kind\":\"none\"}");
  d.credential = mint_and_record(e, false, d.refusal, &d);
}

}  // namespace warden::pg

WARDEN_SQL_FUNCTION(warden_credential) {
  if (PG_ARGISNULL(0)) refuse("22004", "warden.credential needs the event_id of an allowed call");
  const std::string event_id = uuid_string(PG_GETARG_DATUM(0));
  spi_connect();
  std::optional<std::string> credential = credential_for(event_id);
  spi_finish();
  if (!credential) PG_RETURN_NULL();
  return jsonb_datum(*credential);
}

// warden.credential_for_last_decision(): the same, for the call this backend's last
// warden.authorize allowed (see extension/last_decision.hpp). warden-mcp sends it right behind
// authorize, each in its own implicit transaction (libpq pipeline mode, a sync after each), so a
// credentialed call costs one round trip. The row names the event it answers for (NULL when
// there is none: the last decision was denied, failed, or already taken), so the front-end can
// check that it is its own. It can only ever reach a decision this same backend made: narrower
// than warden.credential(event_id), which the same role may call for any event id it holds.
WARDEN_SQL_FUNCTION(warden_credential_for_last_decision) {
  std::optional<LastDecision> last = take_last_decision();
  if (!last) return composite_result(fcinfo, {Datum(0), Datum(0)}, {true, true});
  spi_connect();
  std::optional<std::string> credential = credential_for_remembered(*last);
  spi_finish();
  return composite_result(
      fcinfo, {uuid_datum(last->event_id), credential ? jsonb_datum(*credential) : Datum(0)},
      {false, !credential});
}
