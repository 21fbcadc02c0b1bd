#include <gtest/gtest.h>

#include <string>

#include "frontend/net/stateless_envelope.hpp"

// MCP 2026-07-28 envelopes: which requests are session-less, and what their _meta and
// MCP-Protocol-Version header must say before anything is decided.

namespace warden::mcp {
namespace {

json request(const json& meta, const std::string& method = "tools/list") {
  json m = {{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", json::object()}};
  if (!meta.is_null()) m["params"]["_meta"] = meta;
  return m;
}

json envelope(const std::string& version = "2026-07-28") {
  return {{"io.modelcontextprotocol/protocolVersion", version},
          {"io.modelcontextprotocol/clientCapabilities", json::object()}};
}

TEST(StatelessEnvelope, ChosenPerRequest) {
  EXPECT_TRUE(is_stateless_message("2026-07-28", request(nullptr)));
  EXPECT_TRUE(is_stateless_message("", request(envelope())));
  EXPECT_TRUE(is_stateless_message("", request(nullptr, "server/discover")));
  EXPECT_TRUE(is_stateless_message("v999.0.0", request(nullptr)));
  EXPECT_FALSE(is_stateless_message("2025-11-25", request(nullptr)));
  EXPECT_FALSE(is_stateless_message("", request(nullptr, "initialize")));
  EXPECT_FALSE(is_stateless_message("2025-06-18", request(envelope("2025-06-18"))));
  // Half a downgrade (header of a session revision, body of the stateless one) stays stateless,
  // so the envelope check sees the disagreement.
  EXPECT_TRUE(is_stateless_message("2025-11-25", request(envelope())));
}

TEST(StatelessEnvelope, RefusalsInTheSpecsOrder) {
  EXPECT_FALSE(check_envelope("2026-07-28", request(envelope())));
  EXPECT_EQ(check_envelope("", request(envelope()))->code, -32020);
  auto missing = check_envelope("2026-07-28", request(nullptr));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400u);
  EXPECT_EQ(missing->code, -32602);
  json no_caps = envelope();
  no_caps.erase("io.modelcontextprotocol/clientCapabilities");
  EXPECT_EQ(check_envelope("2026-07-28", request(no_caps))->code, -32602);
  json no_version = envelope();
  no_version.erase("io.modelcontextprotocol/protocolVersion");
  EXPECT_EQ(check_envelope("2026-07-28", request(no_version))->code, -32602);
  // Downgrade either way: header and _meta disagree.
  EXPECT_EQ(check_envelope("2025-11-25", request(envelope()))->code, -32020);
  EXPECT_EQ(check_envelope("2026-07-28", request(envelope("2025-11-25")))->code, -32020);
  auto unknown = check_envelope("v999.0.0", request(envelope("v999.0.0")));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->code, -32022);
  EXPECT_EQ(unknown->data["requested"], "v999.0.0");
  EXPECT_EQ(unknown->data["supported"], supported_versions());
  json big = envelope();
  big["com.example/padding"] = std::string(kMaxMetaBytes, 'x');
  EXPECT_EQ(check_envelope("2026-07-28", request(big))->code, -32602);
}

TEST(StatelessEnvelope, RoutingHeadersAreRequired) {
  json call = request(envelope(), "tools/call");
  call["params"]["name"] = "echo";
  EXPECT_FALSE(missing_routing_header("tools/call", "echo", call));
  EXPECT_TRUE(missing_routing_header("", "echo", call));
  EXPECT_TRUE(missing_routing_header("tools/call", "", call));
  EXPECT_FALSE(missing_routing_header("tools/list", "", request(envelope())));
  json read = request(envelope(), "resources/read");
  read["params"]["uri"] = "test://x";
  EXPECT_TRUE(missing_routing_header("resources/read", "", read));
}

TEST(StatelessEnvelope, MethodsAndResults) {
  EXPECT_TRUE(stateless_method("tools/call"));
  EXPECT_TRUE(stateless_method("server/discover"));
  for (const char* removed :
       {"initialize", "ping", "logging/setLevel", "resources/subscribe", "unknown/method"}) {
    EXPECT_FALSE(stateless_method(removed)) << removed;
  }
  json listed = stateless_result("tools/list", {{"tools", json::array()}});
  EXPECT_EQ(listed["resultType"], "complete");
  EXPECT_EQ(listed["ttlMs"], 0);
  EXPECT_EQ(listed["cacheScope"], "private");
  json called = stateless_result("tools/call", {{"content", json::array()}});
  EXPECT_EQ(called["resultType"], "complete");
  EXPECT_FALSE(called.contains("ttlMs"));
}

TEST(StatelessEnvelope, UpstreamsGetNoEnvelope) {
  json params = {{"name", "echo"}, {"_meta", envelope()}};
  params["_meta"]["progressToken"] = 3;
  strip_envelope(params);
  EXPECT_EQ(params["_meta"], json({{"progressToken", 3}}));
  json only = {{"_meta", envelope()}};
  strip_envelope(only);
  EXPECT_FALSE(only.contains("_meta"));
}

TEST(StatelessEnvelope, LogsOnlyWhenAsked) {
  EXPECT_FALSE(log_wanted("", "error"));
  EXPECT_TRUE(log_wanted("info", "warning"));
  EXPECT_FALSE(log_wanted("warning", "info"));
  EXPECT_FALSE(log_wanted("loud", "error"));
}

}  // namespace
}  // namespace warden::mcp
