#include "extension/sql_values.hpp"

#include "core/error.hpp"
#include "extension/spi.hpp"

namespace warden::pg {

std::optional<std::string> arg_text(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  return text_string(PG_GETARG_DATUM(n));
}

std::string required_text(FunctionCallInfo fcinfo, int n, const char* parameter) {
  auto v = arg_text(fcinfo, n);
  if (!v) {
    throw Error(sqlstate::kNullValueNotAllowed, std::string(parameter) + " must not be NULL");
  }
  return *v;
}

std::optional<std::string> arg_uuid(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  return uuid_string(PG_GETARG_DATUM(n));
}

std::optional<std::vector<uint8_t>> arg_bytea(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  bytea* b = pg_call([&] { return PG_GETARG_BYTEA_PP(n); });
  const auto* p = reinterpret_cast<const uint8_t*>(VARDATA_ANY(b));
  return std::vector<uint8_t>(p, p + VARSIZE_ANY_EXHDR(b));
}

std::optional<TimestampTz> arg_timestamptz(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  return PG_GETARG_TIMESTAMPTZ(n);
}

Datum composite_result(FunctionCallInfo fcinfo, const std::vector<Datum>& values,
                       const std::vector<bool>& nulls) {
  return pg_call([&] {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
      elog(ERROR, "warden: function must return a composite type");
    }
    desc = BlessTupleDesc(desc);
    bool* null_flags = static_cast<bool*>(palloc(sizeof(bool) * nulls.size()));
    for (size_t i = 0; i < nulls.size(); ++i) null_flags[i] = nulls[i];
    HeapTuple tuple = heap_form_tuple(desc, const_cast<Datum*>(values.data()), null_flags);
    return HeapTupleGetDatum(tuple);
  });
}

}  // namespace warden::pg
