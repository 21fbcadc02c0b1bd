#pragma once

// Running SQL from C++ through SPI. Every call into PostgreSQL goes through pg_call, so a
// PostgreSQL ERROR arrives as a C++ PgError. There is no destructor-based cleanup on purpose:
// when an error escapes, the transaction aborts and PostgreSQL releases SPI state itself.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "extension/boundary.hpp"

namespace warden::pg {

void spi_connect();
void spi_finish();

// A statement prepared on first use and kept for the life of the backend (SPI_keepplan).
// Its results are read by column name: each name is looked up once (SPI_fnumber) and kept
// with the plan, whose result columns cannot change.
class Statement {
 public:
  Statement(const char* sql, std::vector<Oid> arg_types)
      : sql_(sql), types_(std::move(arg_types)) {}
  // Runs with the given arguments (nulls: ' ' or 'n' per argument, or empty for none);
  // returns the number of rows processed. Results stay readable until the next SPI call.
  uint64_t run(const std::vector<Datum>& args, std::string_view nulls = {}, bool read_only = false,
               long limit = 0);

  // The last run's result (row is 0-based), by column name; nullopt for SQL NULL.
  std::optional<std::string> text(uint64_t row, std::string_view column);
  std::optional<std::vector<uint8_t>> bytes(uint64_t row, std::string_view column);
  // smallint, integer, bigint; a timestamptz as Unix seconds.
  std::optional<int64_t> integer(uint64_t row, std::string_view column);
  std::optional<bool> boolean(uint64_t row, std::string_view column);
  // A one-dimensional text[] or uuid[]; a NULL element is an error.
  std::optional<std::vector<std::string>> strings(uint64_t row, std::string_view column);

 private:
  int column(std::string_view name);  // 0-based position in the result

  const char* sql_;
  std::vector<Oid> types_;
  SPIPlanPtr plan_ = nullptr;
  std::vector<std::pair<std::string, int>> columns_;
};

// Datum builders (palloc'd in the current memory context).
Datum text_datum(std::string_view s);
Datum uuid_datum(std::string_view canonical);
Datum bytea_datum(const std::vector<uint8_t>& bytes);
Datum uuid_array_datum(const std::vector<std::string>& canonical);
std::string uuid_string(Datum d);
std::string text_string(Datum d);
// The elements of a one-dimensional text[] or uuid[] Datum; a NULL element is an error.
std::vector<std::string> array_strings(Datum array);

// Unix seconds <-> timestamptz.
int64_t unix_seconds(TimestampTz t);
TimestampTz timestamptz_from_unix(int64_t seconds);

}  // namespace warden::pg
