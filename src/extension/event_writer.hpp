#pragma once

#include <optional>
#include <string>

#include "core/audit_mac.hpp"
#include "core/uuid.hpp"
#include "extension/boundary.hpp"

namespace warden::pg {

// What a caller says about an event; write_event fills in the rest of the row (see
// event_columns.hpp). JSON columns are given as text and stored as jsonb; the MAC covers
// jsonb's own text form, so verification can recompute it from the row.
struct EventRow {
  std::optional<std::string> event_id;  // generated when absent
  std::string kind;
  std::optional<std::string> chain_id, token_id, parent_id, agent, human, server, tool;
  std::optional<bool> allowed;
  std::optional<std::string> reason, trace_id;
  std::optional<std::string> arguments_json;  // redacted copy
  std::optional<Mac> arguments_digest;
  std::optional<std::string> detail_json;
};

// Appends the event to this backend's MAC chain and inserts it; returns its event id.
// Needs an open SPI connection. The chain position only advances if the (sub)transaction
// that wrote the event commits.
std::string write_event(const EventRow& row);

// The ids it hands out (warden::random_uuid, one definition for the extension and the tests).
using warden::random_uuid;

}  // namespace warden::pg
