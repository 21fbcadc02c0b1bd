#pragma once

// Running SQL from C++ through SPI. Every call into PostgreSQL goes through pg_call, so a
// PostgreSQL ERROR arrives as a C++ PgError. There is no destructor-based cleanup on purpose:
// when an error escapes, the transaction aborts and PostgreSQL releases SPI state itself.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "extension/boundary.hpp"

namespace warden::pg {

void spi_connect();
void spi_finish();

// A statement prepared on first use and kept for the life of the backend (SPI_keepplan).
class Statement {
 public:
  Statement(const char* sql, std::vector<Oid> arg_types)
      : sql_(sql), types_(std::move(arg_types)) {}
  // Runs with the given arguments (nulls: ' ' or 'n' per argument, or empty for none);
  // returns the number of rows processed. Results stay readable until the next SPI call.
  uint64_t run(const std::vector<Datum>& args, std::string_view nulls = {}, bool read_only = false,
               long limit = 0);

 private:
  const char* sql_;
  std::vector<Oid> types_;
  SPIPlanPtr plan_ = nullptr;
};

// Accessors for the current SPI result (row and column are 0-based).
bool result_is_null(uint64_t row, int col);
std::optional<std::string> result_text(uint64_t row, int col);
std::optional<std::vector<uint8_t>> result_bytea(uint64_t row, int col);
std::optional<int64_t> result_int(uint64_t row, int col);
std::optional<bool> result_bool(uint64_t row, int col);
// A Datum copied into the caller's (upper) memory context, for returning to SQL.
Datum result_datum_copy(uint64_t row, int col, bool* is_null);

// Datum builders (palloc'd in the current memory context).
Datum text_datum(std::string_view s);
Datum uuid_datum(std::string_view canonical);
Datum bytea_datum(const std::vector<uint8_t>& bytes);
std::string uuid_string(Datum d);
std::string text_string(Datum d);

// Unix seconds <-> timestamptz.
int64_t unix_seconds(TimestampTz t);
TimestampTz timestamptz_from_unix(int64_t seconds);

}  // namespace warden::pg
