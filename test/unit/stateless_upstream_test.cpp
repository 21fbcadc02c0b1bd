// warden-mcp as a client of an MCP 2026-07-28 upstream: the envelope it sends, the routing
// name, and how an input_required result is read for an agent on a session.
#include "frontend/upstream/stateless_upstream.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace warden::mcp {
namespace {

TEST(StatelessUpstream, DiscoverProbeCarriesTheEnvelope) {
  json probe = discover_probe(7);
  EXPECT_EQ(probe["method"], "server/discover");
  EXPECT_EQ(probe["id"], 7);
  const json& meta = probe["params"]["_meta"];
  EXPECT_EQ(meta["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
  EXPECT_EQ(meta["io.modelcontextprotocol/clientInfo"]["name"], "warden-mcp");
  EXPECT_TRUE(meta["io.modelcontextprotocol/clientCapabilities"].contains("elicitation"));
}

TEST(StatelessUpstream, OnlyAListedVersionMeansStateless) {
  EXPECT_TRUE(supports_stateless(
      json::parse(R"({"result":{"supportedVersions":["2025-11-25","2026-07-28"]}})")));
  EXPECT_FALSE(
      supports_stateless(json::parse(R"({"result":{"supportedVersions":["2025-11-25"]}})")));
  EXPECT_FALSE(supports_stateless(json::parse(R"({"result":{"supportedVersions":"2026-07-28"}})")));
  EXPECT_FALSE(supports_stateless(json::parse(R"({"error":{"code":-32601,"message":"no"}})")));
  EXPECT_FALSE(supports_stateless(json::parse(R"({"result":{}})")));
}

TEST(StatelessUpstream, AStatelessAgentsCapabilitiesAndLogLevelArePassedOn) {
  json params = json::parse(R"({"name":"t","_meta":{"progressToken":3,
      "io.modelcontextprotocol/protocolVersion":"2025-01-01",
      "io.modelcontextprotocol/clientInfo":{"name":"spoofed"}}})");
  json agent = json::parse(R"({"io.modelcontextprotocol/clientCapabilities":{"sampling":{}},
      "io.modelcontextprotocol/logLevel":"debug"})");
  add_upstream_envelope(params, agent);
  const json& meta = params["_meta"];
  EXPECT_EQ(meta["progressToken"], 3);  // the agent's own _meta stays
  EXPECT_EQ(meta["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
  EXPECT_EQ(meta["io.modelcontextprotocol/clientInfo"]["name"], "warden-mcp");
  EXPECT_EQ(meta["io.modelcontextprotocol/clientCapabilities"], json::parse(R"({"sampling":{}})"));
  EXPECT_EQ(meta["io.modelcontextprotocol/logLevel"], "debug");
}

TEST(StatelessUpstream, ASessionAgentGetsWhatWardenRelays) {
  json params = json::object();
  add_upstream_envelope(params, nullptr);
  const json& caps = params["_meta"]["io.modelcontextprotocol/clientCapabilities"];
  EXPECT_TRUE(caps.contains("sampling"));
  EXPECT_TRUE(caps.contains("elicitation"));
  EXPECT_TRUE(caps.contains("roots"));
  EXPECT_FALSE(params["_meta"].contains("io.modelcontextprotocol/logLevel"));
}

TEST(StatelessUpstream, RoutingNameIsPlainOrBase64AndFollowsTheMethod) {
  EXPECT_EQ(routing_name("tools/call", json::parse(R"({"name":"echo"})")), "echo");
  EXPECT_EQ(routing_name("resources/read", json::parse(R"({"uri":"test://static-text"})")),
            "test://static-text");
  EXPECT_EQ(routing_name("tools/call", json::parse(R"({"name":"h\u00e9"})")), "=?base64?aMOp?=");
  EXPECT_EQ(routing_name("prompts/get", json::parse(R"({"name":"a\nb"})")), "=?base64?YQpi?=");
  EXPECT_EQ(routing_name("tools/call", json::parse(R"({"name":"=?base64?x?="})")),
            "=?base64?PT9iYXNlNjQ/eD89?=");
  // An extra key cannot make the header name something the body does not.
  EXPECT_EQ(routing_name("resources/read", json::parse(R"({"name":"x","uri":"test://a"})")),
            "test://a");
  EXPECT_EQ(routing_name("tools/list", json::parse(R"({"name":"x"})")), std::nullopt);
  EXPECT_EQ(routing_name("tools/call", json::parse(R"({"uri":"x"})")), std::nullopt);
}

TEST(StatelessUpstream, OnlyRelayedCapabilitiesAndKnownLogLevelsArePassedOn) {
  json params = json::object();
  add_upstream_envelope(params, json::parse(R"({"io.modelcontextprotocol/clientCapabilities":
      {"sampling":{},"experimental":{"x":{}},"extensions":{"y":{}},"roots":"no"},
      "io.modelcontextprotocol/logLevel":"loud"})"));
  EXPECT_EQ(params["_meta"]["io.modelcontextprotocol/clientCapabilities"],
            json::parse(R"({"sampling":{}})"));
  EXPECT_FALSE(params["_meta"].contains("io.modelcontextprotocol/logLevel"));
}

TEST(StatelessUpstream, InputRequestsForASessionAgent) {
  json result = json::parse(R"({"resultType":"input_required","requestState":"s1",
      "inputRequests":{"a":{"method":"elicitation/create","params":{"message":"m"}},
                       "b":{"method":"roots/list"}}})");
  EXPECT_TRUE(is_input_required(json{{"result", result}}));
  json requests = session_input_requests(result);
  EXPECT_EQ(requests["a"]["method"], "elicitation/create");
  EXPECT_EQ(requests["a"]["params"]["message"], "m");
  EXPECT_EQ(requests["b"]["params"], json::object());
  EXPECT_FALSE(requests["a"].contains("id"));

  json retry = retry_params(json::parse(R"({"name":"t","requestState":"old"})"), result,
                            json::parse(R"({"a":{"action":"accept"}})"));
  EXPECT_EQ(retry["requestState"], "s1");
  EXPECT_EQ(retry["inputResponses"]["a"]["action"], "accept");
  json no_state = retry_params(json::parse(R"({"name":"t","requestState":"old"})"),
                               json::parse(R"({"inputRequests":{}})"), json::object());
  EXPECT_FALSE(no_state.contains("requestState"));
}

TEST(StatelessUpstream, MalformedInputRequestsAreRefused) {
  EXPECT_THROW(session_input_requests(json::parse(R"({"resultType":"input_required"})")),
               std::invalid_argument);
  EXPECT_THROW(session_input_requests(json::parse(R"({"inputRequests":{"a":"x"}})")),
               std::invalid_argument);
  EXPECT_THROW(
      session_input_requests(json::parse(R"({"inputRequests":{"a":{"method":"tools/call"}}})")),
      std::invalid_argument);
  json many = json::object();
  for (int i = 0; i < 17; ++i) many["k" + std::to_string(i)] = {{"method", "roots/list"}};
  EXPECT_THROW(session_input_requests(json{{"inputRequests", many}}), std::invalid_argument);
}

TEST(StatelessUpstream, ASessionAgentSeesNoResultType) {
  json answer = json::parse(R"({"result":{"resultType":"complete","content":[]}})");
  EXPECT_FALSE(for_session_agent(answer)["result"].contains("resultType"));
  EXPECT_FALSE(is_input_required(answer));
}

}  // namespace
}  // namespace warden::mcp
