#include <gtest/gtest.h>

#include "frontend/oauth/dpop.hpp"
#include "frontend/oauth/pkce.hpp"
#include "oauth_test_keys.hpp"

// Issue 13: PKCE S256 and DPoP (RFC 9449) proofs: a token copied from a log is useless without
// a fresh proof from the client's key for this very request.

namespace warden::oauth {
namespace {

using namespace testing;
using nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;

TEST(OAuthPkce, Rfc7636AppendixBVector) {
  EXPECT_EQ(s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  EXPECT_TRUE(verify_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                               "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
}

TEST(OAuthPkce, WrongOrMalformedVerifiersFail) {
  const std::string challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  EXPECT_FALSE(verify_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", challenge));
  EXPECT_FALSE(verify_pkce_s256("", challenge));
  EXPECT_FALSE(verify_pkce_s256(std::string(42, 'a'), s256_challenge(std::string(42, 'a'))));
  EXPECT_FALSE(verify_pkce_s256(std::string(129, 'a'), s256_challenge(std::string(129, 'a'))));
  EXPECT_TRUE(verify_pkce_s256(std::string(128, '~'), s256_challenge(std::string(128, '~'))));
  std::string bad_char(43, 'a');
  bad_char[5] = '+';
  EXPECT_FALSE(verify_pkce_s256(bad_char, s256_challenge(bad_char)));
  // "plain" (challenge == verifier) is not S256.
  std::string verifier(43, 'x');
  EXPECT_FALSE(verify_pkce_s256(verifier, verifier));
  EXPECT_FALSE(is_valid_s256_challenge(challenge + "A"));
  EXPECT_FALSE(is_valid_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
}

class OAuthDpop : public ::testing::Test {
 protected:
  DpopRequest request() const {
    DpopRequest r;
    r.method = "POST";
    r.url = "https://gw.example/mcp";
    r.now = kNow;
    return r;
  }
  json claims(std::string jti = "proof-1") const {
    return {{"jti", jti}, {"htm", "POST"}, {"htu", "https://gw.example/mcp"}, {"iat", kNow}};
  }
  std::string proof(const json& payload, const TestKey& key = ec_key(),
                    const char* typ = "dpop+jwt") const {
    json header = {{"typ", typ}, {"alg", jws_alg_name(key.alg())}, {"jwk", key.public_jwk()}};
    return make_jws(header, payload, key);
  }
  OAuthError refusal(const std::string& p, const DpopRequest& r) {
    auto result = verify_dpop_proof(p, r, cache_);
    EXPECT_FALSE(result.ok());
    return result.ok() ? OAuthError::malformed : result.error();
  }
  DpopReplayCache cache_;
};

TEST_F(OAuthDpop, GoodProofsOfEveryAlgorithm) {
  int n = 0;
  for (const TestKey* key : {&ec_key(), &ed_key(), &rsa_key()}) {
    auto result =
        verify_dpop_proof(proof(claims("p" + std::to_string(n++)), *key), request(), cache_);
    ASSERT_TRUE(result.ok()) << to_string(result.error());
    EXPECT_EQ(result.value().jkt, jwk_thumbprint(key->public_jwk()));
  }
}

TEST_F(OAuthDpop, ReplayIsRefused) {
  auto p = proof(claims());
  EXPECT_TRUE(verify_dpop_proof(p, request(), cache_).ok());
  EXPECT_EQ(refusal(p, request()), OAuthError::replayed_proof);
  // The same jti from another key is another proof.
  EXPECT_TRUE(verify_dpop_proof(proof(claims(), ed_key()), request(), cache_).ok());
}

TEST_F(OAuthDpop, UnrecordedProofsAreRememberedOnlyWhenRecorded) {
  auto p = proof(claims());
  // Verified twice without recording (its token not yet accepted): nothing is remembered.
  auto first = verify_dpop_proof_unrecorded(p, request());
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(verify_dpop_proof_unrecorded(p, request()).ok());
  EXPECT_EQ(cache_.size(), 0u);
  // Recorded once it is: then it is a replay, to both kinds of check.
  EXPECT_TRUE(record_dpop_proof(first.value(), cache_, request().now).ok());
  EXPECT_EQ(cache_.size(), 1u);
  auto again = record_dpop_proof(first.value(), cache_, request().now);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), OAuthError::replayed_proof);
  EXPECT_EQ(refusal(p, request()), OAuthError::replayed_proof);
  // Forgotten (its request was refused for good): it may come again, once.
  cache_.forget(first.value().jkt, first.value().jti);
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_TRUE(verify_dpop_proof(p, request(), cache_).ok());
  EXPECT_EQ(refusal(p, request()), OAuthError::replayed_proof);
}

TEST_F(OAuthDpop, WrongTypIsRefused) {
  EXPECT_EQ(refusal(proof(claims(), ec_key(), "JWT"), request()), OAuthError::wrong_typ);
}

TEST_F(OAuthDpop, WrongMethod) {
  auto c = claims();
  c["htm"] = "GET";
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::wrong_htm);
  c["htm"] = "post";
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::wrong_htm);
}

TEST_F(OAuthDpop, WrongUrl) {
  auto c = claims();
  c["htu"] = "https://gw.example/token";
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::wrong_htu);
  c["htu"] = "https://evil.example/mcp";
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::wrong_htu);
  c["htu"] = "http://gw.example/mcp";
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::wrong_htu);
  c["htu"] = "/mcp";
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::wrong_htu);
}

TEST_F(OAuthDpop, UrlComparedWithoutQueryAndFragmentAndNormalized) {
  int n = 0;
  for (const char* htu :
       {"https://gw.example/mcp?x=1", "https://gw.example/mcp#f", "HTTPS://GW.Example:443/mcp"}) {
    auto c = claims("u" + std::to_string(n++));
    c["htu"] = htu;
    EXPECT_TRUE(verify_dpop_proof(proof(c), request(), cache_).ok()) << htu;
  }
  EXPECT_EQ(normalize_htu("https://[::1]:8443/a%2fb?q#f"), "https://[::1]:8443/a%2Fb");
  EXPECT_EQ(normalize_htu("http://h"), "http://h/");
  EXPECT_EQ(normalize_htu("ftp://h/"), std::nullopt);
  EXPECT_EQ(normalize_htu("https://h:99999/"), std::nullopt);
}

TEST_F(OAuthDpop, IatWindow) {
  auto c = claims();
  c["iat"] = kNow - 61;
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::stale_proof);
  c["iat"] = kNow + 61;
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::stale_proof);
  c["iat"] = kNow - 59;
  EXPECT_TRUE(verify_dpop_proof(proof(c), request(), cache_).ok());
}

TEST_F(OAuthDpop, AccessTokenHash) {
  auto r = request();
  r.access_token = "v4.local.the-task-token";
  auto c = claims();
  EXPECT_EQ(refusal(proof(c), r), OAuthError::wrong_ath);
  c["ath"] = sha256_base64url("v4.local.another-token");
  EXPECT_EQ(refusal(proof(c), r), OAuthError::wrong_ath);
  c["ath"] = sha256_base64url("v4.local.the-task-token");
  EXPECT_TRUE(verify_dpop_proof(proof(c), r, cache_).ok());
}

TEST_F(OAuthDpop, ServerNonce) {
  auto r = request();
  r.nonce = "eyJ7S_zG.eyJH0-Z.HX4w-7v";
  EXPECT_EQ(refusal(proof(claims()), r), OAuthError::wrong_nonce);
  auto c = claims("with-nonce");
  c["nonce"] = "eyJ7S_zG.eyJH0-Z.HX4w-7v";
  EXPECT_TRUE(verify_dpop_proof(proof(c), r, cache_).ok());
}

TEST_F(OAuthDpop, BoundKeyMustSign) {
  auto r = request();
  r.bound_jkt = jwk_thumbprint(ed_key().public_jwk());
  EXPECT_EQ(refusal(proof(claims()), r), OAuthError::wrong_proof_key);
  EXPECT_TRUE(verify_dpop_proof(proof(claims(), ed_key()), r, cache_).ok());
}

TEST_F(OAuthDpop, PrivateKeyInJwkIsRefused) {
  json jwk = ed_key().public_jwk();
  jwk["d"] = jwk["x"];
  json header = {{"typ", "dpop+jwt"}, {"alg", "EdDSA"}, {"jwk", jwk}};
  EXPECT_EQ(refusal(make_jws(header, claims(), ed_key()), request()),
            OAuthError::private_key_in_jwk);
}

TEST_F(OAuthDpop, SignatureByAnotherKeyThanTheEmbeddedJwk) {
  json header = {{"typ", "dpop+jwt"}, {"alg", "ES256"}, {"jwk", ec_key().public_jwk()}};
  TestKey other(JwsAlg::es256);
  EXPECT_EQ(refusal(make_jws(header, claims(), other), request()), OAuthError::bad_signature);
}

TEST_F(OAuthDpop, AlgorithmsAndMissingPieces) {
  auto hs = make_hs256({{"typ", "dpop+jwt"}, {"alg", "HS256"}}, claims(), "k");
  EXPECT_EQ(refusal(hs, request()), OAuthError::alg_not_allowed);
  auto r = request();
  r.allowed_algs = {JwsAlg::es256};
  EXPECT_EQ(refusal(proof(claims(), ed_key()), r), OAuthError::alg_not_allowed);
  json no_jwk = {{"typ", "dpop+jwt"}, {"alg", "ES256"}};
  EXPECT_EQ(refusal(make_jws(no_jwk, claims(), ec_key()), request()), OAuthError::malformed);
  for (const char* claim : {"jti", "htm", "htu", "iat"}) {
    auto c = claims();
    c.erase(claim);
    EXPECT_EQ(refusal(proof(c), request()), OAuthError::missing_claim) << claim;
  }
  auto c = claims(std::string(kMaxDpopJtiLength + 1, 'j'));
  EXPECT_EQ(refusal(proof(c), request()), OAuthError::malformed);
}

TEST(OAuthDpopReplayCache, OneKeyCannotFillTheCacheForEveryone) {
  DpopReplayCache cache(20'000);
  EXPECT_EQ(cache.per_key_limit(), 2'000u);
  for (int i = 0; i < 2'000; ++i) {
    ASSERT_EQ(cache.admit("greedy", std::to_string(i), 100, 0), DpopReplayCache::Admit::fresh);
  }
  EXPECT_EQ(cache.admit("greedy", "one more", 100, 0), DpopReplayCache::Admit::full);
  EXPECT_EQ(cache.admit("another", "a", 100, 0), DpopReplayCache::Admit::fresh);
  // Forgetting or expiring gives the key its room back.
  cache.forget("greedy", "0");
  EXPECT_EQ(cache.admit("greedy", "one more", 100, 0), DpopReplayCache::Admit::fresh);
  EXPECT_EQ(cache.admit("greedy", "x", 200, 100), DpopReplayCache::Admit::fresh);
  EXPECT_EQ(cache.size(), 1u);
  // A small cache is all one key's (a single client's gateway).
  EXPECT_EQ(DpopReplayCache(40).per_key_limit(), 40u);
  EXPECT_EQ(DpopReplayCache(5'000).per_key_limit(), 1'000u);
}

TEST(OAuthDpopReplayCache, ForgetsExpiredEntriesAndRefusesWhenFull) {
  DpopReplayCache cache(2);
  EXPECT_EQ(cache.admit("k", "a", 100, 0), DpopReplayCache::Admit::fresh);
  EXPECT_EQ(cache.admit("k", "b", 200, 0), DpopReplayCache::Admit::fresh);
  EXPECT_EQ(cache.admit("k", "c", 200, 50), DpopReplayCache::Admit::full);
  EXPECT_EQ(cache.admit("k", "a", 300, 99), DpopReplayCache::Admit::replay);
  // At 100 "a" has expired: room again, and "a" is new again (its proof is stale by then).
  EXPECT_EQ(cache.admit("k", "c", 300, 100), DpopReplayCache::Admit::fresh);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.admit("k", "b", 300, 150), DpopReplayCache::Admit::replay);
  // Keys keep jtis apart, with no ambiguity in how they are joined.
  EXPECT_EQ(cache.admit("ka", "b", 400, 300), DpopReplayCache::Admit::fresh);
  EXPECT_EQ(cache.admit("k", "ab", 400, 300), DpopReplayCache::Admit::fresh);
  EXPECT_EQ(cache.admit("k", "ab", 400, 301), DpopReplayCache::Admit::replay);
}

}  // namespace
}  // namespace warden::oauth
