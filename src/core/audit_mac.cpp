#include "core/core_only.hpp"

#include "core/audit_mac.hpp"

#include <sodium.h>

#include "core/sodium_init.hpp"

namespace warden {

namespace {

void absorb_u64(crypto_generichash_state& st, uint64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  crypto_generichash_update(&st, le, sizeof le);
}

// Length-prefixed with a null marker, so (NULL) and ("") and shifted boundaries never collide.
void absorb_field(crypto_generichash_state& st, const std::optional<std::string>& field) {
  if (!field) {
    absorb_u64(st, UINT64_MAX);
    return;
  }
  absorb_u64(st, field->size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(field->data()),
                            field->size());
}

}  // namespace

Mac event_mac(Key32View audit_key, const EventLink& link, const EventColumns& columns) {
  ensure_sodium();
  crypto_generichash_state st;
  crypto_generichash_init(&st, audit_key.data(), audit_key.size(), 32);
  static constexpr char kDomain[] = "warden:event:v1";
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kDomain),
                            sizeof kDomain - 1);
  absorb_field(st, link.writer);
  absorb_u64(st, static_cast<uint64_t>(link.seq));
  crypto_generichash_update(&st, link.prev.data(), link.prev.size());
  absorb_u64(st, columns.size());
  for (const auto& c : columns) absorb_field(st, c);
  Mac out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

Mac arguments_digest(Key32View audit_key, const std::string& canonical_arguments) {
  ensure_sodium();
  crypto_generichash_state st;
  crypto_generichash_init(&st, audit_key.data(), audit_key.size(), 32);
  static constexpr char kDomain[] = "warden:arguments:v1";
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kDomain),
                            sizeof kDomain - 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(canonical_arguments.data()),
                            canonical_arguments.size());
  Mac out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

}  // namespace warden
