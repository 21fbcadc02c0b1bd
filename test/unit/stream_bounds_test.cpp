#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/mcp/session_channel.hpp"
#include "frontend/net/sse_stream.hpp"

// What an agent that stops reading, or stops answering, can make the gateway hold: an event
// stream's queue is bounded in bytes, and the upstream requests waiting for one session's
// answer are bounded in number.

namespace warden::mcp {
namespace {

json note(std::size_t bytes) {
  return {{"jsonrpc", "2.0"},
          {"method", "notifications/message"},
          {"params", {{"data", std::string(bytes, 'x')}}}};
}

TEST(StreamBounds, AStreamWhoseClientDoesNotReadIsAbandonedPastItsBound) {
  asio::io_context io;
  bool abandoned = false;
  SseStream stream(io.get_executor(), 10'000);
  stream.on_abandon([&] { abandoned = true; });
  for (int i = 0; i < 10; ++i) stream.push(note(1'000));  // about 10.5 kB: kept
  EXPECT_TRUE(stream.open());
  EXPECT_FALSE(stream.overflowed());
  stream.push(note(1'000));  // 10 kB already wait, none read
  EXPECT_FALSE(stream.open());
  EXPECT_TRUE(stream.overflowed()) << "the HTTP server cuts the connection, no clean end";
  EXPECT_TRUE(abandoned);
  EXPECT_FALSE(stream.take_queued()) << "what waited is dropped with the client";
}

TEST(StreamBounds, AReadingClientIsNeverCutOff) {
  asio::io_context io;
  SseStream stream(io.get_executor(), 10'000);
  for (int i = 0; i < 100; ++i) {
    stream.push(note(3'000));
    ASSERT_TRUE(stream.take_queued());  // the HTTP server wrote it
  }
  EXPECT_TRUE(stream.open());
}

TEST(StreamBounds, AnEventLargerThanTheBoundStillGoesOut) {
  asio::io_context io;
  SseStream stream(io.get_executor(), 10'000);
  stream.push(note(100));     // a progress notification still waits
  stream.push(note(50'000));  // then the large result
  EXPECT_TRUE(stream.open());
  ASSERT_TRUE(stream.take_queued());
  auto event = stream.take_queued();
  ASSERT_TRUE(event);
  EXPECT_GT(event->size(), 50'000u);
}

TEST(StreamBounds, RequestsWaitingForOneAgentAreBounded) {
  SessionChannels channels;
  std::vector<json> refused;
  std::size_t sent = 0;
  for (std::size_t i = 0; i < SessionChannels::kMaxWaitingPerSession + 5; ++i) {
    json ask = {{"jsonrpc", "2.0"}, {"id", i}, {"method", "sampling/createMessage"}};
    auto request =
        channels.relay_request("s1", ask, [&](const json& answer) { refused.push_back(answer); });
    if (request) ++sent;
  }
  EXPECT_EQ(sent, SessionChannels::kMaxWaitingPerSession);
  ASSERT_EQ(refused.size(), 5u);
  EXPECT_TRUE(refused[0].contains("error"));
  EXPECT_EQ(refused[0]["id"], SessionChannels::kMaxWaitingPerSession) << "the upstream's own id";

  // Another session is not held back by this one.
  json other = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "roots/list"}};
  EXPECT_TRUE(channels.relay_request("s2", other, [](const json&) {}));

  // An answer makes room again.
  EXPECT_TRUE(channels.deliver("s1", {{"jsonrpc", "2.0"}, {"id", "warden-1"}, {"result", {}}}));
  json again = {{"jsonrpc", "2.0"}, {"id", 99}, {"method", "roots/list"}};
  EXPECT_TRUE(channels.relay_request("s1", again, [](const json&) {}));
  EXPECT_FALSE(channels.relay_request("s1", again, [](const json&) {}));
}

TEST(StreamBounds, TheGatewaysOwnRequestIsNotCrowdedOut) {
  SessionChannels channels;
  for (std::size_t i = 0; i < SessionChannels::kMaxWaitingPerSession; ++i) {
    json ask = {{"jsonrpc", "2.0"}, {"id", i}, {"method", "elicitation/create"}};
    ASSERT_TRUE(channels.relay_request("s1", ask, [](const json&) {}));
  }
  json approval = {{"jsonrpc", "2.0"}, {"id", 0}, {"method", "elicitation/create"}};
  auto sent = channels.relay_request(
      "s1", approval, [](const json&) {}, false);
  ASSERT_TRUE(sent) << "the approval page's URL still reaches the agent";
  // Its answer frees no upstream's slot.
  EXPECT_TRUE(channels.deliver("s1", {{"jsonrpc", "2.0"}, {"id", (*sent)["id"]}, {"result", {}}}));
  json more = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "roots/list"}};
  EXPECT_FALSE(channels.relay_request("s1", more, [](const json&) {}));
}

TEST(StreamBounds, ARequestThatCannotBeSentIsAnsweredAndFreesItsSlot) {
  SessionChannels channels;
  std::vector<json> answers;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < SessionChannels::kMaxWaitingPerSession; ++i) {
    json ask = {{"jsonrpc", "2.0"}, {"id", i}, {"method", "sampling/createMessage"}};
    auto request =
        channels.relay_request("s1", ask, [&](const json& answer) { answers.push_back(answer); });
    ASSERT_TRUE(request);
    ids.push_back((*request)["id"].get<std::string>());
  }
  channels.withdraw(ids.front());  // its stream had ended: it could not be sent
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0]["id"], 0) << "the upstream hears at once, under its own id";
  EXPECT_TRUE(answers[0].contains("error"));
  json more = {{"jsonrpc", "2.0"}, {"id", 99}, {"method", "roots/list"}};
  EXPECT_TRUE(channels.relay_request("s1", more, [](const json&) {}));
}

}  // namespace
}  // namespace warden::mcp
