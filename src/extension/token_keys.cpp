#include "extension/token_keys.hpp"

#include <sodium.h>

#include <array>
#include <cstring>
#include <span>
#include <vector>

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

namespace {

// Opened token keys, per backend, by key id. Safe to keep: a key is only retired once every
// token it issued has expired, and expiry is checked on every verification; revocation is
// read from warden.tokens on every call and never cached. Bounded, and wiped on eviction.
class TokenKeyCache {
 public:
  bool find(std::string_view key_id, std::span<uint8_t, 32> out) const {
    for (const auto& e : entries_) {
      if (e.key_id == key_id) {
        std::memcpy(out.data(), e.key.data(), out.size());
        return true;
      }
    }
    return false;
  }
  void add(std::string_view key_id, std::span<const uint8_t, 32> key) {
    if (entries_.size() >= kCapacity) {
      sodium_memzero(entries_.front().key.data(), 32);
      entries_.erase(entries_.begin());
    }
    Entry e{std::string(key_id), {}};
    std::memcpy(e.key.data(), key.data(), key.size());
    entries_.push_back(std::move(e));
  }

 private:
  static constexpr size_t kCapacity = 8;
  struct Entry {
    std::string key_id;
    std::array<uint8_t, 32> key;
  };
  std::vector<Entry> entries_;
};

TokenKeyCache opened_keys;

}  // namespace

std::variant<TaskClaims, TokenRefusal> open_task_token(std::string_view token) {
  static Statement find_key(
      "SELECT sealed FROM warden.keys WHERE key_id = $1 AND purpose = 'local' AND retired_at IS "
      "NULL",
      {TEXTOID});
  auto lookup = [](std::string_view key_id, std::span<uint8_t, 32> out) {
    // A key id is a PASERK lid; anything longer is not one of ours and need not hit the table.
    if (key_id.size() > 64) return false;
    if (opened_keys.find(key_id, out)) return true;
    if (find_key.run({text_datum(key_id)}, {}, true, 1) != 1) return false;
    auto sealed = find_key.bytes(0, "sealed");
    if (!sealed) return false;
    std::vector<uint8_t> key = open_sealed_key(std::string(key_id), "local", *sealed);
    if (key.size() != 32) return false;
    std::memcpy(out.data(), key.data(), out.size());
    sodium_memzero(key.data(), key.size());
    opened_keys.add(key_id, out);
    return true;
  };
  return verify_task_token(token, lookup, unix_seconds(GetCurrentTimestamp()));
}

}  // namespace warden::pg
