#include "core/core_only.hpp"

#include <sodium.h>

#include <array>

#include "core/byte_view.hpp"
#include "core/pae.hpp"
#include "core/paseto.hpp"
#include "core/paseto_frame.hpp"
#include "core/sodium_init.hpp"

namespace warden::paseto {
namespace {

constexpr std::string_view kHeader = "v4.public.";
constexpr size_t kSignatureSize = crypto_sign_BYTES;

}  // namespace

std::string public_sign(std::span<const uint8_t, 64> secret_key, std::string_view payload,
                        std::string_view footer, std::string_view implicit) {
  ensure_sodium();
  const auto message = pae({kHeader, payload, footer, implicit});
  std::array<uint8_t, kSignatureSize> signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                       secret_key.data());
  std::string body(payload);
  body += char_view(signature);
  return seal_frame(kHeader, body, footer);
}

Result public_verify(std::span<const uint8_t, 32> public_key, std::string_view token,
                     std::string_view implicit) {
  ensure_sodium();
  auto opened = open_frame(token, "public");
  if (auto* error = std::get_if<TokenError>(&opened)) return *error;
  Frame& frame = std::get<Frame>(opened);
  if (frame.body.size() < kSignatureSize) return TokenError::malformed;

  const std::span<const uint8_t> body(frame.body);
  const auto payload = char_view(body.first(body.size() - kSignatureSize));
  const auto signature = body.last(kSignatureSize);
  const auto message = pae({kHeader, payload, frame.footer, implicit});
  if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                  public_key.data()) != 0) {
    return TokenError::bad_tag;
  }
  return Token{std::string(payload), std::move(frame.footer)};
}

}  // namespace warden::paseto
