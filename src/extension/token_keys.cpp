#include "extension/token_keys.hpp"

#include <sodium.h>

#include <cstring>

#include "core/error.hpp"
#include "core/key_wrap.hpp"
#include "extension/keys.hpp"
#include "extension/spi.hpp"

namespace warden::pg {

std::string key_binding(const std::string& key_id, const std::string& purpose) {
  return "warden:key:" + purpose + ":" + key_id;
}

std::vector<uint8_t> open_sealed_key(const std::string& key_id, const std::string& purpose,
                                     const std::vector<uint8_t>& sealed) {
  const KeyRing& ring = require_key_ring();
  auto opened =
      unwrap_secret(ring.subkey(Subkey::kTokenWrap), sealed, key_binding(key_id, purpose));
  if (!opened) {
    throw Error(sqlstate::kConfigFileError, "warden key " + key_id + " cannot be opened",
                "The sealed key does not authenticate under the current root key.",
                "Restore the root key this cluster was created with, or rotate keys with "
                "warden.rotate_keys() if the old key is lost.");
  }
  return *opened;
}

std::variant<TaskClaims, TokenRefusal> open_task_token(std::string_view token) {
  static Statement find_key(
      "SELECT sealed FROM warden.keys WHERE key_id = $1 AND purpose = 'local' AND retired_at IS "
      "NULL",
      {TEXTOID});
  auto lookup = [](std::string_view key_id, uint8_t out[32]) {
    // A key id is a PASERK lid; anything longer is not one of ours and need not hit the table.
    if (key_id.size() > 64) return false;
    if (find_key.run({text_datum(key_id)}, {}, true, 1) != 1) return false;
    auto sealed = result_bytea(0, 0);
    if (!sealed) return false;
    std::vector<uint8_t> key = open_sealed_key(std::string(key_id), "local", *sealed);
    if (key.size() != 32) return false;
    std::memcpy(out, key.data(), 32);
    sodium_memzero(key.data(), key.size());
    return true;
  };
  return verify_task_token(token, lookup, unix_seconds(GetCurrentTimestamp()));
}

}  // namespace warden::pg
