#include <gtest/gtest.h>

#include "frontend/oauth/jws.hpp"
#include "oauth_test_keys.hpp"

// Issue 13: JOSE verification. Only RS256, PS256, ES256 and EdDSA exist; a key must agree with
// the header's alg, which is what stops "HS256 signed with the public key".

namespace warden::oauth {
namespace {

using namespace testing;
using nlohmann::json;

const json kPayload = {{"sub", "alice"}, {"n", 1}};

Status parse_and_verify(const std::string& token, const json& jwk,
                        std::span<const JwsAlg> allowed = kAllJwsAlgs) {
  auto jws = parse_jws(token);
  if (!jws) return jws.error();
  return verify_jws(jws.value(), jwk, allowed);
}

TEST(OAuthJws, GoodTokensOfEveryAlgorithmVerify) {
  for (const TestKey* key : {&rsa_key(), &ec_key(), &ed_key()}) {
    json header = {{"alg", jws_alg_name(key->alg())}, {"typ", "JWT"}};
    auto token = make_jws(header, kPayload, *key);
    auto jws = parse_jws(token);
    ASSERT_TRUE(jws.ok()) << jws_alg_name(key->alg());
    EXPECT_EQ(jws.value().payload, kPayload);
    EXPECT_TRUE(verify_jws(jws.value(), key->public_jwk(), kAllJwsAlgs).ok())
        << jws_alg_name(key->alg());
  }
}

TEST(OAuthJws, Ps256Verifies) {
  auto token = make_jws({{"alg", "PS256"}}, kPayload, rsa_key());
  EXPECT_TRUE(parse_and_verify(token, rsa_key().public_jwk()).ok());
  // The same key's RS256 signature under a PS256 header does not.
  std::string input = signing_input({{"alg", "PS256"}}, kPayload);
  auto forged = input + "." + base64url_encode(rsa_key().sign_as(JwsAlg::rs256, input));
  EXPECT_EQ(parse_and_verify(forged, rsa_key().public_jwk()).error(), OAuthError::bad_signature);
}

TEST(OAuthJws, AlgNoneIsRefused) {
  std::string token = b64(R"({"alg":"none"})") + "." + b64(kPayload.dump()) + ".";
  EXPECT_EQ(parse_jws(token).error(), OAuthError::alg_not_allowed);
  // With a signature part too, and in other spellings.
  for (const char* alg : {"none", "None", "NONE", ""}) {
    std::string t = b64(json{{"alg", alg}}.dump()) + "." + b64(kPayload.dump()) + ".AAAA";
    EXPECT_EQ(parse_jws(t).error(), OAuthError::alg_not_allowed) << alg;
  }
}

TEST(OAuthJws, Hs256IsRefused) {
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    auto token = make_hs256({{"alg", alg}}, kPayload, "secret");
    EXPECT_EQ(parse_jws(token).error(), OAuthError::alg_not_allowed) << alg;
  }
}

TEST(OAuthJws, Hs256SignedWithTheRsaPublicKeyIsRefused) {
  const auto& key = rsa_key();
  // Every form of the public key an attacker might use as the HMAC secret.
  for (const std::string& secret :
       {key.public_pem(), key.public_jwk().dump(), key.public_jwk()["n"].get<std::string>()}) {
    auto token = make_hs256({{"alg", "HS256"}, {"kid", "k1"}}, kPayload, secret);
    EXPECT_EQ(parse_and_verify(token, key.public_jwk("k1")).error(), OAuthError::alg_not_allowed);
  }
  // An oct JWK (what an HS256 key looks like) is refused for any algorithm.
  json oct = {{"kty", "oct"}, {"k", b64(key.public_pem())}};
  EXPECT_EQ(public_key_from_jwk(oct, JwsAlg::rs256).error(), OAuthError::private_key_in_jwk);
}

TEST(OAuthJws, TamperedPayloadFails) {
  auto token = make_jws({{"alg", "ES256"}}, kPayload, ec_key());
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 + 1);
  json changed = kPayload;
  changed["sub"] = "mallory";
  std::string tampered = token.substr(0, dot1 + 1) + b64(changed.dump()) + token.substr(dot2);
  EXPECT_EQ(parse_and_verify(tampered, ec_key().public_jwk()).error(), OAuthError::bad_signature);
}

TEST(OAuthJws, WrongKeyFails) {
  auto token = make_jws({{"alg", "RS256"}}, kPayload, rsa_key());
  EXPECT_EQ(parse_and_verify(token, rsa_key_2().public_jwk()).error(), OAuthError::bad_signature);
}

TEST(OAuthJws, AllowlistIsTheCallers) {
  auto token = make_jws({{"alg", "EdDSA"}}, kPayload, ed_key());
  const JwsAlg only_rs256[] = {JwsAlg::rs256};
  EXPECT_EQ(parse_and_verify(token, ed_key().public_jwk(), only_rs256).error(),
            OAuthError::alg_not_allowed);
}

TEST(OAuthJws, KeyMustAgreeWithTheAlg) {
  // An ES256 header with an RSA key, and the JWK's own alg/use/key_ops/crv.
  auto token = make_jws({{"alg", "ES256"}}, kPayload, ec_key());
  EXPECT_EQ(parse_and_verify(token, rsa_key().public_jwk()).error(), OAuthError::key_mismatch);
  json jwk = ec_key().public_jwk();
  jwk["alg"] = "RS256";
  EXPECT_EQ(parse_and_verify(token, jwk).error(), OAuthError::key_mismatch);
  jwk = ec_key().public_jwk();
  jwk["use"] = "enc";
  EXPECT_EQ(parse_and_verify(token, jwk).error(), OAuthError::key_mismatch);
  jwk = ec_key().public_jwk();
  jwk["key_ops"] = {"encrypt"};
  EXPECT_EQ(parse_and_verify(token, jwk).error(), OAuthError::key_mismatch);
  jwk = ec_key().public_jwk();
  jwk["crv"] = "P-384";
  EXPECT_EQ(parse_and_verify(token, jwk).error(), OAuthError::key_mismatch);
  jwk = ec_key().public_jwk();
  jwk["alg"] = "ES256";
  jwk["use"] = "sig";
  jwk["key_ops"] = {"verify"};
  EXPECT_TRUE(parse_and_verify(token, jwk).ok());
}

TEST(OAuthJws, PrivateJwkMembersAreRefused) {
  json jwk = ed_key().public_jwk();
  jwk["d"] = jwk["x"];
  EXPECT_EQ(public_key_from_jwk(jwk, JwsAlg::eddsa).error(), OAuthError::private_key_in_jwk);
}

TEST(OAuthJws, InvalidKeysAreRefused) {
  json point = ec_key().public_jwk();
  point["y"] = point["x"];  // almost surely not on the curve
  EXPECT_EQ(public_key_from_jwk(point, JwsAlg::es256).error(), OAuthError::unsupported_key);
  json small = {{"kty", "RSA"}, {"n", b64(std::string(128, '\xff'))}, {"e", "AQAB"}};
  EXPECT_EQ(public_key_from_jwk(small, JwsAlg::rs256).error(), OAuthError::unsupported_key);
  json even_e = rsa_key().public_jwk();
  even_e["e"] = "Ag";
  EXPECT_EQ(public_key_from_jwk(even_e, JwsAlg::rs256).error(), OAuthError::unsupported_key);
  json short_x = ed_key().public_jwk();
  short_x["x"] = "AAAA";
  EXPECT_EQ(public_key_from_jwk(short_x, JwsAlg::eddsa).error(), OAuthError::malformed);
}

TEST(OAuthJws, StructureIsStrict) {
  auto token = make_jws({{"alg", "EdDSA"}}, kPayload, ed_key());
  EXPECT_EQ(parse_jws(token + ".x").error(), OAuthError::malformed);
  EXPECT_EQ(parse_jws(token.substr(0, token.rfind('.'))).error(), OAuthError::malformed);
  EXPECT_EQ(parse_jws(token + "=").error(), OAuthError::malformed);  // padding
  EXPECT_EQ(parse_jws("." + token).error(), OAuthError::malformed);
  EXPECT_EQ(parse_jws(std::string(kMaxJwsSize + 1, 'a')).error(), OAuthError::too_large);
  // A header or payload that is not a JSON object, and a crit header.
  EXPECT_EQ(parse_jws(b64("[1]") + "." + b64("{}") + ".AAAA").error(), OAuthError::malformed);
  EXPECT_EQ(parse_jws(b64(R"({"alg":"EdDSA"})") + "." + b64("1") + ".AAAA").error(),
            OAuthError::malformed);
  EXPECT_EQ(
      parse_jws(b64(R"({"alg":"EdDSA","crit":["b64"],"b64":false})") + "." + b64("{}") + ".AAAA")
          .error(),
      OAuthError::malformed);
  std::string deep(20, '[');
  EXPECT_EQ(parse_jws(b64(R"({"alg":"EdDSA","x":)" + deep + std::string(20, ']') + "}") + "." +
                      b64("{}") + ".AAAA")
                .error(),
            OAuthError::malformed);
}

TEST(OAuthJws, Es256SignatureMustBeRaw64Bytes) {
  auto token = make_jws({{"alg", "ES256"}}, kPayload, ec_key());
  auto jws = parse_jws(token);
  ASSERT_TRUE(jws.ok());
  auto truncated = jws.value();
  truncated.signature.pop_back();
  EXPECT_EQ(verify_jws(truncated, ec_key().public_jwk(), kAllJwsAlgs).error(),
            OAuthError::bad_signature);
}

TEST(OAuthJws, ThumbprintMatchesTheRfc7638Example) {
  json jwk = {{"kty", "RSA"},
              {"n",
               "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6t"
               "Soc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v"
               "-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08"
               "qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8"
               "awapJzKnqDKgw"},
              {"e", "AQAB"},
              {"alg", "RS256"},
              {"kid", "2011-04-29"}};
  EXPECT_EQ(jwk_thumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  // Optional members do not change it; a private JWK has none.
  jwk.erase("alg");
  jwk["use"] = "sig";
  EXPECT_EQ(jwk_thumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  jwk["d"] = "AQAB";
  EXPECT_EQ(jwk_thumbprint(jwk), std::nullopt);
  EXPECT_TRUE(jwk_thumbprint(ec_key().public_jwk()).has_value());
  EXPECT_TRUE(jwk_thumbprint(ed_key().public_jwk()).has_value());
}

}  // namespace
}  // namespace warden::oauth
