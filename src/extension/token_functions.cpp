#include <sodium.h>

#include <array>
#include <cstring>
#include <variant>

#include "core/error.hpp"
#include "core/key_wrap.hpp"
#include "core/paserk.hpp"
#include "core/task_token.hpp"
#include "extension/keys.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"
#include "extension/token_keys.hpp"

// Internal SQL functions for keys and task tokens. They do the cryptography; the SQL functions
// that call them (start_chain, delegate, rotate_keys) do the bookkeeping. None is granted to
// any role: only SECURITY DEFINER functions owned by the extension's owner reach them.

using namespace warden;
using namespace warden::pg;

// Generates a key for `purpose` ('local': a v4.local token key; 'public': an Ed25519 signing
// key), sealed under the token-wrap subkey. Returns (key_id, public_key, sealed).
WARDEN_SQL_FUNCTION(warden_new_key) {
  const std::string purpose = required_text(fcinfo, 0, "purpose");
  const KeyRing& ring = require_key_ring();
  std::string key_id;
  std::vector<uint8_t> secret, public_key;
  if (purpose == "local") {
    secret.resize(32);
    crypto_aead_xchacha20poly1305_ietf_keygen(secret.data());
    key_id = *paserk::local_id(secret);
  } else if (purpose == "public") {
    secret.resize(crypto_sign_SECRETKEYBYTES);
    public_key.resize(crypto_sign_PUBLICKEYBYTES);
    crypto_sign_keypair(public_key.data(), secret.data());
    key_id = *paserk::public_id(public_key);
  } else {
    throw Error(sqlstate::kInvalidParameterValue, "unknown key purpose \"" + purpose + "\"", {},
                "Use 'local' (token keys) or 'public' (signing keys).");
  }
  std::vector<uint8_t> sealed =
      wrap_secret(ring.subkey(Subkey::kTokenWrap), secret, key_binding(key_id, purpose));
  sodium_memzero(secret.data(), secret.size());
  return composite_result(
      fcinfo,
      {text_datum(key_id), public_key.empty() ? 0 : bytea_datum(public_key), bytea_datum(sealed)},
      {false, public_key.empty(), false});
}

// Mints a task token with the given sealed key and claims.
WARDEN_SQL_FUNCTION(warden_mint_task_token) {
  for (int i : {0, 1, 2, 3, 4, 6, 7}) {
    if (PG_ARGISNULL(i))
      throw Error(sqlstate::kNullValueNotAllowed, "token claims must not be NULL");
  }
  const std::string key_id = *arg_text(fcinfo, 0);
  std::vector<uint8_t> key = open_sealed_key(key_id, "local", *arg_bytea(fcinfo, 1));
  if (key.size() != 32) throw Error(sqlstate::kInternalError, "token key has the wrong size");
  TaskClaims claims;
  claims.token_id = *arg_uuid(fcinfo, 2);
  claims.chain_id = *arg_uuid(fcinfo, 3);
  claims.agent_id = *arg_uuid(fcinfo, 4);
  claims.parent_id = arg_uuid(fcinfo, 5).value_or("");
  claims.issued_at = unix_seconds(GetCurrentTimestamp());
  claims.not_before = unix_seconds(*arg_timestamptz(fcinfo, 6));
  claims.expires_at = unix_seconds(*arg_timestamptz(fcinfo, 7));
  std::array<uint8_t, 32> k{};
  std::memcpy(k.data(), key.data(), 32);
  sodium_memzero(key.data(), key.size());
  std::string token = issue_task_token(k, key_id, claims);
  sodium_memzero(k.data(), k.size());
  return text_datum(token);
}

// Verifies a token string without consulting revocation state. Returns the refusal reason
// (NULL when valid) and the claims.
WARDEN_SQL_FUNCTION(warden_open_token) {
  auto token = arg_text(fcinfo, 0);
  spi_connect();
  std::variant<TaskClaims, TokenRefusal> opened =
      token ? open_task_token(*token)
            : std::variant<TaskClaims, TokenRefusal>(TokenRefusal::malformed);
  spi_finish();
  if (auto* refusal = std::get_if<TokenRefusal>(&opened)) {
    return composite_result(fcinfo, {text_datum(to_string(*refusal)), 0, 0, 0, 0, 0, 0},
                            {false, true, true, true, true, true, true});
  }
  const TaskClaims& c = std::get<TaskClaims>(opened);
  return composite_result(
      fcinfo,
      {0, uuid_datum(c.token_id), uuid_datum(c.chain_id), uuid_datum(c.agent_id),
       c.parent_id.empty() ? 0 : uuid_datum(c.parent_id),
       TimestampTzGetDatum(timestamptz_from_unix(c.issued_at)),
       TimestampTzGetDatum(timestamptz_from_unix(c.expires_at))},
      {true, false, false, false, c.parent_id.empty(), false, false});
}
