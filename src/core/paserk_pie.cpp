#include "core/core_only.hpp"

#include "core/paserk_pie.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <vector>

#include "core/base64url.hpp"
#include "core/blake2b.hpp"
#include "core/byte_view.hpp"
#include "core/secret_bytes.hpp"
#include "core/sodium_init.hpp"

namespace warden::paserk {
namespace {

constexpr std::string_view kLocalHeader = "k4.local-wrap.pie.";
constexpr std::string_view kSecretHeader = "k4.secret-wrap.pie.";
const std::array<uint8_t, 1> kEncDomain{0x80};
const std::array<uint8_t, 1> kAuthDomain{0x81};

// Ek || n2 and Ak for one wrap, derived from the wrapping key and the random nonce.
struct PieKeys {
  SecretBytes<56> enc;  // Ek (32 bytes) || n2 (24-byte XChaCha20 nonce)
  Key32 auth;

  PieKeys(std::span<const uint8_t> wrapping_key, std::span<const uint8_t> nonce) {
    blake2b(enc.writable(), wrapping_key, {kEncDomain, nonce});
    blake2b(auth.writable(), wrapping_key, {kAuthDomain, nonce});
  }
};

std::string wrap(std::string_view header, std::span<const uint8_t> key,
                 std::span<const uint8_t, 32> wrapping_key) {
  ensure_sodium();
  // payload = t || n || c
  std::vector<uint8_t> payload(64 + key.size());
  const auto nonce = std::span(payload).subspan(32, 32);
  randombytes_buf(nonce.data(), nonce.size());
  const PieKeys keys(wrapping_key, nonce);
  uint8_t* c = payload.data() + 64;
  crypto_stream_xchacha20_xor(c, key.data(), key.size(), keys.enc.data() + 32, keys.enc.data());
  blake2b(std::span(payload).first(32), keys.auth.view(),
          {byte_view(header), nonce, {c, key.size()}});
  return std::string(header) + base64url_encode(payload);
}

template <size_t N>
std::optional<std::array<uint8_t, N>> unwrap(std::string_view header, std::string_view paserk,
                                             std::span<const uint8_t, 32> wrapping_key) {
  ensure_sodium();
  if (!paserk.starts_with(header)) return std::nullopt;
  const auto encoded = paserk.substr(header.size());
  if (encoded.size() != base64url_encoded_size(64 + N)) return std::nullopt;
  const auto payload = base64url_decode(encoded);
  if (!payload || payload->size() != 64 + N) return std::nullopt;
  const std::span<const uint8_t> bytes(*payload);
  const auto tag = bytes.first(32);
  const auto nonce = bytes.subspan(32, 32);
  const auto c = bytes.subspan(64);

  const PieKeys keys(wrapping_key, nonce);
  std::array<uint8_t, 32> expected{};
  blake2b(expected, keys.auth.view(), {byte_view(header), nonce, c});
  if (crypto_verify_32(expected.data(), tag.data()) != 0) return std::nullopt;
  std::array<uint8_t, N> key{};
  crypto_stream_xchacha20_xor(key.data(), c.data(), c.size(), keys.enc.data() + 32,
                              keys.enc.data());
  return key;
}

}  // namespace

std::string wrap_local_pie(std::span<const uint8_t, 32> key,
                           std::span<const uint8_t, 32> wrapping_key) {
  return wrap(kLocalHeader, key, wrapping_key);
}

std::optional<LocalKey> unwrap_local_pie(std::string_view paserk,
                                         std::span<const uint8_t, 32> wrapping_key) {
  return unwrap<32>(kLocalHeader, paserk, wrapping_key);
}

std::string wrap_secret_pie(std::span<const uint8_t, 64> key,
                            std::span<const uint8_t, 32> wrapping_key) {
  return wrap(kSecretHeader, key, wrapping_key);
}

std::optional<SecretKey> unwrap_secret_pie(std::string_view paserk,
                                           std::span<const uint8_t, 32> wrapping_key) {
  return unwrap<64>(kSecretHeader, paserk, wrapping_key);
}

}  // namespace warden::paserk
