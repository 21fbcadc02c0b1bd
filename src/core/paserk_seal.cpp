#include "core/core_only.hpp"

#include "core/paserk_seal.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "core/base64url.hpp"
#include "core/blake2b.hpp"
#include "core/byte_view.hpp"
#include "core/secret_bytes.hpp"
#include "core/sodium_init.hpp"

namespace warden::paserk {
namespace {

constexpr std::string_view kHeader = "k4.seal.";
constexpr size_t kPayloadSize = 32 + 32 + 32;  // tag || ephemeral public key || encrypted key

const std::array<uint8_t, 1> kEncDomain{0x01};
const std::array<uint8_t, 1> kAuthDomain{0x02};

// Keys shared by seal and unseal, derived from the X25519 shared secret and both public keys.
struct SealKeys {
  Key32 ek;
  Key32 ak;
  std::array<uint8_t, 24> nonce{};

  SealKeys(std::span<const uint8_t> shared, std::span<const uint8_t> epk,
           std::span<const uint8_t> xpk) {
    const auto h = byte_view(kHeader);
    blake2b(ek.writable(), {}, {kEncDomain, h, shared, epk, xpk});
    blake2b(ak.writable(), {}, {kAuthDomain, h, shared, epk, xpk});
    blake2b(nonce, {}, {epk, xpk});
  }
};

std::array<uint8_t, 32> seal_tag(const SealKeys& keys, std::span<const uint8_t> epk,
                                 std::span<const uint8_t> edk) {
  std::array<uint8_t, 32> tag{};
  blake2b(tag, keys.ak.view(), {byte_view(kHeader), epk, edk});
  return tag;
}

}  // namespace

std::optional<std::string> seal_local(std::span<const uint8_t, 32> local_key,
                                      std::span<const uint8_t, 32> recipient_public_key) {
  ensure_sodium();
  std::array<uint8_t, 32> xpk{};
  if (crypto_sign_ed25519_pk_to_curve25519(xpk.data(), recipient_public_key.data()) != 0) {
    return std::nullopt;
  }
  Key32 esk;
  std::array<uint8_t, 32> epk{};
  Key32 shared;
  crypto_box_keypair(epk.data(), esk.data());
  const bool ok = crypto_scalarmult(shared.data(), esk.data(), xpk.data()) == 0;
  esk.wipe();
  if (!ok) return std::nullopt;

  const SealKeys keys(shared.view(), epk, xpk);
  shared.wipe();
  std::array<uint8_t, kPayloadSize> payload{};
  uint8_t* edk = payload.data() + 64;
  crypto_stream_xchacha20_xor(edk, local_key.data(), 32, keys.nonce.data(), keys.ek.data());
  const auto tag = seal_tag(keys, epk, {edk, 32});
  std::copy(tag.begin(), tag.end(), payload.begin());
  std::copy(epk.begin(), epk.end(), payload.begin() + 32);
  return std::string(kHeader) + base64url_encode(payload);
}

std::optional<LocalKey> unseal_local(std::string_view paserk,
                                     std::span<const uint8_t, 64> recipient_secret_key) {
  ensure_sodium();
  if (!paserk.starts_with(kHeader)) return std::nullopt;
  const auto encoded = paserk.substr(kHeader.size());
  if (encoded.size() != base64url_encoded_size(kPayloadSize)) return std::nullopt;
  const auto payload = base64url_decode(encoded);
  if (!payload || payload->size() != kPayloadSize) return std::nullopt;
  const std::span<const uint8_t> bytes(*payload);
  const auto tag = bytes.first(32);
  const auto epk = bytes.subspan(32, 32);
  const auto edk = bytes.subspan(64, 32);

  Key32 xsk;
  std::array<uint8_t, 32> xpk{};
  Key32 shared;
  bool ok =
      crypto_sign_ed25519_pk_to_curve25519(xpk.data(), recipient_secret_key.data() + 32) == 0 &&
      crypto_sign_ed25519_sk_to_curve25519(xsk.data(), recipient_secret_key.data()) == 0 &&
      crypto_scalarmult(shared.data(), xsk.data(), epk.data()) == 0;
  xsk.wipe();
  if (!ok) return std::nullopt;

  const SealKeys keys(shared.view(), epk, xpk);
  shared.wipe();
  const auto expected = seal_tag(keys, epk, edk);
  if (crypto_verify_32(expected.data(), tag.data()) != 0) return std::nullopt;
  LocalKey key{};
  crypto_stream_xchacha20_xor(key.data(), edk.data(), edk.size(), keys.nonce.data(),
                              keys.ek.data());
  return key;
}

}  // namespace warden::paserk
