#include <gtest/gtest.h>

#include "core/argument_path.hpp"
#include "core/bounded_json.hpp"

namespace warden {
namespace {

using nlohmann::json;

ArgumentPath parse_ok(std::string_view key) {
  auto parsed = parse_argument_path(key);
  EXPECT_EQ(parsed.error, "") << key;
  return parsed.path;
}

TEST(ConstraintPath, SyntaxForms) {
  using P = ArgumentPath;
  EXPECT_EQ(parse_ok("field"), (P{std::string("field")}));
  EXPECT_EQ(parse_ok("$ref"), (P{std::string("$ref")}));
  EXPECT_EQ(parse_ok("$"), (P{std::string("$")}));
  EXPECT_EQ(parse_ok("a]"), (P{std::string("a]")}));
  EXPECT_EQ(parse_ok("options.path"), (P{std::string("options"), std::string("path")}));
  EXPECT_EQ(parse_ok("$.options.path"), (P{std::string("options"), std::string("path")}));
  EXPECT_EQ(parse_ok("files[0].name"), (P{std::string("files"), size_t{0}, std::string("name")}));
  EXPECT_EQ(parse_ok("$.m[10][2]"), (P{std::string("m"), size_t{10}, size_t{2}}));
  EXPECT_EQ(parse_ok("$.additional"), (P{std::string("additional")}));
}

TEST(ConstraintPath, Resolution) {
  json args = json::parse(R"({"a": {"b": [10, {"c": null}]}, "s": "x"})");
  const json* found = resolve_argument_path(args, parse_ok("a.b[1].c"));
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(found->is_null());
  EXPECT_EQ(*resolve_argument_path(args, parse_ok("a.b[0]")), json(10));
  EXPECT_EQ(resolve_argument_path(args, parse_ok("a.b[2]")), nullptr);
  EXPECT_EQ(resolve_argument_path(args, parse_ok("a.x")), nullptr);
  EXPECT_EQ(resolve_argument_path(args, parse_ok("s.x")), nullptr);
  EXPECT_EQ(resolve_argument_path(args, parse_ok("a[0]")), nullptr);
  EXPECT_EQ(resolve_argument_path(args, parse_ok("a.b.c")), nullptr);
}

TEST(ConstraintInput, BoundedParserRejectsDeepInputWithoutRecursing) {
  const std::string deep_arrays = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_FALSE(parse_json_bounded(deep_arrays, 64, 1 << 20).has_value());
  std::string deep_objects;
  for (int i = 0; i < 10000; ++i) deep_objects += R"({"a":)";
  deep_objects += "1" + std::string(10000, '}');
  EXPECT_FALSE(parse_json_bounded(deep_objects, 64, 1 << 20).has_value());
  // Unterminated deep input is rejected the same way.
  EXPECT_FALSE(parse_json_bounded(std::string(100000, '['), 64, 1 << 20).has_value());
}

TEST(ConstraintInput, BoundedParserDepthIsExact) {
  EXPECT_TRUE(parse_json_bounded("1", 0, 100).has_value());
  EXPECT_FALSE(parse_json_bounded("[]", 0, 100).has_value());
  EXPECT_TRUE(parse_json_bounded("[[1]]", 2, 100).has_value());
  EXPECT_FALSE(parse_json_bounded("[[1]]", 1, 100).has_value());
  EXPECT_TRUE(parse_json_bounded(R"({"a":[{}]})", 3, 100).has_value());
  EXPECT_FALSE(parse_json_bounded(R"({"a":[{}]})", 2, 100).has_value());
  // Brackets inside strings, including after escaped quotes, do not count.
  EXPECT_TRUE(parse_json_bounded(R"(["[[[[\"[[[[", "\\"])", 1, 100).has_value());
}

TEST(ConstraintInput, BoundedParserRejectsOversizedAndInvalid) {
  EXPECT_FALSE(parse_json_bounded(R"({"a": 1})", 8, 7).has_value());
  EXPECT_TRUE(parse_json_bounded(R"({"a": 1})", 8, 8).has_value());
  EXPECT_FALSE(parse_json_bounded("{", 8, 100).has_value());
  EXPECT_FALSE(parse_json_bounded("[1,]", 8, 100).has_value());
  EXPECT_FALSE(parse_json_bounded("{} x", 8, 100).has_value());
  EXPECT_FALSE(parse_json_bounded("/* c */ 1", 8, 100).has_value());
  EXPECT_FALSE(parse_json_bounded("\"\xFF\"", 8, 100).has_value());
  EXPECT_FALSE(parse_json_bounded("", 8, 100).has_value());
  EXPECT_EQ(*parse_json_bounded(R"({"a":[1,"x"]})", 8, 100), json::parse(R"({"a":[1,"x"]})"));
}

}  // namespace
}  // namespace warden
