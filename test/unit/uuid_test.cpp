#include "core/uuid.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

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

}  // namespace
