#include "core/paserk.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstdio>
#include <functional>
#include <string>

#include "core/base64url.hpp"
#include "core/jwk.hpp"
#include "core/paserk_pie.hpp"
#include "core/paserk_seal.hpp"
#include "core/sodium_init.hpp"
#include "paseto_vectors.hpp"

namespace warden::paserk {
namespace {

using test::from_hex;
using test::load_paseto_vectors;
using test::str_field;

template <size_t N>
std::array<uint8_t, N> fixed(const std::vector<uint8_t>& v) {
  std::array<uint8_t, N> out{};
  EXPECT_EQ(v.size(), N);
  if (v.size() == N) std::copy(v.begin(), v.end(), out.begin());
  return out;
}

template <size_t N>
std::vector<uint8_t> vec(const std::optional<std::array<uint8_t, N>>& a) {
  return a ? std::vector<uint8_t>(a->begin(), a->end()) : std::vector<uint8_t>{};
}

// Runs check on every case of a vector file and fails if the file is missing or any case does.
void run_file(const std::string& file, const std::function<void(const nlohmann::json&)>& check) {
  const auto doc = load_paseto_vectors(file);
  ASSERT_TRUE(doc) << "missing test/vectors/paseto/" << file;
  auto* result = ::testing::UnitTest::GetInstance()->current_test_info()->result();
  int passed = 0;
  for (const auto& tc : (*doc)["tests"]) {
    SCOPED_TRACE(tc["name"].get<std::string>());
    const int before = result->total_part_count();
    check(tc);
    if (result->total_part_count() == before) ++passed;
  }
  EXPECT_EQ(passed, static_cast<int>((*doc)["tests"].size()));
  std::printf("[ vectors  ] %s: %d/%zu passed\n", file.c_str(), passed, (*doc)["tests"].size());
}

// For k4.local / k4.public / k4.secret: serialize and parse must agree with the vector, and
// fail cases must be refused in whichever direction the vector gives data for.
template <typename Parse>
void check_key_case(const nlohmann::json& tc,
                    const std::function<std::optional<std::string>(std::span<const uint8_t>)>& ser,
                    Parse parse) {
  const auto key = str_field(tc, "key");
  const auto paserk = str_field(tc, "paserk");
  if (tc["expect-fail"].get<bool>()) {
    ASSERT_TRUE(key || paserk);
    if (key) {
      EXPECT_FALSE(ser(from_hex(*key)));
    }
    if (paserk) {
      EXPECT_FALSE(parse(*paserk));
    }
    return;
  }
  ASSERT_TRUE(key && paserk);
  EXPECT_EQ(ser(from_hex(*key)), *paserk);
  EXPECT_EQ(vec(parse(*paserk)), from_hex(*key));
}

TEST(PaserkVectors, Local) {
  run_file("k4.local.json",
           [](const nlohmann::json& tc) { check_key_case(tc, serialize_local, parse_local); });
}

TEST(PaserkVectors, Public) {
  run_file("k4.public.json",
           [](const nlohmann::json& tc) { check_key_case(tc, serialize_public, parse_public); });
}

TEST(PaserkVectors, Secret) {
  run_file("k4.secret.json", [](const nlohmann::json& tc) {
    check_key_case(tc, serialize_secret, parse_secret);
    const auto seed = str_field(tc, "secret-key-seed");
    if (!tc["expect-fail"].get<bool>() && seed) {
      std::array<uint8_t, 32> pk{};
      std::array<uint8_t, 64> sk{};
      crypto_sign_seed_keypair(pk.data(), sk.data(), from_hex(*seed).data());
      EXPECT_EQ(std::vector<uint8_t>(sk.begin(), sk.end()), from_hex(tc["key"]));
      EXPECT_EQ(std::vector<uint8_t>(pk.begin(), pk.end()), from_hex(tc["public-key"]));
    }
  });
}

void check_id_case(const nlohmann::json& tc,
                   const std::function<std::optional<std::string>(std::span<const uint8_t>)>& id) {
  const auto key = from_hex(tc["key"]);
  if (tc["expect-fail"].get<bool>()) {
    EXPECT_FALSE(id(key));
  } else {
    EXPECT_EQ(id(key), tc["paserk"].get<std::string>());
  }
}

TEST(PaserkVectors, Lid) {
  run_file("k4.lid.json", [](const nlohmann::json& tc) { check_id_case(tc, local_id); });
}

TEST(PaserkVectors, Pid) {
  run_file("k4.pid.json", [](const nlohmann::json& tc) { check_id_case(tc, public_id); });
}

TEST(PaserkVectors, Sid) {
  run_file("k4.sid.json", [](const nlohmann::json& tc) { check_id_case(tc, secret_id); });
}

TEST(PaserkVectors, Seal) {
  run_file("k4.seal.json", [](const nlohmann::json& tc) {
    const auto sk = fixed<64>(from_hex(tc["sealing-secret-key"]));
    const auto pk = fixed<32>(from_hex(tc["sealing-public-key"]));
    const auto opened = unseal_local(tc["paserk"].get<std::string>(), sk);
    if (tc["expect-fail"].get<bool>()) {
      EXPECT_FALSE(opened);
      return;
    }
    EXPECT_EQ(vec(opened), from_hex(tc["unsealed"]));
    // Sealing is randomised, so check our own output round-trips with the same key pair.
    const auto key = fixed<32>(from_hex(tc["unsealed"]));
    const auto sealed = seal_local(key, pk);
    ASSERT_TRUE(sealed);
    EXPECT_NE(*sealed, tc["paserk"].get<std::string>());
    EXPECT_EQ(vec(unseal_local(*sealed, sk)), from_hex(tc["unsealed"]));
  });
}

TEST(PaserkVectors, LocalWrapPie) {
  run_file("k4.local-wrap.pie.json", [](const nlohmann::json& tc) {
    const auto wk = fixed<32>(from_hex(tc["wrapping-key"]));
    const auto opened = unwrap_local_pie(tc["paserk"].get<std::string>(), wk);
    if (tc["expect-fail"].get<bool>()) {
      EXPECT_FALSE(opened);
      return;
    }
    EXPECT_EQ(vec(opened), from_hex(tc["unwrapped"]));
    const auto key = fixed<32>(from_hex(tc["unwrapped"]));
    EXPECT_EQ(vec(unwrap_local_pie(wrap_local_pie(key, wk), wk)), from_hex(tc["unwrapped"]));
  });
}

TEST(PaserkVectors, SecretWrapPie) {
  run_file("k4.secret-wrap.pie.json", [](const nlohmann::json& tc) {
    const auto wk = fixed<32>(from_hex(tc["wrapping-key"]));
    const auto opened = unwrap_secret_pie(tc["paserk"].get<std::string>(), wk);
    if (tc["expect-fail"].get<bool>()) {
      EXPECT_FALSE(opened);
      return;
    }
    EXPECT_EQ(vec(opened), from_hex(tc["unwrapped"]));
    const auto key = fixed<64>(from_hex(tc["unwrapped"]));
    EXPECT_EQ(vec(unwrap_secret_pie(wrap_secret_pie(key, wk), wk)), from_hex(tc["unwrapped"]));
  });
}

TEST(PaserkParse, StrictRejects) {
  const std::string good = "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8";
  ASSERT_TRUE(parse_local(good));
  for (const std::string& bad : {
           good + "=",
           good + "A",
           good.substr(0, good.size() - 1),
           good.substr(0, good.size() - 1) + "9",  // non-zero trailing bits
           "K4" + good.substr(2),
           "k4.public." + good.substr(9),
           "k4.local" + good.substr(9),
           " " + good,
           good.substr(0, 20) + "+" + good.substr(21),
           std::string(),
       }) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_local(bad));
  }
  // A k4.secret whose public half does not belong to its seed is refused both ways.
  std::array<uint8_t, 64> sk{};
  sk.fill(1);
  EXPECT_FALSE(serialize_secret(sk));
  EXPECT_FALSE(parse_secret("k4.secret." + base64url_encode(sk)));
}

TEST(PaserkSeal, WrongKeyAndTamperingRefused) {
  ensure_sodium();
  std::array<uint8_t, 32> pk{}, pk2{}, key{};
  std::array<uint8_t, 64> sk{}, sk2{};
  crypto_sign_keypair(pk.data(), sk.data());
  crypto_sign_keypair(pk2.data(), sk2.data());
  randombytes_buf(key.data(), key.size());
  const auto sealed = *seal_local(key, pk);
  EXPECT_EQ(unseal_local(sealed, sk), key);
  EXPECT_FALSE(unseal_local(sealed, sk2));
  for (size_t i = 8; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(unseal_local(bad, sk)) << i;
  }
}

TEST(PaserkJwk, Ed25519PublicKey) {
  ensure_sodium();
  std::array<uint8_t, 32> pk{};
  std::array<uint8_t, 64> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  const auto jwk = ed25519_public_jwk(pk);
  EXPECT_EQ(jwk["kty"], "OKP");
  EXPECT_EQ(jwk["crv"], "Ed25519");
  EXPECT_EQ(jwk["alg"], "EdDSA");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["kid"], *public_id(pk));
  EXPECT_FALSE(jwk.contains("d"));
  const auto x = base64url_decode(jwk["x"].get<std::string>());
  ASSERT_TRUE(x);
  EXPECT_EQ(*x, std::vector<uint8_t>(pk.begin(), pk.end()));
  EXPECT_EQ(ed25519_public_jwk(pk, "custom")["kid"], "custom");
}

}  // namespace
}  // namespace warden::paserk
