#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "core/security_event.hpp"
#include "extension/signing_keys.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"

// Shared Signals (issue 17): Security Event Tokens are signed here, with the same Ed25519
// signing key as vended credentials (published by warden.public_keys()), so the key never
// leaves the server process and receivers verify SETs with the gateway's JWKS.

namespace warden::pg {

int key_rotation_interval_seconds();

}  // namespace warden::pg

using namespace warden;
using namespace warden::pg;

// warden._sign_security_event(payload jsonb) -> text: the SET as a compact JWS.
WARDEN_SQL_FUNCTION(warden_sign_security_event) {
  const std::string payload = required_text(fcinfo, 0, "payload");
  spi_connect();
  static Statement signing_key("SELECT key_id, sealed FROM warden._signing_key($1)", {INT4OID});
  signing_key.run({Int32GetDatum(key_rotation_interval_seconds())});
  const std::string key_id = *signing_key.text(0, "key_id");
  const std::vector<uint8_t> sealed = *signing_key.bytes(0, "sealed");
  std::string set =
      sign_with_signing_key(key_id, sealed, [&](std::span<const uint8_t, 64> secret_key) {
        return mint_security_event(secret_key, key_id, payload);
      });
  spi_finish();
  return text_datum(set);
}
