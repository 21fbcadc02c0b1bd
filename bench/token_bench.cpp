#include <benchmark/benchmark.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/pae.hpp"
#include "core/paseto.hpp"
#include "core/sodium_init.hpp"
#include "core/task_token.hpp"

// Compares full token verification with the bare libsodium primitives it is built from, to
// show the parsing / allocation overhead of the PASETO layer (ratio printed at the end).

namespace {

using namespace warden;

// A realistic task token: ~200 bytes of JSON claims, ~60-byte footer carrying the key id.
const std::string kClaims =
    R"({"iss":"warden","sub":"agent:build-bot-7","aud":"mcp:warden","task":"t-7f3a9c21",)"
    R"("scope":["db.read:orders","db.read:customers"],"iat":"2025-01-01T00:00:00Z",)"
    R"("exp":"2025-01-01T00:15:00Z","jti":"4b1d"})";
const std::string kFooter = R"({"kid":"k4.lid.bqltbNc4JLUAmc9Xtpok-fBuI0dQN5_m3CD9W_nbh559"})";

struct Fixture {
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, 32> pk{};
  std::array<uint8_t, 64> sk{};
  std::string local_token;
  std::string public_token;

  Fixture() {
    ensure_sodium();
    randombytes_buf(key.data(), key.size());
    crypto_sign_keypair(pk.data(), sk.data());
    local_token = paseto::local_encrypt(key, kClaims, kFooter);
    public_token = paseto::public_sign(sk, kClaims, kFooter);
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

void BM_LocalDecrypt(benchmark::State& state) {
  const auto& f = fixture();
  for (auto _ : state) {
    auto result = paseto::local_decrypt(f.key, f.local_token);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_LocalDecrypt);

// Exactly the cryptographic work local_decrypt must do: two keyed BLAKE2b derivations, the
// MAC over the PAE of the same sizes, a constant-time compare and XChaCha20 over the payload.
void BM_LocalRawPrimitives(benchmark::State& state) {
  const auto& f = fixture();
  std::array<uint8_t, 32> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  std::vector<uint8_t> enc_msg(21 + 32), auth_msg(24 + 32);
  const std::string ciphertext(kClaims.size(), 'c');
  const auto pre_auth =
      pae({"v4.local.", std::string_view(reinterpret_cast<const char*>(nonce.data()), 32),
           ciphertext, kFooter, ""});
  std::array<uint8_t, 56> enc{};
  std::array<uint8_t, 32> ak{};
  std::array<uint8_t, 32> tag{};
  std::array<uint8_t, 32> expected{};
  std::vector<uint8_t> plain(kClaims.size());
  for (auto _ : state) {
    crypto_generichash(enc.data(), enc.size(), enc_msg.data(), enc_msg.size(), f.key.data(), 32);
    crypto_generichash(ak.data(), ak.size(), auth_msg.data(), auth_msg.size(), f.key.data(), 32);
    crypto_generichash(tag.data(), tag.size(), pre_auth.data(), pre_auth.size(), ak.data(), 32);
    benchmark::DoNotOptimize(sodium_memcmp(tag.data(), expected.data(), 32));
    crypto_stream_xchacha20_xor(plain.data(), reinterpret_cast<const uint8_t*>(ciphertext.data()),
                                ciphertext.size(), enc.data() + 32, enc.data());
    benchmark::DoNotOptimize(plain.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_LocalRawPrimitives);

// What warden does per call: verify a real task token (footer key id, key lookup, decrypt,
// claims parse, validity window), against the same raw primitives.
void BM_VerifyTaskToken(benchmark::State& state) {
  const auto& f = fixture();
  TaskClaims claims{"4b1d0c2e-6f3a-4c21-9d8e-7a6b5c4d3e2f",
                    "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
                    "1a2b3c4d-5e6f-4708-9a1b-2c3d4e5f6a7b",
                    "",
                    1796000000,
                    1796000000,
                    1796000900};
  const std::string token =
      issue_task_token(f.key, "k4.lid.bqltbNc4JLUAmc9Xtpok-fBuI0dQN5_m3CD9W_nbh559", claims);
  auto lookup = [&](std::string_view, std::span<uint8_t, 32> out) {
    std::copy(f.key.begin(), f.key.end(), out.begin());
    return true;
  };
  for (auto _ : state) {
    auto result = verify_task_token(token, lookup, 1796000100);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_VerifyTaskToken);

void BM_PublicVerify(benchmark::State& state) {
  const auto& f = fixture();
  for (auto _ : state) {
    auto result = paseto::public_verify(f.pk, f.public_token);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_PublicVerify);

void BM_PublicRawVerify(benchmark::State& state) {
  const auto& f = fixture();
  const auto message = pae({"v4.public.", kClaims, kFooter, ""});
  std::array<uint8_t, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), f.sk.data());
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        crypto_sign_verify_detached(sig.data(), message.data(), message.size(), f.pk.data()));
  }
}
BENCHMARK(BM_PublicRawVerify);

// Console output as usual, plus the per-iteration CPU time (steadier than wall time on a shared
// machine) of each benchmark for the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type == Run::RT_Iteration) times[run.benchmark_name()] = run.GetAdjustedCPUTime();
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> times;
};

void print_ratio(const RatioReporter& r, const char* label, const char* full, const char* raw) {
  const auto a = r.times.find(full);
  const auto b = r.times.find(raw);
  if (a == r.times.end() || b == r.times.end() || b->second <= 0) return;
  std::printf("ratio %s = %.2f (%.0f ns vs %.0f ns)\n", label, a->second / b->second, a->second,
              b->second);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("token size: local %zu bytes, public %zu bytes\n", fixture().local_token.size(),
              fixture().public_token.size());
  print_ratio(reporter, "local_decrypt/raw", "BM_LocalDecrypt", "BM_LocalRawPrimitives");
  print_ratio(reporter, "public_verify/raw", "BM_PublicVerify", "BM_PublicRawVerify");
  print_ratio(reporter, "verify_task_token/raw", "BM_VerifyTaskToken", "BM_LocalRawPrimitives");
  return 0;
}
