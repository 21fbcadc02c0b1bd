#include "core/uuid.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>

namespace {

TEST(RandomUuid, IsAVersion4UuidInTextForm) {
  static const std::regex shape(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 200; ++i) {
    std::string id = warden::random_uuid();
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
  }
}

TEST(RandomUuid, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(warden::random_uuid()).second);
}

TEST(TimeOrderedUuid, IsAVersion7UuidInTextForm) {
  static const std::regex shape(
      "^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 200; ++i) {
    std::string id = warden::time_ordered_uuid();
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
  }
}

TEST(TimeOrderedUuid, StartsWithTheTimeInMilliseconds) {
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = now();
  const std::string id = warden::time_ordered_uuid();
  const int64_t after = now();
  const int64_t stamped = std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
  EXPECT_LE(before, stamped);
  EXPECT_GE(after, stamped);
}

TEST(TimeOrderedUuid, LaterOnesSortAfterAndNoneRepeats) {
  const std::string first = warden::time_ordered_uuid();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = warden::time_ordered_uuid();
    EXPECT_LT(first, id);
    EXPECT_TRUE(seen.insert(id).second);
  }
}

}  // namespace
