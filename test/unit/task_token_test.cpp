#include "core/task_token.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <span>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "core/base64url.hpp"
#include "core/paseto.hpp"
#include "core/sodium_init.hpp"

namespace warden {
namespace {

using Key = std::array<uint8_t, 32>;
using Outcome = std::variant<TaskClaims, TokenRefusal>;

// ---------------------------------------------------------------- RFC 3339

TEST(Rfc3339, FormatsKnownInstants) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1), "1970-01-01T00:00:01Z");
  EXPECT_EQ(format_rfc3339(86399), "1970-01-01T23:59:59Z");
  EXPECT_EQ(format_rfc3339(86400), "1970-01-02T00:00:00Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_rfc3339(951782400 + 86400), "2000-03-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1709210096), "2024-02-29T12:34:56Z");
  EXPECT_EQ(format_rfc3339(4107542399), "2100-02-28T23:59:59Z");
  EXPECT_EQ(format_rfc3339(4107542400), "2100-03-01T00:00:00Z");  // 2100 is not a leap year
  EXPECT_EQ(format_rfc3339(253402300799), "9999-12-31T23:59:59Z");
}

TEST(Rfc3339, ParsesKnownInstants) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59Z"), -1);
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), 951782400);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56Z"), 1709210096);
  EXPECT_EQ(parse_rfc3339("2100-02-28T23:59:59Z"), 4107542399);
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59Z"), 253402300799);
  EXPECT_EQ(parse_rfc3339("0000-01-01T00:00:00Z"), -62167219200);
}

TEST(Rfc3339, RoundTrips) {
  for (int64_t t : {int64_t{0}, int64_t{1}, int64_t{59}, int64_t{60}, int64_t{3599}, int64_t{3600},
                    int64_t{86399}, int64_t{86400}, int64_t{-1}, int64_t{-86400}, int64_t{-86401},
                    int64_t{951782399}, int64_t{951782400}, int64_t{951868800}, int64_t{4107542399},
                    int64_t{4107542400}, int64_t{253402300799}}) {
    SCOPED_TRACE(t);
    auto back = parse_rfc3339(format_rfc3339(t));
    ASSERT_TRUE(back.has_value()) << format_rfc3339(t);
    EXPECT_EQ(*back, t);
  }
  std::mt19937_64 rng(4711);
  std::uniform_int_distribution<int64_t> any(-62167219200, 253402300799);  // years 0000..9999
  for (int i = 0; i < 20000; ++i) {
    const int64_t t = any(rng);
    const std::string text = format_rfc3339(t);
    ASSERT_EQ(text.size(), 20u) << t;
    auto back = parse_rfc3339(text);
    ASSERT_TRUE(back.has_value()) << text;
    ASSERT_EQ(*back, t) << text;
  }
}

TEST(Rfc3339, RejectsImpossibleDates) {
  for (const char* text : {"2100-02-29T00:00:00Z",  // not a leap year (divisible by 100)
                           "1900-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2000-02-30T00:00:00Z",
                           "2024-04-31T00:00:00Z", "2024-06-31T00:00:00Z", "2024-09-31T00:00:00Z",
                           "2024-11-31T00:00:00Z", "2024-01-32T00:00:00Z", "2024-00-10T00:00:00Z",
                           "2024-13-01T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-01T24:00:00Z",
                           "2024-01-01T23:60:00Z", "2024-12-31T23:59:60Z",  // no leap seconds
                           "2024-01-01T99:99:99Z"}) {
    EXPECT_FALSE(parse_rfc3339(text).has_value()) << text;
  }
  EXPECT_TRUE(parse_rfc3339("2000-02-29T23:59:59Z").has_value());  // divisible by 400: leap
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
}

TEST(Rfc3339, RejectsOtherFormats) {
  for (const char* text : {"",
                           "Z",
                           "1970-01-01",
                           "1970-01-01T00:00:00",
                           "1970-01-01T00:00:00z",
                           "1970-01-01t00:00:00Z",
                           "1970-01-01 00:00:00Z",
                           "1970-01-01T00:00:00+00:00",
                           "1970-01-01T00:00:00.0Z",
                           "1970-01-01T00:00:00.000Z",
                           "1970-1-01T00:00:00Z",
                           "1970-01-1T00:00:00Z",
                           "1970-01-01T0:00:00Z",
                           "70-01-01T00:00:00Z",
                           "19700-01-01T00:00:00Z",
                           "+970-01-01T00:00:00Z",
                           "-970-01-01T00:00:00Z",
                           " 970-01-01T00:00:00Z",
                           "1970-01-01T00:00:00Z ",
                           " 1970-01-01T00:00:00Z",
                           "197a-01-01T00:00:00Z",
                           "1970/01/01T00:00:00Z",
                           "1970-01-01T00-00-00Z",
                           "1970-01-01T00:00:0aZ",
                           "1970-0+-01T00:00:00Z",
                           "1970-01-01T00:00:00ZZ",
                           "\xef\xbc\x91"
                           "970-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(text).has_value()) << "'" << text << "'";
  }
  // Embedded NUL: same length as a valid string.
  std::string with_nul = "1970-01-01T00:00:00Z";
  with_nul[5] = '\0';
  EXPECT_FALSE(parse_rfc3339(with_nul).has_value());
}

// ---------------------------------------------------------------- claims and footer

TaskClaims sample_claims(bool with_parent) {
  TaskClaims c;
  c.token_id = "0b6f8a3e-4d2c-4c1b-9a7e-1f2d3c4b5a69";
  c.chain_id = "7e1d2c3b-4a59-4687-b7c6-d5e4f3a2b1c0";
  c.agent_id = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
  if (with_parent) c.parent_id = "ffffffff-0000-4000-8000-000000000001";
  c.issued_at = 1764468000;  // 2025-11-30T02:00:00Z
  c.not_before = 1764468000;
  c.expires_at = 1764468900;  // 15 minutes later
  return c;
}

void expect_same(const TaskClaims& a, const TaskClaims& b) {
  EXPECT_EQ(a.token_id, b.token_id);
  EXPECT_EQ(a.chain_id, b.chain_id);
  EXPECT_EQ(a.agent_id, b.agent_id);
  EXPECT_EQ(a.parent_id, b.parent_id);
  EXPECT_EQ(a.issued_at, b.issued_at);
  EXPECT_EQ(a.not_before, b.not_before);
  EXPECT_EQ(a.expires_at, b.expires_at);
}

TEST(TaskClaims, EncodeUsesRegisteredClaimsAndRfc3339) {
  const auto j = nlohmann::json::parse(encode_claims(sample_claims(true)));
  EXPECT_EQ(j.at("jti"), "0b6f8a3e-4d2c-4c1b-9a7e-1f2d3c4b5a69");
  EXPECT_EQ(j.at("chn"), "7e1d2c3b-4a59-4687-b7c6-d5e4f3a2b1c0");
  EXPECT_EQ(j.at("sub"), "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
  EXPECT_EQ(j.at("par"), "ffffffff-0000-4000-8000-000000000001");
  EXPECT_EQ(j.at("iat"), "2025-11-30T02:00:00Z");
  EXPECT_EQ(j.at("nbf"), "2025-11-30T02:00:00Z");
  EXPECT_EQ(j.at("exp"), "2025-11-30T02:15:00Z");
  EXPECT_EQ(j.size(), 7u);
  // A chain's root token has no parent claim at all.
  const auto root = nlohmann::json::parse(encode_claims(sample_claims(false)));
  EXPECT_FALSE(root.contains("par"));
  EXPECT_EQ(root.size(), 6u);
}

TEST(TaskClaims, RoundTrips) {
  for (bool with_parent : {false, true}) {
    SCOPED_TRACE(with_parent);
    auto decoded = decode_claims(encode_claims(sample_claims(with_parent)));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, sample_claims(with_parent));
  }
}

TEST(TaskClaims, DecodeRejectsBadClaims) {
  const auto good = nlohmann::json::parse(encode_claims(sample_claims(true)));
  ASSERT_TRUE(decode_claims(good.dump()).has_value());
  auto without = [&](const char* key) {
    auto j = good;
    j.erase(key);
    return j.dump();
  };
  auto with = [&](const char* key, nlohmann::json value) {
    auto j = good;
    j[key] = std::move(value);
    return j.dump();
  };
  for (const char* key : {"jti", "chn", "sub", "iat", "nbf", "exp"}) {
    SCOPED_TRACE(key);
    EXPECT_FALSE(decode_claims(without(key)).has_value());
    EXPECT_FALSE(decode_claims(with(key, 42)).has_value());
    EXPECT_FALSE(decode_claims(with(key, nullptr)).has_value());
    EXPECT_FALSE(decode_claims(with(key, "")).has_value());
  }
  EXPECT_TRUE(decode_claims(without("par")).has_value());
  EXPECT_FALSE(decode_claims(with("par", nullptr)).has_value());
  EXPECT_FALSE(decode_claims(with("par", "")).has_value());
  EXPECT_FALSE(decode_claims(with("par", 1)).has_value());
  // uuids: canonical lowercase form only
  EXPECT_FALSE(decode_claims(with("jti", "0B6F8A3E-4D2C-4C1B-9A7E-1F2D3C4B5A69")).has_value());
  EXPECT_FALSE(decode_claims(with("jti", "0b6f8a3e4d2c4c1b9a7e1f2d3c4b5a69")).has_value());
  EXPECT_FALSE(decode_claims(with("chn", "{7e1d2c3b-4a59-4687-b7c6-d5e4f3a2b1c0}")).has_value());
  EXPECT_FALSE(decode_claims(with("sub", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5g")).has_value());
  EXPECT_FALSE(decode_claims(with("par", "not-a-uuid")).has_value());
  // times: strict RFC 3339 UTC, whole seconds, as strings
  EXPECT_FALSE(decode_claims(with("exp", 1764468900)).has_value());
  EXPECT_FALSE(decode_claims(with("exp", "2025-11-30T02:15:00+00:00")).has_value());
  EXPECT_FALSE(decode_claims(with("nbf", "2025-11-30T02:00:00.5Z")).has_value());
  EXPECT_FALSE(decode_claims(with("iat", "2100-02-29T00:00:00Z")).has_value());
  // not an object / not JSON
  for (const char* text : {"", "null", "[]", "\"x\"", "42", "{", "{}", "{\"jti\":", "\xff\xfe"}) {
    EXPECT_FALSE(decode_claims(text).has_value()) << text;
  }
  EXPECT_FALSE(decode_claims(good.dump() + "x").has_value());
  EXPECT_FALSE(decode_claims("[" + good.dump() + "]").has_value());
}

TEST(TaskFooter, EncodesAndReadsKeyId) {
  EXPECT_EQ(encode_footer("k4.lid.abc"), R"({"kid":"k4.lid.abc"})");
  EXPECT_EQ(footer_key_id(encode_footer("k4.lid.abc")), std::optional<std::string>("k4.lid.abc"));
  // Quotes and backslashes are escaped, not injected.
  const std::string odd = "k4.lid.\"},\"x\":\"\\";
  EXPECT_EQ(footer_key_id(encode_footer(odd)), std::optional<std::string>(odd));
}

TEST(TaskFooter, RejectsAnythingButExactlyKid) {
  for (const char* footer :
       {"", "{}", "null", "[]", R"(["k4.lid.abc"])", R"({"kid":1})", R"({"kid":null})",
        R"({"kid":["k4.lid.abc"]})", R"({"KID":"k4.lid.abc"})", R"({"kid":"a","x":1})",
        R"({"x":1,"kid":"a"})", R"({"kid":"a","kid2":"b"})", "{\"kid\":\"a\"", "k4.lid.abc",
        "{\"kid\":\"a\"} trailing"}) {
    EXPECT_FALSE(footer_key_id(footer).has_value()) << footer;
  }
}

// ---------------------------------------------------------------- verify_task_token

class VerifyTaskToken : public ::testing::Test {
 protected:
  void SetUp() override {
    ensure_sodium();
    randombytes_buf(key_a_.data(), key_a_.size());
    randombytes_buf(key_b_.data(), key_b_.size());
    keys_["k4.lid.key-a"] = key_a_;
    keys_["k4.lid.key-b"] = key_b_;
  }

  TokenKeyLookup lookup() {
    return [this](std::string_view kid, std::span<uint8_t, 32> out) {
      ++lookups_;
      last_kid_ = std::string(kid);
      auto it = keys_.find(std::string(kid));
      if (it == keys_.end()) return false;
      std::memcpy(out.data(), it->second.data(), out.size());
      return true;
    };
  }

  Outcome verify(const std::string& token, int64_t now) {
    return verify_task_token(token, lookup(), now);
  }

  static std::string refusal(const Outcome& o) {
    if (const auto* r = std::get_if<TokenRefusal>(&o)) return std::string(to_string(*r));
    return "valid";
  }

  static std::string b64(std::string_view s) {
    return base64url_encode(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  Key key_a_{}, key_b_{};
  std::map<std::string, Key> keys_;
  int lookups_ = 0;
  std::string last_kid_;
};

TEST_F(VerifyTaskToken, ValidTokenYieldsItsClaims) {
  const TaskClaims c = sample_claims(true);
  const std::string token = issue_task_token(key_a_, "k4.lid.key-a", c);
  ASSERT_EQ(token.rfind("v4.local.", 0), 0u);
  auto out = verify(token, c.not_before + 60);
  ASSERT_TRUE(std::holds_alternative<TaskClaims>(out)) << refusal(out);
  expect_same(std::get<TaskClaims>(out), c);
  EXPECT_EQ(last_kid_, "k4.lid.key-a");
  // Root tokens (no parent) too.
  auto root = verify(issue_task_token(key_b_, "k4.lid.key-b", sample_claims(false)), c.not_before);
  ASSERT_TRUE(std::holds_alternative<TaskClaims>(root)) << refusal(root);
  EXPECT_TRUE(std::get<TaskClaims>(root).parent_id.empty());
  // Two tokens for the same claims differ (fresh nonce), and both verify.
  EXPECT_NE(issue_task_token(key_a_, "k4.lid.key-a", c), token);
}

TEST_F(VerifyTaskToken, ValidityWindowBoundaries) {
  const TaskClaims c = sample_claims(false);
  const std::string token = issue_task_token(key_a_, "k4.lid.key-a", c);
  EXPECT_EQ(refusal(verify(token, c.not_before - 3600)), "not_yet_valid");
  EXPECT_EQ(refusal(verify(token, c.not_before - 1)), "not_yet_valid");
  EXPECT_EQ(refusal(verify(token, c.not_before)), "valid");
  EXPECT_EQ(refusal(verify(token, c.expires_at - 1)), "valid");
  EXPECT_EQ(refusal(verify(token, c.expires_at)), "expired");
  EXPECT_EQ(refusal(verify(token, c.expires_at + 1)), "expired");
  EXPECT_EQ(refusal(verify(token, c.expires_at + 86400 * 365)), "expired");
}

TEST_F(VerifyTaskToken, NotBeforeInTheFuture) {
  TaskClaims c = sample_claims(true);
  c.not_before = c.issued_at + 600;
  const std::string token = issue_task_token(key_a_, "k4.lid.key-a", c);
  EXPECT_EQ(refusal(verify(token, c.issued_at)), "not_yet_valid");
  EXPECT_EQ(refusal(verify(token, c.not_before)), "valid");
}

TEST_F(VerifyTaskToken, UnknownKey) {
  const TaskClaims c = sample_claims(true);
  EXPECT_EQ(refusal(verify(issue_task_token(key_a_, "k4.lid.retired", c), c.not_before)),
            "unknown_key");
  EXPECT_EQ(last_kid_, "k4.lid.retired");
  // The key is looked up by the footer's id only: even the right key under another id is unknown.
  keys_.erase("k4.lid.key-a");
  EXPECT_EQ(refusal(verify(issue_task_token(key_a_, "k4.lid.key-a", c), c.not_before)),
            "unknown_key");
}

TEST_F(VerifyTaskToken, BadTagWhenMadeWithAnotherKey) {
  const TaskClaims c = sample_claims(true);
  // Made with key B but naming key A: the lookup finds A, and the tag does not verify.
  EXPECT_EQ(refusal(verify(issue_task_token(key_b_, "k4.lid.key-a", c), c.not_before)), "bad_tag");
  // Expired or not, a forged token is a bad tag, not "expired": the time is not trusted before the
  // tag.
  EXPECT_EQ(refusal(verify(issue_task_token(key_b_, "k4.lid.key-a", c), c.expires_at + 10)),
            "bad_tag");
}

TEST_F(VerifyTaskToken, BadTagWithoutTheImplicitAssertion) {
  const TaskClaims c = sample_claims(true);
  const std::string claims = encode_claims(c);
  const std::string footer = encode_footer("k4.lid.key-a");
  // Same key, same claims, same footer: only the implicit assertion differs.
  EXPECT_EQ(refusal(verify(paseto::local_encrypt(key_a_, claims, footer), c.not_before)),
            "bad_tag");
  EXPECT_EQ(refusal(verify(paseto::local_encrypt(key_a_, claims, footer, "warden:task-token:v2"),
                           c.not_before)),
            "bad_tag");
  EXPECT_EQ(refusal(verify(paseto::local_encrypt(key_a_, claims, footer, "warden:credential:v1"),
                           c.not_before)),
            "bad_tag");
  // Control: with the implicit assertion it verifies.
  EXPECT_EQ(refusal(verify(paseto::local_encrypt(key_a_, claims, footer, kTaskTokenImplicit),
                           c.not_before)),
            "valid");
}

TEST_F(VerifyTaskToken, MalformedFooter) {
  const TaskClaims c = sample_claims(true);
  const std::string claims = encode_claims(c);
  for (const std::string& footer :
       {std::string(), std::string("k4.lid.key-a"), std::string("{}"), std::string(R"({"kid":1})"),
        std::string(R"(["k4.lid.key-a"])"), std::string(R"({"kid":"k4.lid.key-a"} )") + "x"}) {
    SCOPED_TRACE(footer);
    lookups_ = 0;
    EXPECT_EQ(refusal(verify(paseto::local_encrypt(key_a_, claims, footer, kTaskTokenImplicit),
                             c.not_before)),
              "malformed");
    EXPECT_EQ(lookups_, 0) << "no key lookup for a footer that names no key";
  }
}

TEST_F(VerifyTaskToken, FooterWithExtraMembersIsMalformed) {
  const TaskClaims c = sample_claims(true);
  const std::string claims = encode_claims(c);
  // Properly authenticated under a known key, but the footer carries more than the key id.
  for (const char* footer :
       {R"({"kid":"k4.lid.key-a","x":1})", R"({"kid":"k4.lid.key-a","kid2":"k4.lid.key-b"})",
        R"({"wpk":"k4.local-wrap.pie.x","kid":"k4.lid.key-a"})"}) {
    SCOPED_TRACE(footer);
    EXPECT_EQ(refusal(verify(paseto::local_encrypt(key_a_, claims, footer, kTaskTokenImplicit),
                             c.not_before)),
              "malformed");
  }
}

TEST_F(VerifyTaskToken, AuthenticatedButNotTaskClaims) {
  const std::string footer = encode_footer("k4.lid.key-a");
  for (const char* payload : {"", "{}", "[]", "null", "not json", R"({"jti":"x"})"}) {
    SCOPED_TRACE(payload);
    EXPECT_EQ(refusal(verify(paseto::local_encrypt(key_a_, payload, footer, kTaskTokenImplicit),
                             1764468000)),
              "malformed");
  }
}

TEST_F(VerifyTaskToken, StructurallyBadTokens) {
  const TaskClaims c = sample_claims(true);
  const std::string token = issue_task_token(key_a_, "k4.lid.key-a", c);
  const auto dot = token.rfind('.');
  const std::string body = token.substr(9, dot - 9);
  const std::string foot = token.substr(dot + 1);
  std::string plus = token;
  plus[20] = '+';
  const std::vector<std::string> bad = {
      "",
      "v4.local.",
      "v4.local..",
      "v4.local." + body,                // no footer
      token + "=",                       // padding
      "v4.local." + body + "=." + foot,  // padded payload
      plus,                              // standard base64 alphabet
      " " + token,
      token + "\n",
      token + ".e30",  // extra part
      "v3.local." + token.substr(9),
      "v4.public." + token.substr(9),
      "V4.LOCAL." + token.substr(9),
      "v4.local." + body.substr(0, 60) + "." + foot,  // shorter than nonce + tag
      std::string(1024 * 1024, 'A'),
      "v4.local." + std::string(paseto::kMaxTokenSize, 'A') + "." + foot,  // over the size bound
  };
  for (const auto& t : bad) {
    SCOPED_TRACE(t.substr(0, 80));
    EXPECT_EQ(refusal(verify(t, c.not_before)), "malformed");
  }
  // Sanity: the original still verifies.
  EXPECT_EQ(refusal(verify(token, c.not_before)), "valid");
}

TEST_F(VerifyTaskToken, OversizedTokensNeverReachTheKeyLookup) {
  const std::string foot = b64(encode_footer("k4.lid.key-a"));
  lookups_ = 0;
  EXPECT_EQ(refusal(verify("v4.local." + std::string(paseto::kMaxTokenSize, 'A') + "." + foot, 0)),
            "malformed");
  EXPECT_EQ(lookups_, 0);
}

TEST_F(VerifyTaskToken, EveryCharacterChangeIsRefused) {
  const TaskClaims c = sample_claims(true);
  const std::string token = issue_task_token(key_a_, "k4.lid.key-a", c);
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  int bad_tags = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    for (char replacement : {alphabet[(alphabet.find(token[i]) + 1) % 64], '.', '='}) {
      if (replacement == token[i]) continue;
      std::string t = token;
      t[i] = replacement;
      const Outcome out = verify(t, c.not_before);
      ASSERT_TRUE(std::holds_alternative<TokenRefusal>(out))
          << "position " << i << " -> " << replacement;
      if (refusal(out) == "bad_tag") ++bad_tags;
    }
  }
  // Changes inside the encrypted payload are caught by the tag (not all are merely malformed).
  EXPECT_GT(bad_tags, 100);
}

TEST_F(VerifyTaskToken, SwappedFooterIsRefused) {
  const TaskClaims c = sample_claims(true);
  const std::string a = issue_task_token(key_a_, "k4.lid.key-a", c);
  const std::string b = issue_task_token(key_b_, "k4.lid.key-b", c);
  const std::string a_body = a.substr(0, a.rfind('.'));
  const std::string b_foot = b.substr(b.rfind('.') + 1);
  // Payload made with A, footer naming B: B's key is found, and the tag does not verify.
  EXPECT_EQ(refusal(verify(a_body + "." + b_foot, c.not_before)), "bad_tag");
}

}  // namespace
}  // namespace warden
