#include "extension/signing_keys.hpp"

#include <sodium.h>

#include <cstring>
#include <new>
#include <stdexcept>

#include "core/sodium_init.hpp"
#include "extension/boundary.hpp"
#include "extension/token_keys.hpp"

extern "C" {
#include "storage/ipc.h"
}

namespace warden::pg {

namespace {

constexpr size_t kSecretKeyBytes = 64;

struct OpenedSigningKey {
  std::string key_id;
  std::vector<uint8_t> sealed;
  // sodium_malloc'd (mlocked, guard pages), read-only once filled: the same protection as the
  // root key it was unwrapped with (core/root_key.cpp). It is not toggled to no-access
  // between uses: each toggle is an mprotect, which on a virtual machine costs a TLB shootdown
  // per call (measured: ~8 % of a credentialed call's database time), and guards nothing the
  // readable root key beside it does not already expose.
  uint8_t* secret = nullptr;
};
OpenedSigningKey held;
bool exit_hook_registered = false;

void forget_signing_key() {
  if (held.secret != nullptr) {
    sodium_mprotect_readwrite(held.secret);
    sodium_memzero(held.secret, kSecretKeyBytes);
    sodium_free(held.secret);
    held.secret = nullptr;
  }
  held.key_id.clear();
  held.sealed.clear();
}

void forget_at_exit(int, Datum) {
  forget_signing_key();
}

void hold(const std::string& key_id, const std::vector<uint8_t>& sealed) {
  forget_signing_key();
  std::vector<uint8_t> opened = open_sealed_key(key_id, "public", sealed);
  if (opened.size() != kSecretKeyBytes) {
    sodium_memzero(opened.data(), opened.size());
    throw std::runtime_error("signing key has the wrong size");
  }
  ensure_sodium();
  auto* secret = static_cast<uint8_t*>(sodium_malloc(kSecretKeyBytes));
  if (secret == nullptr) {
    sodium_memzero(opened.data(), opened.size());
    throw std::bad_alloc();
  }
  std::memcpy(secret, opened.data(), kSecretKeyBytes);
  sodium_memzero(opened.data(), opened.size());
  sodium_mprotect_readonly(secret);
  if (!exit_hook_registered) {
    pg_call([] { on_proc_exit(forget_at_exit, 0); });
    exit_hook_registered = true;
  }
  held.key_id = key_id;
  held.sealed = sealed;
  held.secret = secret;
}

}  // namespace

std::string sign_with_signing_key(
    const std::string& key_id, const std::vector<uint8_t>& sealed,
    const std::function<std::string(std::span<const uint8_t, 64>)>& sign) {
  if (held.secret == nullptr || held.key_id != key_id || held.sealed != sealed) {
    hold(key_id, sealed);
  }
  return sign(std::span<const uint8_t, 64>(held.secret, kSecretKeyBytes));
}

}  // namespace warden::pg
