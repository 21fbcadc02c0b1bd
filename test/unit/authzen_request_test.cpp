#include <gtest/gtest.h>

#include <string>

#include "frontend/mcp/json_rpc.hpp"
#include "frontend/pdp/authzen_request.hpp"

// How warden reads AuthZEN 1.0 evaluation requests (the spec's own request shapes, with
// warden's subject/action/resource mapping) and Envoy ext_authz checks.

namespace warden::pdp {
namespace {

json request_for(const std::string& tool) {
  return {{"subject", {{"type", "agent"}, {"id", "v4.local.TOKEN"}}},
          {"action", {{"name", "tools/call"}}},
          {"resource", {{"type", "tool"}, {"id", tool}}},
          {"context", {{"arguments", {{"ticket", 4711}}}, {"time", "1985-10-26T01:22-07:00"}}}};
}

TEST(AuthzenRequest, SingleEvaluationMapsOntoAuthorize) {
  ToolCall call = parse_evaluation(request_for("tickets/update_ticket"));
  EXPECT_EQ(call.token, "v4.local.TOKEN");
  EXPECT_EQ(call.server, "tickets");
  EXPECT_EQ(call.tool, "update_ticket");
  EXPECT_EQ(call.arguments, json({{"ticket", 4711}}));
  EXPECT_EQ(call.pep_context, json({{"time", "1985-10-26T01:22-07:00"}}));
  // A tool name may hold '/': the server is what comes before the first one.
  EXPECT_EQ(parse_evaluation(request_for("fs/read/file")).tool, "read/file");
}

TEST(AuthzenRequest, ContextNeverSetsAuthorizeKeys) {
  json body = request_for("t/x");
  body["context"]["credential"] = "with_decision";
  body["context"]["dpop_jkt"] = "forged";
  ToolCall call = parse_evaluation(body);
  // Kept only as the PEP's own context (warden nests it under "authzen").
  EXPECT_EQ(call.pep_context["credential"], "with_decision");
  EXPECT_FALSE(call.arguments.contains("credential"));
}

TEST(AuthzenRequest, BadInputIsNamed) {
  auto message = [](json body) {
    try {
      parse_evaluation(body);
    } catch (const RequestError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message(json::array()), "the body must be a JSON object");
  json b = request_for("t/x");
  b.erase("subject");
  EXPECT_NE(message(b).find("subject is required"), std::string::npos);
  b = request_for("t/x");
  b["subject"]["id"] = 42;
  EXPECT_EQ(message(b), "subject.id must be a non-empty string");
  b = request_for("t/x");
  b["action"]["name"] = "can_read";
  EXPECT_NE(message(b).find("action.name must be \"tools/call\""), std::string::npos);
  b = request_for("t/x");
  b["resource"]["type"] = "document";
  EXPECT_NE(message(b).find("resource.type must be \"tool\""), std::string::npos);
  for (const char* id : {"no-slash", "/tool", "server/"}) {
    EXPECT_EQ(message(request_for(id)), "resource.id must be \"server/tool\"") << id;
  }
  b = request_for("t/x");
  b["context"]["arguments"] = "not an object";
  EXPECT_EQ(message(b), "context.arguments must be a JSON object");
  b = request_for("t/x");
  b["context"] = 7;
  EXPECT_EQ(message(b), "context must be a JSON object");
}

// The spec's boxcarring example with defaults: top-level subject, context and action, the
// third evaluation overriding the action.
TEST(AuthzenRequest, BatchDefaultsAndOverrides) {
  json body = {{"subject", {{"type", "agent"}, {"id", "T"}}},
               {"context", {{"time", "2024-05-31T15:22-07:00"}}},
               {"action", {{"name", "tools/call"}}},
               {"evaluations",
                {{{"resource", {{"type", "tool"}, {"id", "docs/boxcarring"}}}},
                 {{"resource", {{"type", "tool"}, {"id", "docs/subject-search"}}},
                  {"subject", {{"type", "agent"}, {"id", "OTHER"}}}},
                 {{"action", {{"name", "can_edit"}}},
                  {"resource", {{"type", "tool"}, {"id", "docs/resource-search"}}}}}}};
  Evaluations e = parse_evaluations(body);
  EXPECT_FALSE(e.single);
  EXPECT_EQ(e.semantic, Semantic::kExecuteAll);
  ASSERT_EQ(e.items.size(), 3u);
  EXPECT_EQ(std::get<ToolCall>(e.items[0]).tool, "boxcarring");
  EXPECT_EQ(std::get<ToolCall>(e.items[0]).token, "T");
  EXPECT_EQ(std::get<ToolCall>(e.items[0]).pep_context["time"], "2024-05-31T15:22-07:00");
  EXPECT_EQ(std::get<ToolCall>(e.items[1]).token, "OTHER");
  // An item that cannot be read is an error of that item, not of the request.
  ASSERT_TRUE(std::holds_alternative<EvaluationError>(e.items[2]));
  EXPECT_EQ(std::get<EvaluationError>(e.items[2]).status, 400u);
}

TEST(AuthzenRequest, BatchSemanticsAndLimits) {
  json body = request_for("t/x");
  body["evaluations"] = json::array({json::object()});
  body["options"] = {{"evaluations_semantic", "deny_on_first_deny"}};
  EXPECT_EQ(parse_evaluations(body).semantic, Semantic::kDenyOnFirstDeny);
  body["options"]["evaluations_semantic"] = "permit_on_first_permit";
  EXPECT_EQ(parse_evaluations(body).semantic, Semantic::kPermitOnFirstPermit);
  body["options"]["evaluations_semantic"] = "first_whatever";
  EXPECT_THROW(parse_evaluations(body), RequestError);
  body.erase("options");
  body["evaluations"] = json::array();
  for (std::size_t i = 0; i <= kMaxEvaluations; ++i) body["evaluations"].push_back(json::object());
  EXPECT_THROW(parse_evaluations(body), RequestError);
  body["evaluations"] = "x";
  EXPECT_THROW(parse_evaluations(body), RequestError);
  // No evaluations array (or an empty one): a single evaluation, answered as one.
  body.erase("evaluations");
  EXPECT_TRUE(parse_evaluations(body).single);
  body["evaluations"] = json::array();
  EXPECT_TRUE(parse_evaluations(body).single);
  body["evaluations"] = json::array({42});
  EXPECT_TRUE(std::holds_alternative<EvaluationError>(parse_evaluations(body).items.at(0)));
}

TEST(ExtAuthz, OnlyToolsCallIsDecided) {
  EXPECT_TRUE(std::holds_alternative<ExtAuthzAllow>(ext_authz_check("GET", "")));
  EXPECT_TRUE(std::holds_alternative<ExtAuthzAllow>(ext_authz_check("DELETE", "")));
  EXPECT_TRUE(std::holds_alternative<ExtAuthzAllow>(
      ext_authz_check("POST", R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})")));
  EXPECT_TRUE(std::holds_alternative<ExtAuthzAllow>(
      ext_authz_check("POST", R"({"jsonrpc":"2.0","id":1,"result":{}})")));
  auto decide = ext_authz_check(
      "POST",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tickets__update","arguments":{"a":1}}})");
  ASSERT_TRUE(std::holds_alternative<ExtAuthzDecide>(decide));
  EXPECT_EQ(std::get<ExtAuthzDecide>(decide).server, "tickets");
  EXPECT_EQ(std::get<ExtAuthzDecide>(decide).tool, "update");
  EXPECT_EQ(std::get<ExtAuthzDecide>(decide).arguments, json({{"a", 1}}));
  // Fail closed on what could carry a call past the check.
  for (
      const char* body :
      {"not json", R"([{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__b"}}])",
       R"({"jsonrpc":"2.0","id":1,"method":"tools/call"})",
       R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nounderscores"}})",
       R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__b","arguments":[1]}})",
       R"({"jsonrpc":"2.0","id":1,"method":7})"}) {
    EXPECT_TRUE(std::holds_alternative<ExtAuthzDeny>(ext_authz_check("POST", body))) << body;
  }
}

TEST(ExtAuthz, DefaultDeny) {
  // Methods that read or act without being decided here are refused, not let through.
  for (
      const char* body :
      {R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///etc/shadow"}})",
       R"({"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{}})",
       R"({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"x"}})",
       R"({"jsonrpc":"2.0","id":1,"method":"tasks/result","params":{}})",
       R"({"jsonrpc":"2.0","id":1})"}) {
    EXPECT_TRUE(std::holds_alternative<ExtAuthzDeny>(ext_authz_check("POST", body))) << body;
  }
  EXPECT_TRUE(std::holds_alternative<ExtAuthzDeny>(ext_authz_check("PUT", "")));
  EXPECT_TRUE(std::holds_alternative<ExtAuthzDeny>(ext_authz_check("GET", "{}")));
  for (const char* body : {R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                           R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
                           R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}})"}) {
    EXPECT_TRUE(std::holds_alternative<ExtAuthzAllow>(ext_authz_check("POST", body))) << body;
  }
  // prompts/get is decided like a tool.
  EXPECT_TRUE(std::holds_alternative<ExtAuthzDecide>(ext_authz_check(
      "POST", R"({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"a__b"}})")));
}

TEST(ExtAuthz, KeysThatFoldToAMemberAreRefused) {
  // Decided on one key, run on the other by an upstream that matches keys case-insensitively.
  for (
      const char* body :
      {R"({"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"pay__refund"}})",
       R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"pay__lookup","Name":"pay__refund"}})",
       R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"pay__refund","arguments":{"amount":10},"argument\u017f":{"amount":90000}}})",
       R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__b","ARGUMENTS":{}}})"}) {
    EXPECT_TRUE(std::holds_alternative<ExtAuthzDeny>(ext_authz_check("POST", body))) << body;
  }
  EXPECT_TRUE(mcp::has_shadowing_key(json::parse(R"({"\u212aey":1})"), {"key"}));
  EXPECT_FALSE(mcp::has_shadowing_key(json::parse(R"({"key":1,"other":2})"), {"key"}));
}

}  // namespace
}  // namespace warden::pdp
