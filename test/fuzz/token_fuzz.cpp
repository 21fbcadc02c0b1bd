#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/base64url.hpp"
#include "core/paserk.hpp"
#include "core/paserk_pie.hpp"
#include "core/paserk_seal.hpp"
#include "core/paseto.hpp"
#include "core/sodium_init.hpp"

namespace {

using namespace warden;

struct Keys {
  std::array<uint8_t, 32> local{};
  std::array<uint8_t, 32> pk{};
  std::array<uint8_t, 64> sk{};

  Keys() {
    ensure_sodium();
    local.fill(0x42);
    std::array<uint8_t, 32> seed{};
    seed.fill(0x17);
    crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  }
};

const Keys& keys() {
  static const Keys k;
  return k;
}

void require(bool condition) {
  if (!condition) std::abort();
}

// Arbitrary input must never be accepted by the verifiers (that would be a forgery) and must
// never crash any parser.
void parse_everything(std::string_view input) {
  const auto& k = keys();
  require(!paseto::local_decrypt(k.local, input).ok());
  require(!paseto::public_verify(k.pk, input).ok());
  (void)paseto::peek_footer(input);
  (void)paserk::parse_local(input);
  (void)paserk::parse_public(input);
  (void)paserk::parse_secret(input);
  require(!paserk::unseal_local(input, k.sk));
  require(!paserk::unwrap_local_pie(input, k.local));
  require(!paserk::unwrap_secret_pie(input, k.local));
  // Strict decoding means an accepted string is the one canonical encoding of its bytes.
  if (auto bytes = base64url_decode(input)) require(base64url_encode(*bytes) == input);
}

// Splits the input into payload / footer / implicit and checks both purposes round-trip.
void round_trip(std::string_view input) {
  const auto& k = keys();
  const size_t a = input.empty() ? 0 : static_cast<uint8_t>(input[0]) % (input.size() + 1);
  const size_t b = input.size() < 2 ? 0 : static_cast<uint8_t>(input[1]) % (input.size() + 1);
  const auto payload = input.substr(0, a);
  const auto footer = input.substr(a, b);
  const auto implicit = input.substr(std::min(input.size(), a + b));

  const auto local = paseto::local_encrypt(k.local, payload, footer, implicit);
  const auto opened = paseto::local_decrypt(k.local, local, implicit);
  require(opened.ok() && opened.value().payload == payload && opened.value().footer == footer);
  require(paseto::peek_footer(local) == footer);

  const auto signed_token = paseto::public_sign(k.sk, payload, footer, implicit);
  const auto verified = paseto::public_verify(k.pk, signed_token, implicit);
  require(verified.ok() && verified.value().payload == payload &&
          verified.value().footer == footer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  parse_everything(input);
  round_trip(input);
  return 0;
}
