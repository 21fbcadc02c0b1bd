#include <sodium.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"

// Small primitives the authorization server's SQL (src/sql/functions/oauth.sql) needs and core
// PostgreSQL lacks: random secrets from libsodium's CSPRNG, and a comparison that takes the
// same time wherever two values differ. Not granted to any role.

using namespace warden;
using namespace warden::pg;

// n random bytes (16..64) as unpadded base64url: codes, refresh tokens, CSRF tokens, state.
WARDEN_SQL_FUNCTION(warden_random_secret) {
  if (PG_ARGISNULL(0)) throw Error(sqlstate::kNullValueNotAllowed, "bytes must not be NULL");
  const int32 n = PG_GETARG_INT32(0);
  if (n < 16 || n > 64) {
    throw Error(sqlstate::kInvalidParameterValue, "a random secret has 16 to 64 bytes");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  randombytes_buf(bytes.data(), bytes.size());
  const size_t encoded_size =
      sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string encoded(encoded_size, '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes.data(), bytes.size());
  encoded.resize(encoded_size - 1);  // the terminating NUL
  Datum result = text_datum(encoded);
  sodium_memzero(encoded.data(), encoded.size());
  return result;
}

// True when both are non-NULL, of equal length and equal; the time taken does not depend on
// where they differ. For hashes of presented secrets against stored ones.
WARDEN_SQL_FUNCTION(warden_equal_in_constant_time) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) return BoolGetDatum(false);
  const std::vector<uint8_t> a = *arg_bytea(fcinfo, 0);
  const std::vector<uint8_t> b = *arg_bytea(fcinfo, 1);
  if (a.size() != b.size() || a.empty()) return BoolGetDatum(false);
  return BoolGetDatum(sodium_memcmp(a.data(), b.data(), a.size()) == 0);
}
