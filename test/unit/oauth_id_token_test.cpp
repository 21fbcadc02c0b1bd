#include <gtest/gtest.h>

#include "frontend/oauth/id_token.hpp"
#include "frontend/oauth/jwks_refresh.hpp"
#include "oauth_test_keys.hpp"

// Issue 13: ID tokens from the IdP are verified by warden-mcp with an algorithm allowlist,
// iss, aud, nonce and exp/iat/nbf with a small skew; an unknown kid asks for a JWKS re-fetch.

namespace warden::oauth {
namespace {

using namespace testing;
using nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;

class OAuthIdToken : public ::testing::Test {
 protected:
  IdTokenExpectations expected() const {
    IdTokenExpectations e;
    e.issuer = "https://idp.example";
    e.client_id = "warden";
    e.nonce = "n-0S6_WzA2Mj";
    e.now = kNow;
    return e;
  }
  json claims() const {
    return {{"iss", "https://idp.example"}, {"sub", "248289761001"}, {"aud", "warden"},
            {"nonce", "n-0S6_WzA2Mj"},      {"iat", kNow - 10},      {"exp", kNow + 600},
            {"email", "alice@example.com"}};
  }
  json jwks() const {
    return {{"keys",
             {rsa_key().public_jwk("rsa-1"), ec_key().public_jwk("ec-1"),
              ed_key().public_jwk("ed-1")}}};
  }
  std::string token(const json& payload, const char* kid = "rsa-1", const char* alg = "RS256",
                    const TestKey& key = rsa_key()) const {
    return make_jws({{"alg", alg}, {"kid", kid}, {"typ", "JWT"}}, payload, key);
  }
  OAuthError refusal(const std::string& id_token) const {
    auto result = validate_id_token(id_token, jwks(), expected());
    EXPECT_FALSE(result.ok());
    return result.ok() ? OAuthError::malformed : result.error();
  }
};

TEST_F(OAuthIdToken, GoodTokensAreAcceptedAndReturnTheClaims) {
  auto result = validate_id_token(token(claims()), jwks(), expected());
  ASSERT_TRUE(result.ok()) << to_string(result.error());
  EXPECT_EQ(result.value()["email"], "alice@example.com");
  EXPECT_TRUE(validate_id_token(token(claims(), "ec-1", "ES256", ec_key()), jwks(), expected()));
  EXPECT_TRUE(validate_id_token(token(claims(), "ed-1", "EdDSA", ed_key()), jwks(), expected()));
  EXPECT_TRUE(validate_id_token(token(claims(), "rsa-1", "PS256"), jwks(), expected()));
}

TEST_F(OAuthIdToken, AlgNoneAndHs256AreRefused) {
  std::string none = b64(R"({"alg":"none","kid":"rsa-1"})") + "." + b64(claims().dump()) + ".";
  EXPECT_EQ(refusal(none), OAuthError::alg_not_allowed);
  auto hs = make_hs256({{"alg", "HS256"}, {"kid", "rsa-1"}}, claims(), rsa_key().public_pem());
  EXPECT_EQ(refusal(hs), OAuthError::alg_not_allowed);
}

TEST_F(OAuthIdToken, AlgOutsideTheIdpsAllowlistIsRefused) {
  auto e = expected();
  e.allowed_algs = {JwsAlg::rs256};
  EXPECT_EQ(validate_id_token(token(claims(), "ec-1", "ES256", ec_key()), jwks(), e).error(),
            OAuthError::alg_not_allowed);
}

TEST_F(OAuthIdToken, TamperedPayloadIsRefused) {
  auto good = token(claims());
  auto forged_claims = claims();
  forged_claims["sub"] = "admin";
  auto forged = token(forged_claims);
  std::string spliced = good.substr(0, good.find('.')) + forged.substr(forged.find('.'));
  spliced = spliced.substr(0, spliced.rfind('.')) + good.substr(good.rfind('.'));
  EXPECT_EQ(refusal(spliced), OAuthError::bad_signature);
}

TEST_F(OAuthIdToken, WrongIssuer) {
  auto c = claims();
  c["iss"] = "https://evil.example";
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_issuer);
  c["iss"] = "https://idp.example/";
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_issuer);
  c.erase("iss");
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_issuer);
}

TEST_F(OAuthIdToken, WrongAudience) {
  auto c = claims();
  c["aud"] = "someone-else";
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_audience);
  c["aud"] = json::array({"someone-else", "another"});
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_audience);
  c.erase("aud");
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_audience);
}

TEST_F(OAuthIdToken, SeveralAudiencesNeedAzp) {
  auto c = claims();
  c["aud"] = json::array({"warden", "another"});
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_azp);
  c["azp"] = "another";
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_azp);
  c["azp"] = "warden";
  EXPECT_TRUE(validate_id_token(token(c), jwks(), expected()).ok());
  c["aud"] = json::array({"warden"});
  c.erase("azp");
  EXPECT_TRUE(validate_id_token(token(c), jwks(), expected()).ok());
}

TEST_F(OAuthIdToken, ConfiguredAudienceDiffersFromClientId) {
  auto e = expected();
  e.audience = "api://warden";
  auto c = claims();
  c["aud"] = "api://warden";
  EXPECT_TRUE(validate_id_token(token(c), jwks(), e).ok());
  c["aud"] = "warden";
  EXPECT_EQ(validate_id_token(token(c), jwks(), e).error(), OAuthError::wrong_audience);
}

TEST_F(OAuthIdToken, WrongOrMissingNonce) {
  auto c = claims();
  c["nonce"] = "other";
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_nonce);
  c.erase("nonce");
  EXPECT_EQ(refusal(token(c)), OAuthError::wrong_nonce);
  auto e = expected();
  e.nonce.clear();  // a caller that forgot its nonce accepts nothing
  EXPECT_EQ(validate_id_token(token(claims()), jwks(), e).error(), OAuthError::wrong_nonce);
}

TEST_F(OAuthIdToken, ExpiredWithinAndBeyondTheSkew) {
  auto c = claims();
  c["exp"] = kNow - 30;  // within the 60 s skew
  EXPECT_TRUE(validate_id_token(token(c), jwks(), expected()).ok());
  c["exp"] = kNow - 60;
  EXPECT_EQ(refusal(token(c)), OAuthError::expired);
  c.erase("exp");
  EXPECT_EQ(refusal(token(c)), OAuthError::missing_claim);
}

TEST_F(OAuthIdToken, NotBeforeInTheFuture) {
  auto c = claims();
  c["nbf"] = kNow + 61;
  EXPECT_EQ(refusal(token(c)), OAuthError::not_yet_valid);
  c["nbf"] = kNow + 30;
  EXPECT_TRUE(validate_id_token(token(c), jwks(), expected()).ok());
  c["nbf"] = "soon";
  EXPECT_EQ(refusal(token(c)), OAuthError::malformed);
}

TEST_F(OAuthIdToken, IssuedInTheFuture) {
  auto c = claims();
  c["iat"] = kNow + 120;
  EXPECT_EQ(refusal(token(c)), OAuthError::issued_in_future);
  c["iat"] = "yesterday";
  EXPECT_EQ(refusal(token(c)), OAuthError::missing_claim);
}

TEST_F(OAuthIdToken, SubjectIsRequired) {
  auto c = claims();
  c.erase("sub");
  EXPECT_EQ(refusal(token(c)), OAuthError::missing_claim);
  c["sub"] = "";
  EXPECT_EQ(refusal(token(c)), OAuthError::missing_claim);
}

TEST_F(OAuthIdToken, UnknownKidAsksForARefetch) {
  EXPECT_EQ(refusal(token(claims(), "rotated-2")), OAuthError::unknown_kid);
  // After the re-fetch, the new key is there.
  json rotated = {{"keys", {rsa_key_2().public_jwk("rotated-2")}}};
  auto t = make_jws({{"alg", "RS256"}, {"kid", "rotated-2"}}, claims(), rsa_key_2());
  EXPECT_TRUE(validate_id_token(t, rotated, expected()).ok());
}

TEST_F(OAuthIdToken, OtherKindsOfJwtAreNotIdTokens) {
  auto t = make_jws({{"alg", "RS256"}, {"kid", "rsa-1"}, {"typ", "dpop+jwt"}}, claims(), rsa_key());
  EXPECT_EQ(refusal(t), OAuthError::wrong_typ);
  t = make_jws({{"alg", "RS256"}, {"kid", "rsa-1"}, {"typ", "at+jwt"}}, claims(), rsa_key());
  EXPECT_EQ(refusal(t), OAuthError::wrong_typ);
  t = make_jws({{"alg", "RS256"}, {"kid", "rsa-1"}}, claims(), rsa_key());
  EXPECT_TRUE(validate_id_token(t, jwks(), expected()).ok());
  t = make_jws({{"alg", "RS256"}, {"kid", 7}}, claims(), rsa_key());
  EXPECT_EQ(refusal(t), OAuthError::malformed);
}

TEST_F(OAuthIdToken, KidOfAnotherKeyTypeIsAMismatchNotUnknown) {
  EXPECT_EQ(refusal(token(claims(), "ec-1", "RS256")), OAuthError::key_mismatch);
}

TEST_F(OAuthIdToken, TokenWithoutKidUsesTheOneKeyOfItsType) {
  auto t = make_jws({{"alg", "ES256"}}, claims(), ec_key());
  EXPECT_TRUE(validate_id_token(t, jwks(), expected()).ok());
  json two_ec = {{"keys", {ec_key().public_jwk("a"), TestKey(JwsAlg::es256).public_jwk("b")}}};
  EXPECT_EQ(validate_id_token(t, two_ec, expected()).error(), OAuthError::unknown_kid);
}

TEST_F(OAuthIdToken, JwksDocumentIsChecked) {
  EXPECT_TRUE(parse_jwks(jwks().dump()).ok());
  EXPECT_EQ(parse_jwks("[]").error(), OAuthError::bad_jwks);
  EXPECT_EQ(parse_jwks(R"({"keys":{}})").error(), OAuthError::bad_jwks);
  EXPECT_EQ(parse_jwks("{").error(), OAuthError::bad_jwks);
  json many = {{"keys", json::array()}};
  for (size_t i = 0; i <= kMaxJwksKeys; ++i) many["keys"].push_back(json::object());
  EXPECT_EQ(parse_jwks(many.dump()).error(), OAuthError::bad_jwks);
  EXPECT_EQ(validate_id_token(token(claims()), json::array(), expected()).error(),
            OAuthError::bad_jwks);
}

TEST(OAuthJwksRefreshLimiter, OncePerIntervalPerIssuer) {
  JwksRefreshLimiter limiter(std::chrono::seconds(30), 2);
  auto t0 = JwksRefreshLimiter::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(limiter.try_acquire("https://a", t0));
  EXPECT_FALSE(limiter.try_acquire("https://a", t0 + std::chrono::seconds(29)));
  EXPECT_TRUE(limiter.try_acquire("https://b", t0 + std::chrono::seconds(1)));
  EXPECT_TRUE(limiter.try_acquire("https://a", t0 + std::chrono::seconds(30)));
  EXPECT_FALSE(limiter.try_acquire("https://a", t0 + std::chrono::seconds(31)));
  // A third issuer evicts the oldest attempt (b), which may then fetch again.
  EXPECT_TRUE(limiter.try_acquire("https://c", t0 + std::chrono::seconds(32)));
  EXPECT_TRUE(limiter.try_acquire("https://b", t0 + std::chrono::seconds(33)));
}

}  // namespace
}  // namespace warden::oauth
