#pragma once

// The columns of warden.events, in table order: the one C++ description of the event row,
// used by the writer (event_writer.cpp) and the verifier (audit_verify.cpp). The table itself
// is defined in src/sql; require_event_columns() compares this list with the catalog, so a
// drift fails loudly instead of writing or verifying the wrong column.

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "core/audit_mac.hpp"
#include "extension/boundary.hpp"

namespace warden::pg {

enum class EventColumn {
  event_id,
  at,
  kind,
  chain_id,
  token_id,
  parent_id,
  agent,
  human,
  server,
  tool,
  allowed,
  reason,
  trace_id,
  arguments,
  arguments_digest,
  detail,
  actor,
  writer,
  seq,
  mac,
};

struct EventColumnSpec {
  EventColumn column;
  const char* name;
  Oid type;
};

inline constexpr std::array<EventColumnSpec, 20> kEventColumns = {{
    {EventColumn::event_id, "event_id", UUIDOID},
    {EventColumn::at, "at", TIMESTAMPTZOID},
    {EventColumn::kind, "kind", TEXTOID},
    {EventColumn::chain_id, "chain_id", UUIDOID},
    {EventColumn::token_id, "token_id", UUIDOID},
    {EventColumn::parent_id, "parent_id", UUIDOID},
    {EventColumn::agent, "agent", TEXTOID},
    {EventColumn::human, "human", TEXTOID},
    {EventColumn::server, "server", TEXTOID},
    {EventColumn::tool, "tool", TEXTOID},
    {EventColumn::allowed, "allowed", BOOLOID},
    {EventColumn::reason, "reason", TEXTOID},
    {EventColumn::trace_id, "trace_id", TEXTOID},
    {EventColumn::arguments, "arguments", JSONBOID},
    {EventColumn::arguments_digest, "arguments_digest", BYTEAOID},
    {EventColumn::detail, "detail", JSONBOID},
    {EventColumn::actor, "actor", TEXTOID},
    {EventColumn::writer, "writer", UUIDOID},
    {EventColumn::seq, "seq", INT8OID},
    {EventColumn::mac, "mac", BYTEAOID},
}};

// The MAC covers the columns before writer, seq and mac, in this order (core/audit_mac.hpp);
// those three are the chain link itself.
inline constexpr size_t kMacColumnCount = static_cast<size_t>(EventColumn::writer);

constexpr size_t index_of(EventColumn c) {
  return static_cast<size_t>(c);
}

// One event row as Datums, filled by column; a column never set is NULL.
class EventValues {
 public:
  EventValues() : values_(kEventColumns.size(), Datum(0)), nulls_(kEventColumns.size(), 'n') {}
  void set(EventColumn c, Datum value) {
    values_[index_of(c)] = value;
    nulls_[index_of(c)] = ' ';
  }
  bool is_null(EventColumn c) const { return nulls_[index_of(c)] == 'n'; }
  Datum get(EventColumn c) const { return values_[index_of(c)]; }
  const std::vector<Datum>& datums() const { return values_; }
  const std::string& nulls() const { return nulls_; }

 private:
  std::vector<Datum> values_;
  std::string nulls_;  // SPI's convention: 'n' for NULL, ' ' otherwise
};

// The MAC's canonical text of each covered column, as its type's output function prints it
// (a timestamptz as microseconds since 2000-01-01, a bytea as lowercase hex).
EventColumns mac_columns(const EventValues& row);

// "event_id, at, kind, ..., mac": every column, in table order.
const std::string& event_column_names();

// Throws (55000) unless warden.events has exactly these columns (names, types, order).
// Checked once per backend and again after the table's definition changes.
void require_event_columns();

}  // namespace warden::pg
