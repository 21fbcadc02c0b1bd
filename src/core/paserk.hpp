#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace warden::paserk {

using LocalKey = std::array<uint8_t, 32>;   // v4.local symmetric key
using PublicKey = std::array<uint8_t, 32>;  // Ed25519 public key
using SecretKey = std::array<uint8_t, 64>;  // Ed25519 seed || public key (libsodium layout)

// k4.local / k4.public / k4.secret. Serializers take dynamic spans so that keys of the wrong
// size are refused at run time (nullopt) rather than truncated; a k4.secret must also have a
// public half that matches its seed.
std::optional<std::string> serialize_local(std::span<const uint8_t> key);
std::optional<std::string> serialize_public(std::span<const uint8_t> key);
std::optional<std::string> serialize_secret(std::span<const uint8_t> key);

// Strict parsers: exact "k4.<type>." prefix, canonical base64url, exact length.
std::optional<LocalKey> parse_local(std::string_view paserk);
std::optional<PublicKey> parse_public(std::string_view paserk);
std::optional<SecretKey> parse_secret(std::string_view paserk);

// Key ids k4.lid / k4.pid / k4.sid: BLAKE2b-264 over "k4.<id>." || serialized key. Safe to
// publish (e.g. in a token footer) since they do not reveal the key.
std::optional<std::string> local_id(std::span<const uint8_t> key);
std::optional<std::string> public_id(std::span<const uint8_t> key);
std::optional<std::string> secret_id(std::span<const uint8_t> key);

}  // namespace warden::paserk
