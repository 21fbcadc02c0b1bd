#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/audit_mac.hpp"
#include "core/paseto.hpp"
#include "core/task_token.hpp"
#include "extension/event_columns.hpp"
#include "extension/event_writer.hpp"
#include "extension/keys.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"
#include "extension/token_keys.hpp"

// warden.verify_audit and warden.seal_audit: recompute every event's MAC chain (see
// core/audit_mac.hpp) and check every signed seal, naming each event that was modified,
// forged or deleted. Needs the root key; a superuser without it can bypass the triggers but
// cannot make altered rows verify.

using namespace warden;
using namespace warden::pg;

namespace {

constexpr size_t kMaxProblems = 1000;
constexpr long kFetchRows = 5000;
constexpr std::string_view kSealImplicit = "warden:audit-seal:v1";

// A stored MAC; zeros (which never verify) when it is not 32 bytes.
Mac stored_mac_of(Datum d) {
  Mac mac{};
  bytea* b = pg_call([&] { return DatumGetByteaPP(d); });
  if (VARSIZE_ANY_EXHDR(b) == mac.size()) std::memcpy(mac.data(), VARDATA_ANY(b), mac.size());
  return mac;
}

class AuditVerifier {
 public:
  explicit AuditVerifier(Key32View key) : key_(key) {}

  void check_events(std::optional<TimestampTz> since) {
    require_event_columns();
    std::string sql = "SELECT " + event_column_names() + " FROM warden.events";
    if (since) sql += " WHERE at >= $1";
    sql += " ORDER BY writer, seq";
    Oid type = TIMESTAMPTZOID;
    Datum arg = since ? TimestampTzGetDatum(*since) : Datum(0);
    Portal portal = pg_call([&] {
      SPIPlanPtr plan = SPI_prepare(sql.c_str(), since ? 1 : 0, &type);
      return SPI_cursor_open(nullptr, plan, &arg, nullptr, true);
    });
    std::array<int, kEventColumns.size()> position{};  // 0-based, in the result, by column
    bool resolved = false;
    std::vector<Datum> values;
    std::unique_ptr<bool[]> nulls;
    while (true) {
      pg_call([&] { SPI_cursor_fetch(portal, true, kFetchRows); });
      uint64_t n = SPI_processed;
      if (n == 0) break;
      SPITupleTable* table = SPI_tuptable;
      TupleDesc desc = table->tupdesc;
      if (!resolved) {
        for (const EventColumnSpec& spec : kEventColumns) {
          int f = pg_call([&] { return SPI_fnumber(desc, spec.name); });
          if (f <= 0) throw std::runtime_error(std::string("warden: no column ") + spec.name);
          position[index_of(spec.column)] = f - 1;
        }
        values.resize(static_cast<size_t>(desc->natts));
        nulls = std::make_unique<bool[]>(static_cast<size_t>(desc->natts));
        resolved = true;
      }
      for (uint64_t i = 0; i < n; ++i) {
        pg_call([&] { heap_deform_tuple(table->vals[i], desc, values.data(), nulls.get()); });
        EventValues row;
        for (const EventColumnSpec& spec : kEventColumns) {
          const int p = position[index_of(spec.column)];
          if (!nulls[p]) row.set(spec.column, values[p]);
        }
        check_row(row, since.has_value());
      }
      pg_call([&] { SPI_freetuptable(table); });
    }
    pg_call([&] { SPI_cursor_close(portal); });
  }

  struct Seal {
    std::string id, token;
    std::optional<std::vector<uint8_t>> public_key;
  };

  // The seals stored in warden.seals.
  void check_seals() {
    static Statement seals(
        "SELECT s.seal_id, s.token, k.public_key FROM warden.seals s "
        "LEFT JOIN warden.keys k ON k.key_id = s.key_id ORDER BY s.sealed_at",
        {});
    uint64_t n = seals.run({}, {}, true);
    std::vector<Seal> list;
    for (uint64_t i = 0; i < n; ++i)
      list.push_back(
          {*seals.text(i, "seal_id"), *seals.text(i, "token"), seals.bytes(i, "public_key")});
    check_seal_list(list);
  }

  // Seal tokens kept outside the database (warden-mcp --witness): each is verified with the
  // signing key its footer names, then every writer head it names must still be in the
  // database with the same MAC. A superuser holding the root key can rewrite events and their
  // MAC chain and delete stored seals, but cannot make a witnessed head match again.
  void check_witnessed(const std::vector<std::string>& tokens) {
    static Statement key("SELECT public_key FROM warden.keys WHERE key_id = $1", {TEXTOID});
    std::vector<Seal> list;
    for (size_t i = 0; i < tokens.size(); ++i) {
      Seal seal{"witnessed#" + std::to_string(i + 1), tokens[i], std::nullopt};
      std::optional<std::string> footer = paseto::peek_footer(tokens[i]);
      nlohmann::json kid =
          footer ? nlohmann::json::parse(*footer, nullptr, false) : nlohmann::json();
      if (kid.is_object() && kid.contains("kid") && kid["kid"].is_string() &&
          key.run({text_datum(kid["kid"].get<std::string>())}, {}, true, 1) == 1) {
        seal.public_key = key.bytes(0, "public_key");
      }
      list.push_back(std::move(seal));
    }
    check_seal_list(list);
  }

  void check_seal_list(const std::vector<Seal>& list) {
    static Statement head(
        "SELECT encode(mac, 'hex') AS mac FROM warden.events WHERE writer = $1 AND seq = $2",
        {UUIDOID, INT8OID});
    for (const Seal& s : list) {
      if (!s.public_key || s.public_key->size() != 32) {
        problem({{"problem", "seal_key_missing"}, {"seal_id", s.id}});
        continue;
      }
      std::array<uint8_t, 32> pk{};
      std::memcpy(pk.data(), s.public_key->data(), 32);
      paseto::Result opened = paseto::public_verify(pk, s.token, kSealImplicit);
      if (!opened) {
        problem({{"problem", "seal_signature_invalid"}, {"seal_id", s.id}});
        continue;
      }
      ++seals_checked_;
      nlohmann::json payload = nlohmann::json::parse(opened.value().payload, nullptr, false);
      if (!payload.is_object() || !payload.contains("heads") || !payload["heads"].is_object()) {
        problem({{"problem", "seal_unreadable"}, {"seal_id", s.id}});
        continue;
      }
      for (auto& [writer, h] : payload["heads"].items()) {
        int64_t seq = h.value("seq", int64_t{0});
        std::string mac = h.value("mac", std::string());
        if (head.run({uuid_datum(writer), Int64GetDatum(seq)}, {}, true, 1) != 1) {
          problem({{"problem", "truncated"},
                   {"seal_id", s.id},
                   {"writer", writer},
                   {"seq", seq},
                   {"detail", "an event covered by this seal is missing"}});
        } else if (head.text(0, "mac") != mac) {
          problem({{"problem", "seal_mismatch"},
                   {"seal_id", s.id},
                   {"writer", writer},
                   {"seq", seq},
                   {"detail", "the sealed event's MAC differs from the one sealed"}});
        }
      }
    }
  }

  bool ok() const { return problem_count_ == 0; }
  int64_t checked() const { return checked_; }
  nlohmann::json result_problems() const {
    nlohmann::json out = problems_;
    if (problem_count_ > problems_.size()) {
      out.push_back({{"problem", "more"}, {"count", problem_count_ - problems_.size()}});
    }
    return out;
  }

 private:
  void problem(nlohmann::json p) {
    ++problem_count_;
    if (problems_.size() < kMaxProblems) problems_.push_back(std::move(p));
  }

  // The MAC of (writer, seq) as stored, for starting a partial verification mid-stream.
  std::optional<Mac> stored_mac(const std::string& writer, int64_t seq) {
    static Statement find("SELECT mac FROM warden.events WHERE writer = $1 AND seq = $2",
                          {UUIDOID, INT8OID});
    if (find.run({uuid_datum(writer), Int64GetDatum(seq)}, {}, true, 1) != 1) return std::nullopt;
    auto bytes = find.bytes(0, "mac");
    if (!bytes || bytes->size() != 32) return std::nullopt;
    Mac m{};
    std::memcpy(m.data(), bytes->data(), 32);
    return m;
  }

  void check_row(const EventValues& row, bool partial) {
    ++checked_;
    std::string writer = uuid_string(row.get(EventColumn::writer));
    int64_t seq = DatumGetInt64(row.get(EventColumn::seq));
    Mac stored = stored_mac_of(row.get(EventColumn::mac));
    std::string event_id = uuid_string(row.get(EventColumn::event_id));

    bool linked = true;  // whether the predecessor is known, so this row's MAC can be checked
    Mac prev{};
    if (writer != writer_) {
      writer_ = writer;
      if (seq != 1) {
        std::optional<Mac> before = partial ? stored_mac(writer, seq - 1) : std::nullopt;
        if (before) {
          prev = *before;
        } else {
          linked = false;
          problem({{"problem", "deleted"},
                   {"writer", writer},
                   {"missing_seq_from", 1},
                   {"missing_seq_to", seq - 1},
                   {"next_event_id", event_id}});
        }
      }
    } else if (seq == expected_seq_) {
      prev = prev_mac_;
    } else if (seq < expected_seq_) {
      problem({{"problem", "duplicate"},
               {"writer", writer},
               {"seq", seq},
               {"event_id", event_id},
               {"detail", "a second event claims this position in the writer's chain (forged)"}});
      return;
    } else {
      linked = false;
      problem({{"problem", "deleted"},
               {"writer", writer},
               {"missing_seq_from", expected_seq_},
               {"missing_seq_to", seq - 1},
               {"previous_event_id", prev_event_id_},
               {"next_event_id", event_id}});
    }

    if (linked) {
      Mac expected = event_mac(key_, EventLink{writer, seq, prev}, mac_columns(row));
      if (sodium_memcmp(expected.data(), stored.data(), expected.size()) != 0) {
        problem({{"problem", "modified_or_forged"},
                 {"event_id", event_id},
                 {"writer", writer},
                 {"seq", seq},
                 {"detail", "the event's MAC does not match its contents"}});
      }
    }
    expected_seq_ = seq + 1;
    prev_mac_ = stored;
    prev_event_id_ = event_id;
  }

  Key32View key_;
  std::string writer_, prev_event_id_;
  int64_t expected_seq_ = 1;
  Mac prev_mac_{};
  int64_t checked_ = 0;
  size_t seals_checked_ = 0;
  size_t problem_count_ = 0;
  nlohmann::json problems_ = nlohmann::json::array();
};

}  // namespace

namespace {

// (ok, events_checked, problems): the result row of verify_audit and verify_witnessed.
Datum verdict_row(FunctionCallInfo fcinfo, const AuditVerifier& verifier) {
  std::string problems = verifier.result_problems().dump();
  Datum problems_jsonb =
      pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(problems.c_str())); });
  return composite_result(
      fcinfo, {BoolGetDatum(verifier.ok()), Int64GetDatum(verifier.checked()), problems_jsonb},
      {false, false, false});
}

}  // namespace

WARDEN_SQL_FUNCTION(warden_verify_witnessed) {
  std::vector<std::string> tokens;
  if (!PG_ARGISNULL(0)) {
    ArrayType* array = pg_call([&] { return PG_GETARG_ARRAYTYPE_P(0); });
    Datum* items = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    pg_call([&] {
      deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &count);
    });
    for (int i = 0; i < count; ++i) {
      if (!nulls[i]) tokens.push_back(text_string(items[i]));
    }
  }
  const KeyRing& ring = require_key_ring();
  AuditVerifier verifier(ring.subkey(Subkey::kAuditMac));
  spi_connect();
  verifier.check_events(std::nullopt);
  verifier.check_seals();
  verifier.check_witnessed(tokens);
  spi_finish();
  return verdict_row(fcinfo, verifier);
}

WARDEN_SQL_FUNCTION(warden_verify_audit) {
  std::optional<TimestampTz> since = arg_timestamptz(fcinfo, 0);
  const KeyRing& ring = require_key_ring();
  AuditVerifier verifier(ring.subkey(Subkey::kAuditMac));
  spi_connect();
  verifier.check_events(since);
  verifier.check_seals();
  spi_finish();
  return verdict_row(fcinfo, verifier);
}

// Signs every writer's newest event with the current signing key: a checkpoint an auditor
// can keep elsewhere. Events deleted later from the end of a writer's chain are then caught.
WARDEN_SQL_FUNCTION(warden_seal_audit) {
  spi_connect();
  static Statement current_key("SELECT key_id, sealed FROM warden._current_key('public')", {});
  current_key.run({});
  std::string key_id = *current_key.text(0, "key_id");
  std::vector<uint8_t> secret = open_sealed_key(key_id, "public", *current_key.bytes(0, "sealed"));
  // Each writer's newest event, one index probe per writer (a loose scan of events_writer)
  // rather than a pass over every event: seals come every few seconds.
  static Statement heads(
      "WITH RECURSIVE w(writer) AS ("
      "  (SELECT e.writer FROM warden.events e ORDER BY e.writer LIMIT 1)"
      "  UNION ALL"
      "  SELECT (SELECT e.writer FROM warden.events e WHERE e.writer > w.writer ORDER BY e.writer "
      "LIMIT 1) FROM w WHERE w.writer IS NOT NULL) "
      "SELECT w.writer, h.seq, encode(h.mac, 'hex') AS mac FROM w, LATERAL (SELECT e.seq, e.mac "
      "FROM "
      "warden.events e WHERE e.writer = w.writer ORDER BY e.seq DESC LIMIT 1) h "
      "WHERE w.writer IS NOT NULL",
      {});
  uint64_t n = heads.run({}, {}, true);
  nlohmann::json head_map = nlohmann::json::object();
  // A writer's events are numbered 1, 2, 3… with no gap (its position only advances when its
  // transaction commits), so the heads' numbers add up to the count of events.
  int64_t events = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const int64_t seq = *heads.integer(i, "seq");
    head_map[*heads.text(i, "writer")] = {{"seq", seq}, {"mac", *heads.text(i, "mac")}};
    events += seq;
  }
  const std::string seal_id = random_uuid();
  const std::string sealed_at = format_rfc3339(unix_seconds(GetCurrentTimestamp()));
  nlohmann::json payload = {{"type", "warden.audit-seal"},
                            {"seal_id", seal_id},
                            {"sealed_at", sealed_at},
                            {"events", events},
                            {"heads", head_map}};
  std::array<uint8_t, 64> sk{};
  if (secret.size() != sk.size()) throw std::runtime_error("signing key has the wrong size");
  std::memcpy(sk.data(), secret.data(), sk.size());
  sodium_memzero(secret.data(), secret.size());
  std::string token = paseto::public_sign(sk, payload.dump(), encode_footer(key_id), kSealImplicit);
  sodium_memzero(sk.data(), sk.size());
  static Statement store(
      "INSERT INTO warden.seals (seal_id, key_id, events, token) VALUES ($1, $2, $3, $4)",
      {UUIDOID, TEXTOID, INT8OID, TEXTOID});
  store.run({uuid_datum(seal_id), text_datum(key_id), Int64GetDatum(events), text_datum(token)});
  EventRow row;
  row.kind = "audit_sealed";
  row.detail_json =
      nlohmann::json({{"seal_id", seal_id}, {"events", events}, {"writers", head_map.size()}})
          .dump();
  write_event(row);
  spi_finish();
  nlohmann::json result = {{"seal_id", seal_id}, {"sealed_at", sealed_at},     {"key_id", key_id},
                           {"events", events},   {"writers", head_map.size()}, {"seal", token}};
  std::string text = result.dump();
  return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}
