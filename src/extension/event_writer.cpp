#include "extension/event_writer.hpp"

#include <sodium.h>

#include <cstdio>
#include <vector>

#include "core/audit_mac.hpp"
#include "core/sodium_init.hpp"
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

std::string micros_text(TimestampTz t) {
  return std::to_string(static_cast<long long>(t));
}

// A JSON document as the jsonb Datum that will be stored, and jsonb's canonical text for it
// (what jsonb_out prints when the row is read back), which is what the MAC covers.
struct StoredJson {
  Datum value = 0;
  std::optional<std::string> text;
};

StoredJson stored_json(const std::optional<std::string>& json) {
  StoredJson out;
  if (!json) return out;
  char* text = pg_call([&] {
    out.value = DirectFunctionCall1(jsonb_in, CStringGetDatum(json->c_str()));
    return DatumGetCString(DirectFunctionCall1(jsonb_out, out.value));
  });
  out.text = std::string(text);
  return out;
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

std::string random_uuid() {
  ensure_sodium();
  uint8_t b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  char s[37];
  snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
           b[14], b[15]);
  return s;
}

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

}  // namespace

std::string write_event(const EventRow& row) {
  static Statement insert(
      "INSERT INTO warden.events (event_id, at, kind, chain_id, token_id, parent_id, agent, human, "
      "server, "
      "tool, allowed, reason, trace_id, arguments, arguments_digest, detail, actor, writer, seq, "
      "mac) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
      "decode($15, 'hex'), $16, $17, $18, $19, $20)",
      {UUIDOID, TIMESTAMPTZOID, TEXTOID, UUIDOID, UUIDOID, UUIDOID, TEXTOID,
       TEXTOID, TEXTOID,        TEXTOID, BOOLOID, TEXTOID, TEXTOID, JSONBOID,
       TEXTOID, JSONBOID,       TEXTOID, UUIDOID, INT8OID, BYTEAOID});
  const KeyRing& ring = require_key_ring();
  if (!state.callbacks_registered) {
    pg_call([] {
      RegisterXactCallback(on_xact, nullptr);
      RegisterSubXactCallback(on_subxact, nullptr);
    });
    state.callbacks_registered = true;
  }
  if (state.writer.empty()) state.writer = random_uuid();
  ensure_default_partition();

  std::string event_id = row.event_id ? *row.event_id : random_uuid();
  const TimestampTz at = GetCurrentTimestamp();
  const std::string& actor = session_user_name();
  StoredJson stored_arguments = stored_json(row.arguments_json);
  StoredJson stored_detail = stored_json(row.detail_json);
  const std::optional<std::string>& arguments = stored_arguments.text;
  const std::optional<std::string>& detail = stored_detail.text;
  std::optional<std::string> allowed;
  if (row.allowed) allowed = *row.allowed ? "t" : "f";

  EventLink link{state.writer, state.pending.seq + 1, state.pending.mac};
  EventColumns columns = {event_id,
                          micros_text(at),
                          row.kind,
                          row.chain_id,
                          row.token_id,
                          row.parent_id,
                          row.agent,
                          row.human,
                          row.server,
                          row.tool,
                          allowed,
                          row.reason,
                          row.trace_id,
                          arguments,
                          row.arguments_digest_hex,
                          detail,
                          actor};
  Mac mac = event_mac(ring.subkey(Subkey::kAuditMac), link, columns);

  auto opt_text = [](const std::optional<std::string>& v) { return v ? text_datum(*v) : Datum(0); };
  auto opt_uuid = [](const std::optional<std::string>& v) { return v ? uuid_datum(*v) : Datum(0); };
  std::vector<Datum> args = {uuid_datum(event_id),
                             TimestampTzGetDatum(at),
                             text_datum(row.kind),
                             opt_uuid(row.chain_id),
                             opt_uuid(row.token_id),
                             opt_uuid(row.parent_id),
                             opt_text(row.agent),
                             opt_text(row.human),
                             opt_text(row.server),
                             opt_text(row.tool),
                             BoolGetDatum(row.allowed.value_or(false)),
                             opt_text(row.reason),
                             opt_text(row.trace_id),
                             stored_arguments.value,
                             opt_text(row.arguments_digest_hex),
                             stored_detail.value,
                             text_datum(actor),
                             uuid_datum(state.writer),
                             Int64GetDatum(link.seq),
                             bytea_datum(std::vector<uint8_t>(mac.begin(), mac.end()))};
  std::string nulls(args.size(), ' ');
  const std::optional<std::string>* optional_columns[] = {
      nullptr,        nullptr,     nullptr,       &row.chain_id, &row.token_id,
      &row.parent_id, &row.agent,  &row.human,    &row.server,   &row.tool,
      nullptr,        &row.reason, &row.trace_id, &arguments,    &row.arguments_digest_hex,
      &detail};
  for (size_t i = 0; i < std::size(optional_columns); ++i) {
    if (optional_columns[i] != nullptr && !*optional_columns[i]) nulls[i] = 'n';
  }
  if (!row.allowed) nulls[10] = 'n';
  insert.run(args, nulls);
  state.pending = ChainState{link.seq, mac};
  return event_id;
}

}  // namespace warden::pg
