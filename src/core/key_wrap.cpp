#include "core/core_only.hpp"

#include "core/key_wrap.hpp"

#include <sodium.h>

#include "core/sodium_init.hpp"

namespace warden {

namespace {
constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

const unsigned char* ad_bytes(std::string_view ad) {
  return reinterpret_cast<const unsigned char*>(ad.data());
}
}  // namespace

std::vector<uint8_t> wrap_secret(Key32View kek, std::span<const uint8_t> plaintext,
                                 std::string_view associated_data) {
  ensure_sodium();
  std::vector<uint8_t> out(kNonce + plaintext.size() + kTag);
  randombytes_buf(out.data(), kNonce);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kNonce, &written, plaintext.data(), plaintext.size(), ad_bytes(associated_data),
      associated_data.size(), nullptr, out.data(), kek.data());
  out.resize(kNonce + written);
  return out;
}

std::optional<std::vector<uint8_t>> unwrap_secret(Key32View kek, std::span<const uint8_t> sealed,
                                                  std::string_view associated_data) {
  ensure_sodium();
  if (sealed.size() < kNonce + kTag) return std::nullopt;
  std::vector<uint8_t> out(sealed.size() - kNonce - kTag);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &written, nullptr, sealed.data() + kNonce, sealed.size() - kNonce,
          ad_bytes(associated_data), associated_data.size(), sealed.data(), kek.data()) != 0) {
    return std::nullopt;
  }
  out.resize(written);
  return out;
}

}  // namespace warden
