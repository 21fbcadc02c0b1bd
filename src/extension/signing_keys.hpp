#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace warden::pg {

// Runs sign() with the Ed25519 secret key sealed in a warden.keys row, as
// warden._signing_key returned it (key_id, sealed) for this vend.
//
// The opened key is kept per backend between vends: opening is a pure function of
// (key_id, sealed) under the root key, which is fixed for the life of the server, and the
// cache is keyed on both, exactly as read on this vend. A rotation (another key id) or any
// change to the row (a retired key has no sealed bytes) is a miss that wipes the old key
// first, so nothing is served that the uncached path would not open from the same row.
// The key lives in libsodium guarded memory, readable only while sign() runs, and is wiped
// on replacement and when the backend exits.
std::string sign_with_signing_key(
    const std::string& key_id, const std::vector<uint8_t>& sealed,
    const std::function<std::string(std::span<const uint8_t, 64>)>& sign);

}  // namespace warden::pg
