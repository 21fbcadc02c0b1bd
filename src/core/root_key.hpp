#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>

#include "core/secret_bytes.hpp"

namespace warden {

inline constexpr size_t kKeyBytes = 32;

// Subkeys derived from the root key, one per purpose, so that no two uses share a key.
enum class Subkey : uint64_t {
  kTokenWrap = 1,  // encrypts token and signing keys at rest
  kAuditMac = 2,   // keyed digests and MACs over audit events
  kVaultWrap = 3,  // encrypts vaulted upstream secrets at rest
};

// The root key lives in libsodium guarded memory (mlocked, guard pages, read-only after
// loading); only the derived subkeys are kept, the root itself is wiped after derivation.
class KeyRing {
 public:
  KeyRing();
  ~KeyRing();
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // Derives every subkey from a 32-byte root and locks the memory read-only.
  void install_root(const uint8_t* root);
  bool loaded() const { return loaded_; }
  // A subkey; throws std::logic_error before install_root (a key of zeros is never handed out).
  Key32View subkey(Subkey which) const;

 private:
  uint8_t* memory_;
  bool loaded_ = false;
};

// Where a root key comes from and why it could not be read. Error text never contains key bytes.
struct RootKeyError {
  std::string setting;
  std::string message;
};
using RootKeyResult = std::variant<std::array<uint8_t, kKeyBytes>, RootKeyError>;

// The key text is 64 hexadecimal characters, optionally followed by a newline.
RootKeyResult parse_root_key_text(const std::string& text, const std::string& setting);
// Refuses a file that other users could read: the key must be private to the server's user.
RootKeyResult read_root_key_file(const std::string& path);
RootKeyResult read_root_key_command(const std::string& command);

}  // namespace warden
