#include <gtest/gtest.h>

#include <vector>

#include "frontend/net/connection_table.hpp"

// Issue 11, finding 7: "Unauthenticated slowloris". Connections are capped in total and per
// client address, and idle ones (waiting for headers) make room, oldest first.

namespace warden::mcp {
namespace {

TEST(Finding7ConnectionTable, CapsConnectionsPerAddress) {
  ConnectionTable table(100, 2);
  EXPECT_TRUE(table.admit("10.0.0.1", nullptr));
  EXPECT_TRUE(table.admit("10.0.0.1", nullptr));
  EXPECT_FALSE(table.admit("10.0.0.1", nullptr));
  EXPECT_TRUE(table.admit("10.0.0.2", nullptr));
  EXPECT_EQ(table.count("10.0.0.1"), 2u);
}

TEST(Finding7ConnectionTable, AFullTableShedsTheOldestIdleConnection) {
  ConnectionTable table(3, 10);
  std::vector<int> closed;
  auto a = table.admit("attacker", [&] { closed.push_back(1); });
  auto b = table.admit("attacker", [&] { closed.push_back(2); });
  auto c = table.admit("client", [&] { closed.push_back(3); });
  ASSERT_TRUE(a && b && c);
  table.set_idle(*a, false);  // a is busy with a request: never shed
  auto d = table.admit("healthz", [&] { closed.push_back(4); });
  ASSERT_TRUE(d);
  EXPECT_EQ(closed, std::vector<int>{2});
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.count("attacker"), 1u);
  table.remove(*b);  // the shed connection's own cleanup is harmless
  EXPECT_EQ(table.size(), 3u);
}

TEST(Finding7ConnectionTable, AFullTableOfBusyConnectionsRefuses) {
  ConnectionTable table(2, 10);
  auto a = table.admit("x", nullptr);
  auto b = table.admit("y", nullptr);
  table.set_idle(*a, false);
  table.set_idle(*b, false);
  EXPECT_FALSE(table.admit("z", nullptr));
  EXPECT_FALSE(table.shed_oldest_idle());
  table.remove(*a);
  EXPECT_TRUE(table.admit("z", nullptr));
}

}  // namespace
}  // namespace warden::mcp
