#include "core/core_only.hpp"

#include <sodium.h>

#include <array>

#include "core/blake2b.hpp"
#include "core/byte_view.hpp"
#include "core/pae.hpp"
#include "core/paseto.hpp"
#include "core/paseto_frame.hpp"
#include "core/paseto_testing.hpp"
#include "core/secret_bytes.hpp"
#include "core/sodium_init.hpp"

namespace warden::paseto {
namespace {

constexpr std::string_view kHeader = "v4.local.";
constexpr size_t kNonceSize = 32;
constexpr size_t kTagSize = 32;

// Per-token keys derived from the long-term key and the nonce, wiped on scope exit.
struct DerivedKeys {
  SecretBytes<56> enc;  // Ek (32 bytes) || n2 (24-byte XChaCha20 nonce)
  Key32 auth;

  DerivedKeys(std::span<const uint8_t, 32> key, std::span<const uint8_t> nonce) {
    blake2b(enc.writable(), key, {byte_view("paseto-encryption-key"), nonce});
    blake2b(auth.writable(), key, {byte_view("paseto-auth-key-for-aead"), nonce});
  }

  const uint8_t* ek() const { return enc.data(); }
  const uint8_t* n2() const { return enc.data() + 32; }
};

std::array<uint8_t, kTagSize> compute_tag(const DerivedKeys& keys, std::span<const uint8_t> nonce,
                                          std::string_view ciphertext, std::string_view footer,
                                          std::string_view implicit) {
  const auto pre_auth = pae({kHeader, char_view(nonce), ciphertext, footer, implicit});
  std::array<uint8_t, kTagSize> tag{};
  blake2b(tag, keys.auth.view(), {pre_auth});
  return tag;
}

}  // namespace

namespace testing {

std::string local_encrypt_with_nonce(std::span<const uint8_t, 32> key,
                                     std::span<const uint8_t, 32> nonce, std::string_view payload,
                                     std::string_view footer, std::string_view implicit) {
  ensure_sodium();
  const DerivedKeys keys(key, nonce);
  // body = n || c || t, built in place to avoid extra copies.
  std::string body(kNonceSize + payload.size() + kTagSize, '\0');
  auto* out = reinterpret_cast<uint8_t*>(body.data());
  std::copy(nonce.begin(), nonce.end(), out);
  crypto_stream_xchacha20_xor(out + kNonceSize, byte_view(payload).data(), payload.size(),
                              keys.n2(), keys.ek());
  const std::string_view ciphertext(body.data() + kNonceSize, payload.size());
  const auto tag = compute_tag(keys, nonce, ciphertext, footer, implicit);
  std::copy(tag.begin(), tag.end(), out + kNonceSize + payload.size());
  return seal_frame(kHeader, body, footer);
}

}  // namespace testing

std::string local_encrypt(std::span<const uint8_t, 32> key, std::string_view payload,
                          std::string_view footer, std::string_view implicit) {
  ensure_sodium();
  std::array<uint8_t, kNonceSize> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  return testing::local_encrypt_with_nonce(key, nonce, payload, footer, implicit);
}

Result local_decrypt(std::span<const uint8_t, 32> key, std::string_view token,
                     std::string_view implicit) {
  ensure_sodium();
  auto opened = open_frame(token, "local");
  if (auto* error = std::get_if<TokenError>(&opened)) return *error;
  Frame& frame = std::get<Frame>(opened);
  if (frame.body.size() < kNonceSize + kTagSize) return TokenError::malformed;

  const std::span<const uint8_t> body(frame.body);
  const auto nonce = body.first(kNonceSize);
  const auto ciphertext = body.subspan(kNonceSize, body.size() - kNonceSize - kTagSize);
  const auto tag = body.last(kTagSize);

  const DerivedKeys keys(key, nonce);
  const auto expected = compute_tag(keys, nonce, char_view(ciphertext), frame.footer, implicit);
  if (crypto_verify_32(expected.data(), tag.data()) != 0) return TokenError::bad_tag;

  std::string payload(ciphertext.size(), '\0');
  crypto_stream_xchacha20_xor(reinterpret_cast<uint8_t*>(payload.data()), ciphertext.data(),
                              ciphertext.size(), keys.n2(), keys.ek());
  return Token{std::move(payload), std::move(frame.footer)};
}

}  // namespace warden::paseto
