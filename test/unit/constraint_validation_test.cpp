#include <gtest/gtest.h>

#include "core/constraints.hpp"
#include "test_pattern_engine.hpp"

namespace warden {
namespace {

using nlohmann::json;

std::optional<ConstraintError> validate(const json& constraints) {
  testing::LiteralPatternEngine engine;
  return validate_constraints(constraints, engine);
}

// Asserts validation fails at key/predicate with a message containing fragment and some hint.
void expect_error(const json& constraints, const std::string& key, const std::string& predicate,
                  const std::string& fragment) {
  auto error = validate(constraints);
  ASSERT_TRUE(error.has_value()) << constraints.dump();
  EXPECT_EQ(error->path, key) << error->message;
  EXPECT_EQ(error->predicate, predicate) << error->message;
  EXPECT_NE(error->message.find(fragment), std::string::npos) << error->message;
  EXPECT_FALSE(error->hint.empty());
}

TEST(ConstraintValidation, AcceptsEveryPredicate) {
  json c = json::parse(R"({
    "field": {"in": ["priority", "status"]},
    "ticket": {"min": 1, "max": 1e6},
    "title": {"max_length": 200, "prefix": "BUG-", "not_in": ["BUG-0"]},
    "path": {"pattern": "^/srv/", "optional": true},
    "dir": {"path_prefix": "/srv/public/"},
    "query": {"search": "urgent"},
    "mode": {"eq": {"a": [1, 2]}},
    "$.options.path": {"prefix": "/tmp/"},
    "files[0]": {},
    "additional": false
  })");
  EXPECT_FALSE(validate(c).has_value());
  EXPECT_FALSE(validate(json::object()).has_value());
}

TEST(ConstraintValidation, RejectsNonObjectDocument) {
  expect_error(json::array(), "", "", "must be a JSON object");
  expect_error(nullptr, "", "", "must be a JSON object");
  expect_error("x", "", "", "must be a JSON object");
}

TEST(ConstraintValidation, RejectsNonObjectPredicateSet) {
  expect_error({{"field", "priority"}}, "field", "", "must be an object");
  expect_error({{"field", json::array()}}, "field", "", "must be an object");
}

TEST(ConstraintValidation, RejectsUnknownPredicate) {
  expect_error({{"field", {{"regex", "x"}}}}, "field", "regex", "unknown predicate");
  expect_error({{"field", {{"In", json::array({1})}}}}, "field", "In", "unknown predicate");
}

TEST(ConstraintValidation, RejectsWrongOperandTypes) {
  expect_error({{"f", {{"in", "a"}}}}, "f", "in", "must be an array");
  expect_error({{"f", {{"not_in", 1}}}}, "f", "not_in", "must be an array");
  expect_error({{"f", {{"prefix", 1}}}}, "f", "prefix", "must be a string");
  expect_error({{"f", {{"pattern", json::array()}}}}, "f", "pattern", "must be a string");
  expect_error({{"f", {{"min", "1"}}}}, "f", "min", "must be a number");
  expect_error({{"f", {{"max", true}}}}, "f", "max", "must be a number");
  expect_error({{"f", {{"max_length", -1}}}}, "f", "max_length", "non-negative integer");
  expect_error({{"f", {{"max_length", 1.5}}}}, "f", "max_length", "non-negative integer");
  expect_error({{"f", {{"max_length", "3"}}}}, "f", "max_length", "non-negative integer");
  expect_error({{"f", {{"optional", 1}}}}, "f", "optional", "true or false");
  expect_error({{"additional", "no"}}, "additional", "", "true or false");
}

TEST(ConstraintValidation, RejectsEmptyInList) {
  expect_error({{"f", {{"in", json::array()}}}}, "f", "in", "empty");
  EXPECT_FALSE(validate({{"f", {{"not_in", json::array()}}}}).has_value());
}

TEST(ConstraintValidation, RejectsPatternThatDoesNotCompile) {
  testing::LiteralPatternEngine engine;
  auto error = validate_constraints({{"f", {{"pattern", "a(b"}}}}, engine);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->predicate, "pattern");
  EXPECT_NE(error->message.find("unsupported metacharacter"), std::string::npos);
  EXPECT_EQ(engine.compiles, 1);
}

TEST(ConstraintValidation, Finding12PathPrefixMustBeAPlainPath) {
  for (const char* ok : {"/srv/public/", "/srv/public", "/", "docs", "docs/api/", "/a b/ü"}) {
    EXPECT_FALSE(validate({{"p", {{"path_prefix", ok}}}}).has_value()) << ok;
  }
  expect_error({{"p", {{"path_prefix", 1}}}}, "p", "path_prefix", "must be a string");
  expect_error({{"p", {{"path_prefix", ""}}}}, "p", "path_prefix", "is empty");
  expect_error({{"p", {{"path_prefix", "/srv/../etc/"}}}}, "p", "path_prefix", "'..' segment");
  expect_error({{"p", {{"path_prefix", "/srv/./public"}}}}, "p", "path_prefix", "'.' segment");
  expect_error({{"p", {{"path_prefix", "/srv//public"}}}}, "p", "path_prefix", "empty segment");
  expect_error({{"p", {{"path_prefix", "/srv/public//"}}}}, "p", "path_prefix", "empty segment");
  expect_error({{"p", {{"path_prefix", "//"}}}}, "p", "path_prefix", "empty segment");
  expect_error({{"p", {{"path_prefix", "C:\\srv"}}}}, "p", "path_prefix", "backslash");
  expect_error({{"p", {{"path_prefix", "/srv/%2e%2e/"}}}}, "p", "path_prefix", "'%'");
  expect_error({{"p", {{"path_prefix", std::string("/srv\0/", 6)}}}}, "p", "path_prefix",
               "control character");
  expect_error({{"p", {{"path_prefix", "/srv\x85/"}}}}, "p", "path_prefix", "control character");
  expect_error({{"p", {{"path_prefix", std::string(kMaxOperandStringBytes + 1, 'a')}}}}, "p",
               "path_prefix", "longer");
}

TEST(ConstraintValidation, Finding12PatternMustCompileAnchoredAndSearchCompiles) {
  expect_error({{"f", {{"search", "a(b"}}}}, "f", "search", "not a valid regular expression");
  expect_error({{"f", {{"search", 1}}}}, "f", "search", "must be a string");
  // ARE accepts directors and embedded options only at the very start, so their anchored form
  // does not compile; this engine imitates that rule.
  struct StartOnlyDirectors : testing::LiteralPatternEngine {
    std::optional<std::string> compile_error(std::string_view pattern) override {
      if (pattern.starts_with("***=")) return std::nullopt;
      if (pattern.find("***=") != std::string_view::npos) return "director not at start";
      return LiteralPatternEngine::compile_error(pattern);
    }
  } engine;
  EXPECT_FALSE(validate_constraints({{"f", {{"search", "***=a.b"}}}}, engine).has_value());
  auto error = validate_constraints({{"f", {{"pattern", "***=a.b"}}}}, engine);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->predicate, "pattern");
  EXPECT_NE(error->message.find("anchored"), std::string::npos) << error->message;
  EXPECT_NE(error->hint.find("search"), std::string::npos) << error->hint;
  // The pattern is compiled alone (so it cannot escape the group) and anchored.
  testing::LiteralPatternEngine counting;
  EXPECT_FALSE(validate_constraints({{"f", {{"pattern", "abc"}}}}, counting).has_value());
  EXPECT_EQ(counting.compiles, 2);
}

TEST(ConstraintValidation, Finding12UnknownPredicateHintListsNewPredicates) {
  auto error = validate({{"f", {{"regex", "x"}}}});
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->hint.find("path_prefix"), std::string::npos) << error->hint;
  EXPECT_NE(error->hint.find("search"), std::string::npos) << error->hint;
}

TEST(ConstraintValidation, RejectsMinGreaterThanMax) {
  expect_error({{"f", {{"min", 5}, {"max", 4.5}}}}, "f", "min", "greater than");
  EXPECT_FALSE(validate({{"f", {{"min", 5}, {"max", 5.0}}}}).has_value());
}

TEST(ConstraintValidation, RejectsMalformedPaths) {
  expect_error({{"", json::object()}}, "", "", "empty");
  expect_error({{"a..b", json::object()}}, "a..b", "", "empty name segment");
  expect_error({{".a", json::object()}}, ".a", "", "start with an argument name");
  expect_error({{"$[0]", json::object()}}, "$[0]", "", "not an array index");
  expect_error({{"a[01]", json::object()}}, "a[01]", "", "leading zeros");
  expect_error({{"a[x]", json::object()}}, "a[x]", "", "[digits]");
  expect_error({{"a.", json::object()}}, "a.", "", "empty name segment");
  expect_error({{std::string(300, 'a'), json::object()}}, std::string(300, 'a'), "", "longer");
  std::string deep = "a";
  for (int i = 0; i < 40; ++i) deep += ".b";
  expect_error({{deep, json::object()}}, deep, "", "segments");
}

TEST(ConstraintValidation, RejectsOversizedConstraints) {
  json many = json::object();
  for (size_t i = 0; i <= kMaxConstraintKeys; ++i) {
    std::string key = std::to_string(i);
    key.insert(key.begin(), 'k');  // not "k" + ...: GCC 12 -O3 warns a false -Wrestrict on it
    many[key] = json::object();
  }
  expect_error(many, "", "", "more than");

  json big_list = json::array();
  for (size_t i = 0; i <= kMaxListElements; ++i) big_list.push_back(i);
  expect_error({{"f", {{"in", big_list}}}}, "f", "in", "more than");

  json deep = 1;
  for (size_t i = 0; i <= kMaxOperandDepth; ++i) deep = json::array({deep});
  expect_error({{"f", {{"eq", deep}}}}, "f", "eq", "deeper");
  expect_error({{"f", {{"in", json::array({deep})}}}}, "f", "in", "deeper");

  expect_error({{"f", {{"prefix", std::string(kMaxOperandStringBytes + 1, 'x')}}}}, "f", "prefix",
               "longer");
}

}  // namespace
}  // namespace warden
