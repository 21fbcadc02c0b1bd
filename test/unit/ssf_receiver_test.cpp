#include <gtest/gtest.h>

#include "frontend/ssf/refusal_limiter.hpp"
#include "frontend/ssf/set_signature.hpp"
#include "oauth_test_keys.hpp"

// Issue 17, the SET receiver's helpers: which cached key verifies a SET, when an unknown kid
// is worth fetching the IdP's JWKS again for, and the per-address limit on audited refusals.

namespace warden::ssf {
namespace {

using namespace oauth::testing;
using nlohmann::json;

const json kClaims = {{"iss", "https://idp.example"}, {"jti", "1"}};

oauth::Jws parsed(const std::string& token) {
  auto jws = oauth::parse_jws(token);
  if (!jws) throw std::runtime_error("test token does not parse");
  return jws.value();
}

std::string set_signed(const TestKey& key, const json& kid) {
  json header = {{"alg", oauth::jws_alg_name(key.alg())}, {"typ", "secevent+jwt"}};
  if (!kid.is_null()) header["kid"] = kid;
  return make_jws(header, kClaims, key);
}

json keys_of(std::initializer_list<json> jwks) {
  json keys = json::array();
  for (const auto& jwk : jwks) keys.push_back(jwk);
  return {{"idp", "corp"}, {"keys", keys}};
}

TEST(SsfSetSignature, TheKeyWithTheSetsKidVerifies) {
  auto jws = parsed(set_signed(ed_key(), "new"));
  auto match =
      match_set_key(jws, keys_of({ec_key().public_jwk("old"), ed_key().public_jwk("new")}));
  EXPECT_TRUE(match.verified);
  EXPECT_TRUE(match.kid_known);
  EXPECT_FALSE(should_refetch_keys(jws, match));
}

TEST(SsfSetSignature, AnUnknownKidAsksForTheJwksAgain) {
  auto jws = parsed(set_signed(ed_key(), "rotated"));
  auto match = match_set_key(jws, keys_of({ed_key().public_jwk("old")}));
  EXPECT_FALSE(match.verified) << "a key is only tried under its own kid";
  EXPECT_FALSE(match.kid_known);
  EXPECT_TRUE(should_refetch_keys(jws, match));
}

TEST(SsfSetSignature, AKnownKidThatFailsIsABadSetNotARotation) {
  auto jws = parsed(set_signed(ed_key(), "k1"));
  auto match = match_set_key(jws, keys_of({ec_key().public_jwk("k1")}));
  EXPECT_FALSE(match.verified);
  EXPECT_TRUE(match.kid_known);
  EXPECT_FALSE(should_refetch_keys(jws, match));
}

TEST(SsfSetSignature, NoKidTriesEveryKeyAndNeverRefetches) {
  auto jws = parsed(set_signed(ed_key(), json()));
  EXPECT_TRUE(
      match_set_key(jws, keys_of({ec_key().public_jwk("a"), ed_key().public_jwk("b")})).verified);
  auto none = match_set_key(jws, keys_of({}));
  EXPECT_FALSE(none.verified);
  EXPECT_FALSE(should_refetch_keys(jws, none));
}

TEST(SsfSetSignature, MalformedKeySetsAndKidsVerifyNothing) {
  auto jws = parsed(set_signed(ed_key(), "k"));
  EXPECT_FALSE(match_set_key(jws, json()).verified);
  EXPECT_FALSE(match_set_key(jws, json{{"keys", "nope"}}).verified);
  EXPECT_FALSE(match_set_key(jws, keys_of({json(7), json("x")})).verified);
  // A kid that is not a string is no kid: no key matches it by accident, nothing is fetched.
  auto numeric = parsed(set_signed(ed_key(), 5));
  auto match = match_set_key(numeric, keys_of({ec_key().public_jwk("5")}));
  EXPECT_FALSE(match.verified);
  EXPECT_FALSE(should_refetch_keys(numeric, match));
}

using Clock = RefusalLimiter::Clock;

TEST(SsfRefusalLimiter, ABurstThenTheRate) {
  RefusalLimiter limiter(3, 1);
  const auto t = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.try_refuse("192.0.2.1", t)) << i;
  EXPECT_FALSE(limiter.try_refuse("192.0.2.1", t));
  EXPECT_EQ(limiter.retry_after("192.0.2.1", t), 1);
  EXPECT_FALSE(limiter.try_refuse("192.0.2.1", t + std::chrono::milliseconds(500)));
  EXPECT_TRUE(limiter.try_refuse("192.0.2.1", t + std::chrono::milliseconds(1600)));
  // Another address has its own bucket.
  EXPECT_TRUE(limiter.try_refuse("192.0.2.2", t));
}

TEST(SsfRefusalLimiter, TheNextAuditedRefusalCountsTheSuppressedOnes) {
  RefusalLimiter limiter(1, 1);
  const auto t = Clock::now();
  EXPECT_TRUE(limiter.try_refuse("a", t));
  EXPECT_EQ(limiter.take_suppressed("a"), 0u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.try_refuse("a", t));
  EXPECT_TRUE(limiter.try_refuse("a", t + std::chrono::seconds(1)));
  EXPECT_EQ(limiter.take_suppressed("a"), 5u);
  EXPECT_EQ(limiter.take_suppressed("a"), 0u) << "counted once";
  EXPECT_EQ(limiter.take_suppressed("never seen"), 0u);
}

TEST(SsfRefusalLimiter, RetryAfterCoversTheWait) {
  RefusalLimiter limiter(1, 0.1);  // one refusal per 10 s
  const auto t = Clock::now();
  EXPECT_TRUE(limiter.try_refuse("a", t));
  EXPECT_FALSE(limiter.try_refuse("a", t));
  EXPECT_EQ(limiter.retry_after("a", t), 10);
  EXPECT_TRUE(limiter.try_refuse("a", t + std::chrono::seconds(limiter.retry_after("a", t))));
}

TEST(SsfRefusalLimiter, TheMapIsBounded) {
  RefusalLimiter limiter(2, 1, 4);
  const auto t = Clock::now();
  for (int i = 0; i < 100; ++i) limiter.try_refuse("198.51.100." + std::to_string(i), t);
  // The newest address still has its bucket (spent once), and nothing grew without bound:
  // a forgotten address starts full again, which the bound accepts.
  EXPECT_TRUE(limiter.try_refuse("198.51.100.99", t));
  EXPECT_FALSE(limiter.try_refuse("198.51.100.99", t));
}

TEST(SsfRefusalLimiter, AnIpv6NetworkIsOneBucket) {
  EXPECT_EQ(RefusalLimiter::network_of("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(RefusalLimiter::network_of("2001:db8:1:2::7"), "2001:0db8:0001:0002::/64");
  EXPECT_EQ(RefusalLimiter::network_of("2001:db8:1:2:ffff::1"), "2001:0db8:0001:0002::/64");
  RefusalLimiter limiter(2, 1);
  const auto t = Clock::now();
  EXPECT_TRUE(limiter.try_refuse("2001:db8:1:2::1", t));
  EXPECT_TRUE(limiter.try_refuse("2001:db8:1:2::2", t));
  // A new address in the same /64 earns no fresh bucket; another /64 does.
  EXPECT_FALSE(limiter.try_refuse("2001:db8:1:2::3", t));
  EXPECT_TRUE(limiter.try_refuse("2001:db8:1:3::1", t));
}

TEST(SsfRefusalLimiter, AllAddressesTogetherAreLimitedToo) {
  RefusalLimiter limiter(30, 1, 4096, 10, 5);
  const auto t = Clock::now();
  int audited = 0;
  for (int i = 0; i < 100; ++i) audited += limiter.try_refuse("198.51.100." + std::to_string(i), t);
  EXPECT_EQ(audited, 10);  // a flood spread over many addresses: the shared bucket's burst
  EXPECT_TRUE(limiter.try_refuse("203.0.113.1", t + std::chrono::milliseconds(250)));
}

}  // namespace
}  // namespace warden::ssf
