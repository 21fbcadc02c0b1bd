#include "extension/spi.hpp"

#include <cstring>
#include <stdexcept>

namespace warden::pg {

namespace {
constexpr int64_t kUnixEpochInPostgresSeconds = 946684800;  // 2000-01-01 in Unix time

Datum value(uint64_t row, int col, bool* is_null) {
  return pg_call([&] {
    return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col + 1, is_null);
  });
}
}  // namespace

void spi_connect() {
  pg_call([] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "warden: SPI_connect failed");
  });
}

void spi_finish() {
  pg_call([] { SPI_finish(); });
}

uint64_t Statement::run(const std::vector<Datum>& args, std::string_view nulls, bool read_only,
                        long limit) {
  if (plan_ == nullptr) {
    plan_ = pg_call([&] {
      // Generic plans: these are key lookups whose best plan does not depend on the values,
      // and a custom plan would re-plan the statement on every call.
      SPIPlanPtr p = SPI_prepare_cursor(sql_, static_cast<int>(types_.size()), types_.data(),
                                        CURSOR_OPT_GENERIC_PLAN);
      if (p == nullptr)
        elog(ERROR, "warden: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
      SPI_keepplan(p);
      return p;
    });
  }
  std::string null_flags(nulls);
  if (null_flags.size() < args.size()) null_flags.append(args.size() - null_flags.size(), ' ');
  const char* flags = args.empty() ? nullptr : null_flags.c_str();
  int rc = pg_call([&] {
    return SPI_execute_plan(plan_, const_cast<Datum*>(args.data()), flags, read_only, limit);
  });
  if (rc < 0)
    throw std::runtime_error(std::string("SPI_execute_plan failed: ") + SPI_result_code_string(rc));
  return SPI_processed;
}

int Statement::column(std::string_view name) {
  for (const auto& [known, position] : columns_) {
    if (known == name) return position;
  }
  std::string key(name);
  int fnumber = pg_call([&] { return SPI_fnumber(SPI_tuptable->tupdesc, key.c_str()); });
  if (fnumber <= 0) {
    throw std::runtime_error("warden: the result of \"" + std::string(sql_) + "\" has no column " +
                             key);
  }
  columns_.emplace_back(std::move(key), fnumber - 1);
  return fnumber - 1;
}

std::optional<std::string> Statement::text(uint64_t row, std::string_view name) {
  int col = column(name);
  bool is_null = true;
  Datum d = value(row, col, &is_null);
  if (is_null) return std::nullopt;
  Oid type = SPI_gettypeid(SPI_tuptable->tupdesc, col + 1);
  if (type == UUIDOID) return uuid_string(d);
  if (type == TEXTOID || type == VARCHAROID) return text_string(d);
  char* out = pg_call(
      [&] { return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col + 1); });
  return std::string(out);
}

std::optional<std::vector<uint8_t>> Statement::bytes(uint64_t row, std::string_view name) {
  bool is_null = true;
  Datum d = value(row, column(name), &is_null);
  if (is_null) return std::nullopt;
  bytea* b = pg_call([&] { return DatumGetByteaPP(d); });
  const auto* p = reinterpret_cast<const uint8_t*>(VARDATA_ANY(b));
  return std::vector<uint8_t>(p, p + VARSIZE_ANY_EXHDR(b));
}

std::optional<int64_t> Statement::integer(uint64_t row, std::string_view name) {
  int col = column(name);
  bool is_null = true;
  Datum d = value(row, col, &is_null);
  if (is_null) return std::nullopt;
  switch (SPI_gettypeid(SPI_tuptable->tupdesc, col + 1)) {
    case INT2OID:
      return DatumGetInt16(d);
    case INT4OID:
      return DatumGetInt32(d);
    case TIMESTAMPTZOID:
      return unix_seconds(DatumGetTimestampTz(d));
    default:
      return DatumGetInt64(d);
  }
}

std::optional<bool> Statement::boolean(uint64_t row, std::string_view name) {
  bool is_null = true;
  Datum d = value(row, column(name), &is_null);
  if (is_null) return std::nullopt;
  return DatumGetBool(d);
}

std::optional<std::vector<std::string>> Statement::strings(uint64_t row, std::string_view name) {
  bool is_null = true;
  Datum d = value(row, column(name), &is_null);
  if (is_null) return std::nullopt;
  return array_strings(d);
}

Datum text_datum(std::string_view s) {
  return pg_call([&] {
    return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
  });
}

Datum uuid_datum(std::string_view canonical) {
  std::string z(canonical);
  return pg_call([&] { return DirectFunctionCall1(uuid_in, CStringGetDatum(z.c_str())); });
}

Datum bytea_datum(const std::vector<uint8_t>& bytes) {
  return pg_call([&] {
    bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + bytes.size()));
    SET_VARSIZE(b, VARHDRSZ + bytes.size());
    if (!bytes.empty()) memcpy(VARDATA(b), bytes.data(), bytes.size());
    return PointerGetDatum(b);
  });
}

Datum uuid_array_datum(const std::vector<std::string>& canonical) {
  std::vector<Datum> items;
  items.reserve(canonical.size());
  for (const std::string& id : canonical) items.push_back(uuid_datum(id));
  return pg_call([&] {
    return PointerGetDatum(construct_array(items.data(), static_cast<int>(items.size()), UUIDOID,
                                           UUID_LEN, false, TYPALIGN_CHAR));
  });
}

std::vector<std::string> array_strings(Datum array) {
  struct Elements {
    Oid type;
    Datum* items;
    bool* nulls;
    int count;
  };
  Elements e = pg_call([&] {
    ArrayType* a = DatumGetArrayTypeP(array);
    if (ARR_NDIM(a) > 1) elog(ERROR, "warden: expected a one-dimensional array");
    Elements out{ARR_ELEMTYPE(a), nullptr, nullptr, 0};
    int16 len;
    bool byval;
    char align;
    get_typlenbyvalalign(out.type, &len, &byval, &align);
    deconstruct_array(a, out.type, len, byval, align, &out.items, &out.nulls, &out.count);
    return out;
  });
  if (e.type != TEXTOID && e.type != UUIDOID) {
    throw std::runtime_error("warden: expected a text[] or uuid[] array");
  }
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(e.count));
  for (int i = 0; i < e.count; ++i) {
    if (e.nulls[i]) throw std::runtime_error("warden: unexpected NULL array element");
    out.push_back(e.type == UUIDOID ? uuid_string(e.items[i]) : text_string(e.items[i]));
  }
  return out;
}

std::string uuid_string(Datum d) {
  char* s = pg_call([&] { return DatumGetCString(DirectFunctionCall1(uuid_out, d)); });
  return std::string(s);
}

std::string text_string(Datum d) {
  text* t = pg_call([&] { return DatumGetTextPP(d); });
  return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

int64_t unix_seconds(TimestampTz t) {
  // Floor division so that times before 2000 round down, matching TimestampTz semantics.
  int64_t secs = t / USECS_PER_SEC;
  if (t < 0 && t % USECS_PER_SEC != 0) --secs;
  return secs + kUnixEpochInPostgresSeconds;
}

TimestampTz timestamptz_from_unix(int64_t seconds) {
  return (seconds - kUnixEpochInPostgresSeconds) * USECS_PER_SEC;
}

}  // namespace warden::pg
