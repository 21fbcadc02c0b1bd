#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/net/http_rules.hpp"
#include "frontend/mcp/json_rpc.hpp"
#include "frontend/net/url.hpp"

// The front-end's socket-free rules: what a request must carry before anything is decided.

namespace warden::mcp {
namespace {

TEST(FrontendRules, ProtocolVersions) {
  EXPECT_TRUE(supported_version("2025-06-18"));
  EXPECT_TRUE(supported_version("2025-11-25"));
  EXPECT_FALSE(supported_version("2024-01-01"));
  EXPECT_FALSE(supported_version(""));
  EXPECT_EQ(negotiate_version("2025-06-18"), "2025-06-18");
  EXPECT_EQ(negotiate_version("1999-01-01"), std::string(kLatestVersion));
}

TEST(FrontendRules, AcceptAndContentType) {
  EXPECT_TRUE(accepts("application/json, text/event-stream", "text/event-stream"));
  EXPECT_TRUE(accepts("*/*", "application/json"));
  EXPECT_TRUE(accepts("application/*;q=0.9", "application/json"));
  EXPECT_FALSE(accepts("text/html", "application/json"));
  EXPECT_FALSE(accepts("", "application/json"));
  EXPECT_TRUE(is_json_content_type("application/json; charset=utf-8"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
}

TEST(FrontendRules, BearerTokens) {
  EXPECT_EQ(bearer_token("Bearer v4.local.abc"), "v4.local.abc");
  EXPECT_EQ(bearer_token("bearer v4.local.abc"), "v4.local.abc");
  EXPECT_FALSE(bearer_token("Basic dXNlcjpwYXNz"));
  EXPECT_FALSE(bearer_token("Bearer"));
  EXPECT_FALSE(bearer_token(""));
}

TEST(FrontendRules, OriginsAndHosts) {
  const std::vector<std::string> none;
  EXPECT_TRUE(origin_allowed("http://localhost:3000", none));
  EXPECT_TRUE(origin_allowed("http://127.0.0.1:8719", none));
  EXPECT_FALSE(origin_allowed("https://evil.example", none));
  EXPECT_TRUE(origin_allowed("https://app.example", {"https://app.example"}));
  EXPECT_TRUE(host_allowed("127.0.0.1:8719", none));
  EXPECT_FALSE(host_allowed("evil.example", none));
}

TEST(FrontendRules, RoutingHeadersMustAgreeWithTheBody) {
  const std::string name = "everything__echo";
  EXPECT_FALSE(header_mismatch("", "", "tools/call", &name));
  EXPECT_FALSE(header_mismatch("tools/call", "everything__echo", "tools/call", &name));
  EXPECT_TRUE(header_mismatch("tools/list", "", "tools/call", &name));
  EXPECT_TRUE(header_mismatch("tools/call", "everything__get-env", "tools/call", &name));
}

TEST(FrontendRules, Urls) {
  auto u = parse_url("https://tickets.internal:8443/mcp?x=1");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "tickets.internal");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/mcp?x=1");
  auto plain = parse_url("http://[::1]/");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "::1");
  EXPECT_EQ(plain->port, "80");
  EXPECT_FALSE(parse_url("ftp://x/"));
  EXPECT_FALSE(parse_url("tickets.internal/mcp"));
}

TEST(FrontendRules, MessagesAreBoundedAndRepliesShaped) {
  EXPECT_TRUE(parse_message(std::string(200, '[') + std::string(200, ']')).is_discarded());
  EXPECT_FALSE(parse_message(R"({"jsonrpc":"2.0","id":1,"method":"ping"})").is_discarded());
  EXPECT_TRUE(parse_message("{not json").is_discarded());
  json ok = reply_from_answer(7, json{{"result", {{"x", 1}}}});
  EXPECT_EQ(ok["id"], 7);
  EXPECT_EQ(ok["result"]["x"], 1);
  json missing = reply_from_answer(7, json::object());
  EXPECT_EQ(missing["error"]["code"], rpc_code::kUpstreamFailed);
}

TEST(FrontendRules, NulReplacedInStringsAndKeys) {
  json v = json::parse(R"({"error": "a\u0000b", "k\u0000": [1, "\u0000"], "ok": "plain"})");
  ASSERT_TRUE(holds_nul(v));
  replace_nul(v);
  EXPECT_FALSE(holds_nul(v));
  EXPECT_EQ(v["error"],
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(v["k\xEF\xBF\xBD"], json::parse(R"([1, "\ufffd"])"));
  EXPECT_EQ(v["ok"], "plain");
  EXPECT_EQ(v.size(), 3u);
}

TEST(FrontendRules, KeysThatFoldTogetherAtAnyDepth) {
  EXPECT_TRUE(has_folding_keys(json::parse(R"({"filePath":"a","filepath":"b"})")));
  EXPECT_TRUE(has_folding_keys(json::parse(R"({"a":{"b":[{"Mode":1,"mode":2}]}})")));
  EXPECT_TRUE(has_folding_keys(json::parse(R"([{"\u212aey":1,"key":2}])")));  // Kelvin sign
  EXPECT_TRUE(has_folding_keys(json::parse(R"({"\u017fort":1,"SORT":2})")));  // long s
  EXPECT_FALSE(has_folding_keys(json::parse(R"({"file_path":1,"filePath":2,"filePath ":3})")));
  EXPECT_FALSE(has_folding_keys(json::parse(R"({"a":{"x":1},"b":{"x":2}})")));  // one per object
  EXPECT_FALSE(has_folding_keys(json::parse(R"(["A","a"])")));                  // values, not keys
  EXPECT_FALSE(has_folding_keys(json("text")));
}

TEST(FrontendRules, ArgumentsThatCannotBeDecidedAsTheyAre) {
  EXPECT_EQ(arguments_refusal(json::parse(R"({"path":"a","nested":{"x":[1,2]}})")), "");
  EXPECT_EQ(arguments_refusal(json::parse(R"({"path":"a\u0000b"})")), "an argument holds U+0000");
  EXPECT_NE(
      arguments_refusal(json::parse(R"({"path":"a","Path":"b"})")).find("differ only in case"),
      std::string::npos);
}

TEST(FrontendRules, MembersOfUnexpectedTypeAreTheFallback) {
  const json answer = json::parse(R"({"isError":"yes","ok":true,"message":42,"name":"n"})");
  EXPECT_FALSE(bool_member(answer, "isError"));
  EXPECT_TRUE(bool_member(answer, "isError", true));
  EXPECT_TRUE(bool_member(answer, "ok"));
  EXPECT_EQ(string_member(answer, "message"), "");
  EXPECT_EQ(string_member(answer, "name"), "n");
  EXPECT_EQ(string_member(json("not an object"), "name", "fallback"), "fallback");
  EXPECT_FALSE(bool_member(json::array(), "isError"));
}

}  // namespace
}  // namespace warden::mcp
