// An upstream on a session revision asking an MCP 2026-07-28 agent something mid-call: which
// requests are held for the agent, how they are shown in input_required, and how the agent's
// inputResponses answer them.
#include "frontend/mcp/input_exchange.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace warden::mcp {
namespace {

json request(int id, const std::string& method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

struct Replies {
  std::vector<json> sent;
  InputExchange::Reply reply() {
    return [this](json response) { sent.push_back(std::move(response)); };
  }
};

json all_capabilities() {
  return {{"sampling", json::object()}, {"elicitation", json::object()}, {"roots", json::object()}};
}

TEST(InputExchange, HoldsOnlyWhatTheAgentDeclared) {
  Replies replies;
  InputExchange exchange(json{{"elicitation", json::object()}});
  EXPECT_TRUE(
      exchange.ask(request(1, "elicitation/create", {{"message", "name?"}}), replies.reply()));
  EXPECT_FALSE(exchange.ask(request(2, "sampling/createMessage"), replies.reply()));
  EXPECT_FALSE(exchange.ask(request(3, "tools/call"), replies.reply()));
  ASSERT_EQ(replies.sent.size(), 2u);
  EXPECT_EQ(replies.sent[0]["id"], 2);
  EXPECT_EQ(replies.sent[0]["error"]["code"], rpc_code::kInvalidRequest);
  EXPECT_EQ(replies.sent[1]["id"], 3);
  EXPECT_EQ(replies.sent[1]["error"]["code"], rpc_code::kMethodNotFound);
  EXPECT_TRUE(exchange.has_unshown());
}

TEST(InputExchange, ShowsHeldRequestsWithoutTheUpstreamsMeta) {
  Replies replies;
  InputExchange exchange(all_capabilities());
  json params = {{"maxTokens", 5}, {"_meta", {{"progressToken", 9}}}};
  ASSERT_TRUE(exchange.ask(request(41, "sampling/createMessage", params), replies.reply()));
  ASSERT_TRUE(exchange.ask(request(42, "roots/list"), replies.reply()));
  auto result = exchange.input_required("warden-input.abc");
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["resultType"], "input_required");
  EXPECT_EQ((*result)["requestState"], "warden-input.abc");
  const json& asked = (*result)["inputRequests"];
  ASSERT_EQ(asked.size(), 2u);
  for (const auto& [key, item] : asked.items()) {
    EXPECT_EQ(key.rfind("warden-", 0), 0u);
    EXPECT_FALSE(item["params"].contains("_meta"));
    EXPECT_FALSE(item.contains("id"));  // the upstream's ids stay with warden-mcp
  }
  EXPECT_FALSE(exchange.has_unshown());
  EXPECT_EQ(exchange.rounds(), 1);
  EXPECT_EQ(exchange.methods_asked(),
            (std::vector<std::string>{"sampling/createMessage", "roots/list"}));
}

TEST(InputExchange, AnswersGoBackWithTheUpstreamsIdsAndUnansweredStayHeld) {
  Replies replies;
  InputExchange exchange(all_capabilities());
  ASSERT_TRUE(exchange.ask(request(7, "elicitation/create"), replies.reply()));
  ASSERT_TRUE(exchange.ask(request(8, "roots/list"), replies.reply()));
  json asked = (*exchange.input_required("s"))["inputRequests"];
  std::string elicit_key, roots_key;
  for (const auto& [key, item] : asked.items()) {
    (item["method"] == "roots/list" ? roots_key : elicit_key) = key;
  }
  exchange.answer({{elicit_key, {{"action", "accept"}, {"content", {{"name", "Ada"}}}}},
                   {"not-a-key", {{"x", 1}}}});
  ASSERT_EQ(replies.sent.size(), 1u);
  EXPECT_EQ(replies.sent[0]["id"], 7);
  EXPECT_EQ(replies.sent[0]["result"]["content"]["name"], "Ada");
  // The roots request is still held: asked again in the next round.
  auto again = exchange.input_required("t");
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["inputRequests"].size(), 1u);
  EXPECT_TRUE((*again)["inputRequests"].contains(roots_key));
  exchange.answer({{roots_key, {{"error", {{"code", -32601}, {"message", "no roots"}}}}}});
  ASSERT_EQ(replies.sent.size(), 2u);
  EXPECT_EQ(replies.sent[1]["id"], 8);
  EXPECT_EQ(replies.sent[1]["error"]["message"], "no roots");
}

TEST(InputExchange, MalformedResponsesAnswerNothing) {
  Replies replies;
  InputExchange exchange(all_capabilities());
  ASSERT_TRUE(exchange.ask(request(1, "roots/list"), replies.reply()));
  ASSERT_TRUE(exchange.ask(request(2, "roots/list"), replies.reply()));
  json asked = (*exchange.input_required("s"))["inputRequests"];
  auto first = asked.begin().key();
  auto second = std::next(asked.begin()).key();
  EXPECT_THROW(exchange.answer(json::array()), std::invalid_argument);
  EXPECT_THROW(exchange.answer({{first, {{"roots", json::array()}}}, {second, "text"}}),
               std::invalid_argument);
  EXPECT_TRUE(replies.sent.empty());  // all or nothing
}

TEST(InputExchange, LimitsRequestsPerRoundAndRounds) {
  Replies replies;
  InputExchange exchange(all_capabilities());
  for (std::size_t i = 0; i < InputExchange::kMaxPerRound; ++i) {
    ASSERT_TRUE(exchange.ask(request(static_cast<int>(i), "roots/list"), replies.reply()));
  }
  EXPECT_FALSE(exchange.ask(request(99, "roots/list"), replies.reply()));
  ASSERT_EQ(replies.sent.size(), 1u);
  EXPECT_EQ(replies.sent[0]["id"], 99);
  for (int round = 0; round < InputExchange::kMaxRounds; ++round) {
    EXPECT_TRUE(exchange.input_required("s"));
  }
  EXPECT_FALSE(exchange.input_required("s"));
}

TEST(InputExchange, EndingRefusesWhatIsHeldAndWhatComesLater) {
  Replies replies;
  {
    InputExchange exchange(all_capabilities());
    ASSERT_TRUE(exchange.ask(request(5, "elicitation/create"), replies.reply()));
    exchange.refuse_all("revoked");
    ASSERT_EQ(replies.sent.size(), 1u);
    EXPECT_EQ(replies.sent[0]["error"]["code"], rpc_code::kRequestCancelled);
    EXPECT_FALSE(exchange.ask(request(6, "elicitation/create"), replies.reply()));
    ASSERT_EQ(replies.sent.size(), 2u);  // refused at once, not held
    EXPECT_EQ(replies.sent[1]["id"], 6);
  }
  EXPECT_EQ(replies.sent.size(), 2u);
  // A request held and never ended explicitly is refused when the exchange goes.
  {
    InputExchange exchange(all_capabilities());
    ASSERT_TRUE(exchange.ask(request(7, "roots/list"), replies.reply()));
  }
  ASSERT_EQ(replies.sent.size(), 3u);
  EXPECT_EQ(replies.sent[2]["id"], 7);
}

TEST(InputExchange, OnlyShownRequestsAreAnsweredAndUnansweredAreShownAgain) {
  Replies replies;
  InputExchange exchange(all_capabilities());
  ASSERT_TRUE(exchange.ask(request(1, "roots/list"), replies.reply()));
  json shown = (*exchange.input_required("s"))["inputRequests"];
  const std::string first = shown.begin().key();
  // Asked while the agent was away: not shown yet, so not answerable by a guessed key.
  ASSERT_TRUE(exchange.ask(request(2, "roots/list"), replies.reply()));
  exchange.answer({{"warden-2", {{"roots", json::array()}}}});
  EXPECT_TRUE(replies.sent.empty());
  EXPECT_TRUE(exchange.has_unshown());
  json again = (*exchange.input_required("t"))["inputRequests"];
  EXPECT_EQ(again.size(), 2u);  // the unanswered first one and the new one
  EXPECT_TRUE(again.contains(first));
}

TEST(InputExchange, UrlElicitationAndToolSamplingNeedTheirOwnCapability) {
  Replies replies;
  InputExchange form_only(json{{"elicitation", json::object()}, {"sampling", json::object()}});
  EXPECT_FALSE(form_only.ask(
      request(1, "elicitation/create", {{"mode", "url"}, {"url", "https://x"}}), replies.reply()));
  EXPECT_FALSE(form_only.ask(request(2, "sampling/createMessage", {{"tools", json::array()}}),
                             replies.reply()));
  EXPECT_TRUE(
      form_only.ask(request(3, "elicitation/create", {{"message", "name?"}}), replies.reply()));
  InputExchange url_too(json{{"elicitation", {{"url", json::object()}}}});
  EXPECT_TRUE(url_too.ask(request(4, "elicitation/create", {{"mode", "url"}, {"url", "https://x"}}),
                          replies.reply()));
}

}  // namespace
}  // namespace warden::mcp
