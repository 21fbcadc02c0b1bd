#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/audit_mac.hpp"
#include "core/base64url.hpp"
#include "core/key_wrap.hpp"
#include "core/paseto.hpp"
#include "core/vended_credential.hpp"

namespace warden {
namespace {

std::array<uint8_t, 32> key_of(uint8_t fill) {
  std::array<uint8_t, 32> k{};
  k.fill(fill);
  return k;
}

TEST(AuditMac, EveryColumnTheLinkAndNullnessAreCovered) {
  auto k = key_of(7);
  EventLink link{"w", 3, {}};
  EventColumns cols = {std::string("a"), std::nullopt, std::string("")};
  Mac base = event_mac(k, link, cols);
  EXPECT_EQ(base, event_mac(k, link, cols));

  EventColumns null_vs_empty = {std::string("a"), std::string(""), std::nullopt};
  EXPECT_NE(base, event_mac(k, link, null_vs_empty));
  EventColumns shifted = {std::string("a"), std::nullopt, std::string(""), std::nullopt};
  EXPECT_NE(base, event_mac(k, link, shifted));
  EventLink other_seq{"w", 4, {}};
  EXPECT_NE(base, event_mac(k, other_seq, cols));
  EventLink other_prev{"w", 3, {}};
  other_prev.prev[0] = 1;
  EXPECT_NE(base, event_mac(k, other_prev, cols));
  auto k2 = key_of(8);
  EXPECT_NE(base, event_mac(k2, link, cols));
  // Boundaries between fields cannot be moved: ("ab","c") differs from ("a","bc").
  EXPECT_NE(event_mac(k, link, {std::string("ab"), std::string("c")}),
            event_mac(k, link, {std::string("a"), std::string("bc")}));
}

TEST(AuditMac, ArgumentsDigestIsKeyed) {
  auto k1 = key_of(1), k2 = key_of(2);
  EXPECT_EQ(arguments_digest(k1, "{}"), arguments_digest(k1, "{}"));
  EXPECT_NE(arguments_digest(k1, "{}"), arguments_digest(k2, "{}"));
  EXPECT_NE(arguments_digest(k1, "{}"), arguments_digest(k1, "[]"));
  EXPECT_EQ(to_hex(reinterpret_cast<const uint8_t*>("\x01\xab"), 2), "01ab");
}

TEST(KeyWrap, OpensOnlyWithTheSameKeyAndBinding) {
  auto kek = key_of(9);
  std::vector<uint8_t> secret = {1, 2, 3, 4};
  auto sealed = wrap_secret(kek, secret, "row-1");
  EXPECT_EQ(unwrap_secret(kek, sealed, "row-1"), secret);
  EXPECT_FALSE(unwrap_secret(kek, sealed, "row-2"));
  auto other = key_of(10);
  EXPECT_FALSE(unwrap_secret(other, sealed, "row-1"));
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto tampered = sealed;
    tampered[i] ^= 0x01;
    EXPECT_FALSE(unwrap_secret(kek, tampered, "row-1")) << i;
  }
  EXPECT_FALSE(unwrap_secret(kek, std::vector<uint8_t>(10), "row-1"));
  EXPECT_NE(wrap_secret(kek, secret, "row-1"), sealed) << "nonces must be fresh";
}

TEST(VendedCredential, TemplateReplacesEveryPlaceholder) {
  EXPECT_EQ(render_secret_template("Bearer {secret}", "s3"), "Bearer s3");
  EXPECT_EQ(render_secret_template("{secret}:{secret}", "x"), "x:x");
  EXPECT_EQ(render_secret_template("{secret}", "{secret}"), "{secret}") << "no re-expansion";
  EXPECT_EQ(render_secret_template("none", "x"), "none");
}

class Signer : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    crypto_sign_keypair(pk_.data(), sk_.data());
    claims_ = {"bot", "alice@example.com", "chain-1", "tickets", "update", "event-1", 1000, 1030};
  }
  std::array<uint8_t, 32> pk_{};
  std::array<uint8_t, 64> sk_{};
  CredentialClaims claims_;
};

TEST_F(Signer, JwtIsAnEdDsaJwsOverItsClaims) {
  std::string jwt = mint_jwt(sk_, "k4.pid.test", claims_);
  auto first = jwt.find('.'), second = jwt.rfind('.');
  ASSERT_NE(first, second);
  auto header = base64url_decode(jwt.substr(0, first));
  auto payload = base64url_decode(jwt.substr(first + 1, second - first - 1));
  auto sig = base64url_decode(jwt.substr(second + 1));
  ASSERT_TRUE(header && payload && sig);
  auto h = nlohmann::json::parse(header->begin(), header->end());
  auto p = nlohmann::json::parse(payload->begin(), payload->end());
  EXPECT_EQ(h["alg"], "EdDSA");
  EXPECT_EQ(h["kid"], "k4.pid.test");
  EXPECT_EQ(p["sub"], "bot");
  EXPECT_EQ(p["aud"], "tickets");
  EXPECT_EQ(p["jti"], "event-1");
  EXPECT_EQ(p["human"], "alice@example.com");
  EXPECT_EQ(p["exp"].get<int64_t>() - p["iat"].get<int64_t>(), 30);
  std::string signing_input = jwt.substr(0, second);
  EXPECT_EQ(crypto_sign_verify_detached(
                sig->data(), reinterpret_cast<const unsigned char*>(signing_input.data()),
                signing_input.size(), pk_.data()),
            0);
  signing_input[5] ^= 1;
  EXPECT_NE(crypto_sign_verify_detached(
                sig->data(), reinterpret_cast<const unsigned char*>(signing_input.data()),
                signing_input.size(), pk_.data()),
            0);
}

TEST_F(Signer, PasetoVerifiesWithThePublicKeyAndCarriesTheKid) {
  std::string token = mint_paseto(sk_, "k4.pid.test", claims_);
  auto opened = paseto::public_verify(pk_, token);
  ASSERT_TRUE(opened.ok());
  auto p = nlohmann::json::parse(opened.value().payload);
  EXPECT_EQ(p["aud"], "tickets");
  EXPECT_EQ(p["exp"], "1970-01-01T00:17:10Z");
  EXPECT_EQ(opened.value().footer, R"({"kid":"k4.pid.test"})");
}

TEST_F(Signer, TxnTokenStatesTheCallAndTheActorChain) {
  TxnTokenClaims t{claims_, sha256_base64url(R"({"id":"42"})"), {"root-bot", "bot"}};
  std::string jwt = mint_txn_token(sk_, "k4.pid.test", t);
  auto first = jwt.find('.'), second = jwt.rfind('.');
  auto header = base64url_decode(jwt.substr(0, first));
  auto payload = base64url_decode(jwt.substr(first + 1, second - first - 1));
  ASSERT_TRUE(header && payload);
  auto h = nlohmann::json::parse(header->begin(), header->end());
  auto p = nlohmann::json::parse(payload->begin(), payload->end());
  EXPECT_EQ(h["typ"], "txntoken+jwt");
  EXPECT_EQ(p["txn"], "event-1");
  EXPECT_EQ(p["sub"], "alice@example.com");
  EXPECT_EQ(p["aud"], "tickets");
  EXPECT_EQ(p["tctx"]["tool"], claims_.tool);
  // SHA-256 of {"id":"42"}, base64url without padding.
  EXPECT_EQ(p["tctx"]["arguments_sha256"], "iqW2dR1ovXKQHOqWu73cqGJO-jh9VEKmMZfV_tsraT0");
  EXPECT_EQ(p["act"], nlohmann::json::parse(R"({"sub":"bot","act":{"sub":"root-bot"}})"));
  EXPECT_EQ(p["req_wl"], p["iss"]);
  EXPECT_LE(p["exp"].get<int64_t>() - p["iat"].get<int64_t>(), kMaxCredentialSeconds);
  std::string signing_input = jwt.substr(0, second);
  auto sig = base64url_decode(jwt.substr(second + 1));
  ASSERT_TRUE(sig);
  EXPECT_EQ(crypto_sign_verify_detached(
                sig->data(), reinterpret_cast<const unsigned char*>(signing_input.data()),
                signing_input.size(), pk_.data()),
            0);
}

TEST(NestedAct, OutermostIsTheCurrentActor) {
  EXPECT_EQ(nested_act({}), "null");
  EXPECT_EQ(nested_act({"a"}), R"({"sub":"a"})");
  EXPECT_EQ(nested_act({"a", "b", "c"}), R"({"act":{"act":{"sub":"a"},"sub":"b"},"sub":"c"})");
}

}  // namespace
}  // namespace warden
