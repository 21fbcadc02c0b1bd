#include "core/core_only.hpp"

#include "core/paserk.hpp"

#include <sodium.h>

#include <algorithm>

#include "core/base64url.hpp"
#include "core/blake2b.hpp"
#include "core/byte_view.hpp"
#include "core/sodium_init.hpp"

namespace warden::paserk {
namespace {

constexpr std::string_view kLocal = "k4.local.";
constexpr std::string_view kPublic = "k4.public.";
constexpr std::string_view kSecret = "k4.secret.";

std::string serialize(std::string_view header, std::span<const uint8_t> key) {
  return std::string(header) + base64url_encode(key);
}

template <size_t N>
std::optional<std::array<uint8_t, N>> parse(std::string_view header, std::string_view paserk) {
  if (!paserk.starts_with(header)) return std::nullopt;
  const std::string_view encoded = paserk.substr(header.size());
  // Checking the length first also bounds the work done for hostile input.
  if (encoded.size() != base64url_encoded_size(N)) return std::nullopt;
  auto bytes = base64url_decode(encoded);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<uint8_t, N> key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  sodium_memzero(bytes->data(), bytes->size());
  return key;
}

// A secret key whose public half does not match its seed would sign with one key while
// advertising another; refuse it everywhere.
bool secret_key_consistent(std::span<const uint8_t> key) {
  ensure_sodium();
  std::array<uint8_t, 32> pk{};
  std::array<uint8_t, 64> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), key.data());
  sodium_memzero(sk.data(), sk.size());
  return sodium_memcmp(pk.data(), key.data() + 32, pk.size()) == 0;
}

std::string make_id(std::string_view id_header, const std::string& serialized) {
  std::array<uint8_t, 33> digest{};
  blake2b(digest, {}, {byte_view(id_header), byte_view(serialized)});
  return std::string(id_header) + base64url_encode(digest);
}

}  // namespace

std::optional<std::string> serialize_local(std::span<const uint8_t> key) {
  if (key.size() != 32) return std::nullopt;
  return serialize(kLocal, key);
}

std::optional<std::string> serialize_public(std::span<const uint8_t> key) {
  if (key.size() != 32) return std::nullopt;
  return serialize(kPublic, key);
}

std::optional<std::string> serialize_secret(std::span<const uint8_t> key) {
  if (key.size() != 64 || !secret_key_consistent(key)) return std::nullopt;
  return serialize(kSecret, key);
}

std::optional<LocalKey> parse_local(std::string_view paserk) {
  return parse<32>(kLocal, paserk);
}

std::optional<PublicKey> parse_public(std::string_view paserk) {
  return parse<32>(kPublic, paserk);
}

std::optional<SecretKey> parse_secret(std::string_view paserk) {
  auto key = parse<64>(kSecret, paserk);
  if (key && !secret_key_consistent(*key)) {
    sodium_memzero(key->data(), key->size());
    return std::nullopt;
  }
  return key;
}

std::optional<std::string> local_id(std::span<const uint8_t> key) {
  auto serialized = serialize_local(key);
  if (!serialized) return std::nullopt;
  auto id = make_id("k4.lid.", *serialized);
  // make_id takes a const& and reallocates nothing; the analyzer cannot see that.
  // NOLINTNEXTLINE(clang-analyzer-cplusplus.InnerPointer)
  sodium_memzero(serialized->data(), serialized->size());
  return id;
}

std::optional<std::string> public_id(std::span<const uint8_t> key) {
  auto serialized = serialize_public(key);
  if (!serialized) return std::nullopt;
  return make_id("k4.pid.", *serialized);
}

std::optional<std::string> secret_id(std::span<const uint8_t> key) {
  auto serialized = serialize_secret(key);
  if (!serialized) return std::nullopt;
  auto id = make_id("k4.sid.", *serialized);
  // make_id takes a const& and reallocates nothing; the analyzer cannot see that.
  // NOLINTNEXTLINE(clang-analyzer-cplusplus.InnerPointer)
  sodium_memzero(serialized->data(), serialized->size());
  return id;
}

}  // namespace warden::paserk
