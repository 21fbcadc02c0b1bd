#include "extension/event_writer.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"

// warden._event: the SQL side's way to append an audit event (issuance, delegation,
// revocation, completion, key rotation), through the same MAC chain as authorize.

using namespace warden;
using namespace warden::pg;

namespace {
std::optional<std::string> jsonb_text_arg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  char* s =
      pg_call([&] { return DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(n))); });
  return std::string(s);
}
}  // namespace

// (kind, chain_id, token_id, parent_id, agent, human, detail, allowed, reason, server, tool)
WARDEN_SQL_FUNCTION(warden_record_event) {
  EventRow row;
  row.kind = required_text(fcinfo, 0, "kind");
  row.chain_id = arg_uuid(fcinfo, 1);
  row.token_id = arg_uuid(fcinfo, 2);
  row.parent_id = arg_uuid(fcinfo, 3);
  row.agent = arg_text(fcinfo, 4);
  row.human = arg_text(fcinfo, 5);
  row.detail_json = jsonb_text_arg(fcinfo, 6);
  if (!PG_ARGISNULL(7)) row.allowed = PG_GETARG_BOOL(7);
  row.reason = arg_text(fcinfo, 8);
  row.server = arg_text(fcinfo, 9);
  row.tool = arg_text(fcinfo, 10);
  if (row.chain_id) {
    std::string trace = *row.chain_id;
    std::erase(trace, '-');
    row.trace_id = trace;
  }
  spi_connect();
  std::string id = write_event(row);
  spi_finish();
  return uuid_datum(id);
}
