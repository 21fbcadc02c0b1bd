#include "extension/event_writer.hpp"

#include <sodium.h>

#include <cstdio>
#include <vector>

#include "core/audit_mac.hpp"
#include "core/sodium_init.hpp"
#include "extension/event_columns.hpp"
#include "extension/keys.hpp"
#include "extension/spi.hpp"

namespace warden::pg {

namespace {

// This backend's position in its own MAC chain. `committed` is what durable rows reflect;
// `pending` includes events of the open transaction; `saved` holds pending at each open
// subtransaction so a rolled-back savepoint rewinds the chain with its rows.
struct ChainState {
  int64_t seq = 0;
  Mac mac{};
};
struct WriterState {
  std::string writer;
  ChainState committed, pending;
  std::vector<std::pair<SubTransactionId, ChainState>> saved;
  bool callbacks_registered = false;
};
WriterState state;

void on_xact(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_PRE_PREPARE:
      // A prepared transaction's events can still be rolled back from another session, which
      // would leave a gap in this writer's MAC chain that verify_audit must report as deleted
      // events: a false alarm anyone with PREPARE could plant. Decisions never need 2PC.
      if (state.pending.seq != state.committed.seq) {
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("warden events cannot be written in a transaction that is prepared"),
                        errhint("Run warden functions outside PREPARE TRANSACTION; their decisions "
                                "commit on their own.")));
      }
      break;
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
      state.committed = state.pending;
      state.saved.clear();
      break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
      state.pending = state.committed;
      state.saved.clear();
      break;
    default:
      break;
  }
}

void on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId, void*) {
  switch (event) {
    case SUBXACT_EVENT_START_SUB:
      state.saved.emplace_back(sub, state.pending);
      break;
    case SUBXACT_EVENT_COMMIT_SUB:
      if (!state.saved.empty() && state.saved.back().first == sub) state.saved.pop_back();
      break;
    case SUBXACT_EVENT_ABORT_SUB:
      if (!state.saved.empty() && state.saved.back().first == sub) {
        state.pending = state.saved.back().second;
        state.saved.pop_back();
      }
      break;
    default:
      break;
  }
}

// A JSON document as the jsonb Datum that will be stored.
Datum jsonb_datum(const std::string& json) {
  return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.c_str())); });
}

void set_uuid(EventValues& v, EventColumn c, const std::optional<std::string>& id) {
  if (id) v.set(c, uuid_datum(*id));
}

void set_text(EventValues& v, EventColumn c, const std::optional<std::string>& s) {
  if (s) v.set(c, text_datum(*s));
}

// The session user's name, looked up once per backend (it cannot change within a session).
const std::string& session_user_name() {
  static std::string name;
  static Oid cached_for = InvalidOid;
  Oid user = GetSessionUserId();
  if (user != cached_for) {
    const char* n = pg_call([&] { return GetUserNameFromId(user, false); });
    name = n;
    cached_for = user;
  }
  return name;
}

}  // namespace

namespace {

// The default partition of warden.events is created on the first event of a database (it is
// not an extension member; see src/sql/functions/event_partitions.sql). Two syscache look-ups
// per event tell whether it exists (a backend cannot cache the answer: DROP EXTENSION drops it).
void ensure_default_partition() {
  bool exists = pg_call([] {
    Oid schema = get_namespace_oid("warden", true);
    return schema != InvalidOid && OidIsValid(get_relname_relid("events_default", schema));
  });
  if (exists) return;
  static Statement ensure("SELECT warden._ensure_default_event_partition()", {});
  ensure.run({});
}

// INSERT INTO warden.events (every column) VALUES ($1, ..., $20), typed from kEventColumns.
Statement& insert_event() {
  static const std::string sql = [] {
    std::string params;
    for (size_t i = 1; i <= kEventColumns.size(); ++i) {
      params += (i > 1 ? ", $" : "$") + std::to_string(i);
    }
    return "INSERT INTO warden.events (" + event_column_names() + ") VALUES (" + params + ")";
  }();
  static Statement insert(sql.c_str(), [] {
    std::vector<Oid> types;
    types.reserve(kEventColumns.size());
    for (const EventColumnSpec& spec : kEventColumns) types.push_back(spec.type);
    return types;
  }());
  return insert;
}

}  // namespace

std::string write_event(const EventRow& row) {
  const KeyRing& ring = require_key_ring();
  if (!state.callbacks_registered) {
    pg_call([] {
      RegisterXactCallback(on_xact, nullptr);
      RegisterSubXactCallback(on_subxact, nullptr);
    });
    state.callbacks_registered = true;
  }
  if (state.writer.empty()) state.writer = random_uuid();
  require_event_columns();
  ensure_default_partition();

  std::string event_id = row.event_id ? *row.event_id : time_ordered_uuid();
  EventValues v;
  v.set(EventColumn::event_id, uuid_datum(event_id));
  // The transaction takes its xid before the event's time is read: an exporter that sees no
  // xid for this transaction (warden.export_batch's horizon) then knows that any event it
  // writes will be timed after that look, so none can commit behind the export cursor.
  pg_call([] { (void)GetTopTransactionId(); });
  v.set(EventColumn::at, TimestampTzGetDatum(GetCurrentTimestamp()));
  v.set(EventColumn::kind, text_datum(row.kind));
  set_uuid(v, EventColumn::chain_id, row.chain_id);
  set_uuid(v, EventColumn::token_id, row.token_id);
  set_uuid(v, EventColumn::parent_id, row.parent_id);
  set_text(v, EventColumn::agent, row.agent);
  set_text(v, EventColumn::human, row.human);
  set_text(v, EventColumn::server, row.server);
  set_text(v, EventColumn::tool, row.tool);
  if (row.allowed) v.set(EventColumn::allowed, BoolGetDatum(*row.allowed));
  set_text(v, EventColumn::reason, row.reason);
  set_text(v, EventColumn::trace_id, row.trace_id);
  if (row.arguments_json) v.set(EventColumn::arguments, jsonb_datum(*row.arguments_json));
  if (row.arguments_digest) {
    const Mac& digest = *row.arguments_digest;
    v.set(EventColumn::arguments_digest,
          bytea_datum(std::vector<uint8_t>(digest.begin(), digest.end())));
  }
  if (row.detail_json) v.set(EventColumn::detail, jsonb_datum(*row.detail_json));
  v.set(EventColumn::actor, text_datum(session_user_name()));

  EventLink link{state.writer, state.pending.seq + 1, state.pending.mac};
  v.set(EventColumn::writer, uuid_datum(link.writer));
  v.set(EventColumn::seq, Int64GetDatum(link.seq));
  Mac mac = event_mac(ring.subkey(Subkey::kAuditMac), link, mac_columns(v));
  v.set(EventColumn::mac, bytea_datum(std::vector<uint8_t>(mac.begin(), mac.end())));
  insert_event().run(v.datums(), v.nulls());
  state.pending = ChainState{link.seq, mac};
  return event_id;
}

}  // namespace warden::pg
