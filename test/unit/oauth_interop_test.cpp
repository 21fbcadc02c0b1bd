#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frontend/oauth/dpop.hpp"
#include "frontend/oauth/id_token.hpp"

// ID tokens and DPoP proofs made by another JOSE implementation (npm jose; regenerate with
// test/oauth/make-vectors.mjs) verify here for every algorithm, and our RFC 7638 thumbprints
// equal jose's.

namespace warden::oauth {
namespace {

nlohmann::json vectors() {
  std::ifstream in(std::filesystem::path(WARDEN_TEST_VECTORS_DIR) / "oauth" / "jose.json");
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

TEST(OAuthInterop, JoseIdTokensVerify) {
  auto v = vectors();
  auto jwks = parse_jwks(v["jwks"].dump());
  ASSERT_TRUE(jwks.ok());
  IdTokenExpectations expected;
  expected.issuer = v["issuer"];
  expected.client_id = v["client_id"];
  expected.nonce = v["nonce"];
  expected.now = v["now"];
  ASSERT_EQ(v["id_tokens"].size(), 4u);
  for (const auto& entry : v["id_tokens"]) {
    auto result = validate_id_token(entry["id_token"].get<std::string>(), jwks.value(), expected);
    ASSERT_TRUE(result.ok()) << entry["alg"] << ": " << to_string(result.error());
    EXPECT_EQ(result.value()["sub"], "alice");
    EXPECT_EQ(result.value()["groups"], nlohmann::json({"eng"}));
  }
}

TEST(OAuthInterop, JoseDpopProofsVerifyWithJosesThumbprints) {
  auto v = vectors();
  DpopReplayCache cache;
  DpopRequest request;
  request.method = v["dpop"]["method"];
  request.url = v["dpop"]["url"];
  request.access_token = v["dpop"]["access_token"].get<std::string>();
  request.now = v["now"];
  ASSERT_EQ(v["dpop"]["proofs"].size(), 4u);
  for (const auto& entry : v["dpop"]["proofs"]) {
    auto result = verify_dpop_proof(entry["proof"].get<std::string>(), request, cache);
    ASSERT_TRUE(result.ok()) << entry["alg"] << ": " << to_string(result.error());
    EXPECT_EQ(result.value().jkt, entry["jkt"]) << entry["alg"];
  }
}

}  // namespace
}  // namespace warden::oauth
