#include <gtest/gtest.h>

#include "core/json_values.hpp"

namespace warden {
namespace {

using nlohmann::json;

TEST(JsonValues, Finding12SafeIntegerRange) {
  for (const char* safe : {"0", "9007199254740991", "-9007199254740991", "9007199254740991.0",
                           "1e15", "-0.0", "0.5", "\"9007199254740993\"", "null"}) {
    EXPECT_FALSE(beyond_safe_json_integer(json::parse(safe))) << safe;
  }
  for (const char* unsafe :
       {"9007199254740992", "-9007199254740992", "9007199254740993", "18446744073709551615",
        "-9223372036854775808", "100000000000000000000", "9007199254740992.0", "1e300", "-1e300"}) {
    EXPECT_TRUE(beyond_safe_json_integer(json::parse(unsafe))) << unsafe;
  }
}

TEST(JsonValues, Finding12BigIntegerTextParsesAsExpected) {
  // What the exactness rule relies on: 64-bit integer text stays an integer, longer text does not.
  EXPECT_TRUE(json::parse("9007199254740993").is_number_unsigned());
  EXPECT_TRUE(json::parse("-9007199254740993").is_number_integer());
  EXPECT_TRUE(json::parse("18446744073709551615").is_number_unsigned());
  EXPECT_TRUE(json::parse("18446744073709551616").is_number_float());
  EXPECT_TRUE(json::parse("-9223372036854775809").is_number_float());
}

TEST(JsonValues, Finding12ContainsUnsafeNumberIsBounded) {
  EXPECT_TRUE(contains_number_beyond_safe_json_integer(
      json::parse(R"({"a": [1, {"b": 9007199254740993}]})"), 3));
  EXPECT_FALSE(contains_number_beyond_safe_json_integer(
      json::parse(R"({"a": [1, {"b": 9007199254740993}]})"), 2));
  EXPECT_FALSE(contains_number_beyond_safe_json_integer(json::parse(R"({"a": [1, "x"]})"), 9));
  json deep = 9007199254740993ull;
  for (int i = 0; i < 1000; ++i) {
    json outer = json::array();
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  EXPECT_FALSE(contains_number_beyond_safe_json_integer(deep, 20));
  EXPECT_TRUE(contains_number_beyond_safe_json_integer(deep, 1000));
}

TEST(JsonValues, Finding12IdenticalIsEqualWithinRangeAndExactBeyond) {
  EXPECT_TRUE(json_values_identical(json::parse("1"), json::parse("1.0")));
  EXPECT_TRUE(
      json_values_identical(json::parse(R"({"a": [1, 2.0]})"), json::parse(R"({"a": [1.0, 2]})")));
  EXPECT_TRUE(
      json_values_identical(json::parse("9007199254740993"), json(int64_t{9007199254740993})));
  EXPECT_FALSE(
      json_values_identical(json::parse("9007199254740992"), json::parse("9007199254740992.0")));
  EXPECT_TRUE(
      json_values_equal(json::parse("9007199254740992"), json::parse("9007199254740992.0")));
  EXPECT_FALSE(json_values_identical(json::parse("1e300"), json::parse("1e300")));
  EXPECT_FALSE(json_values_identical(json::parse("\"1\""), json::parse("1")));
  EXPECT_FALSE(
      json_values_identical(json::parse("[9007199254740993]"), json::parse("[9007199254740992]")));
}

}  // namespace
}  // namespace warden
