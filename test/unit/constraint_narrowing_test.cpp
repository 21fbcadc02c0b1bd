#include <gtest/gtest.h>

#include "core/constraints.hpp"

namespace warden {
namespace {

using nlohmann::json;

bool narrower(const char* child, const char* parent, std::string* key = nullptr) {
  return constraints_narrower_or_equal(json::parse(child), json::parse(parent), key);
}

void expect_not_narrower(const char* child, const char* parent, const std::string& key) {
  std::string offending = "unset";
  EXPECT_FALSE(narrower(child, parent, &offending)) << child << " vs " << parent;
  EXPECT_EQ(offending, key) << child << " vs " << parent;
}

TEST(ConstraintNarrowing, EqualConstraintsAreNarrowerOrEqual) {
  const char* c = R"({"f": {"in": ["a", "b"]}, "n": {"min": 1, "max": 9}, "additional": false})";
  EXPECT_TRUE(narrower(c, c));
  EXPECT_TRUE(narrower("{}", "{}"));
}

TEST(ConstraintNarrowing, InSubset) {
  EXPECT_TRUE(narrower(R"({"f": {"in": ["a"]}})", R"({"f": {"in": ["a", "b"]}})"));
  expect_not_narrower(R"({"f": {"in": ["a", "c"]}})", R"({"f": {"in": ["a", "b"]}})", "f");
  EXPECT_TRUE(narrower(R"({"f": {"in": [1]}})", R"({"f": {"in": [1.0]}})"));
}

TEST(ConstraintNarrowing, EqMustSatisfyParentPredicates) {
  EXPECT_TRUE(narrower(R"({"f": {"eq": "a"}})", R"({"f": {"in": ["a", "b"]}})"));
  EXPECT_TRUE(narrower(R"({"f": {"eq": "/tmp/x"}})", R"({"f": {"prefix": "/tmp/"}})"));
  EXPECT_TRUE(narrower(R"({"n": {"eq": 5}})", R"({"n": {"min": 1, "max": 5.0}})"));
  EXPECT_TRUE(narrower(R"({"s": {"eq": "abc"}})", R"({"s": {"max_length": 3}})"));
  expect_not_narrower(R"({"n": {"eq": 6}})", R"({"n": {"max": 5}})", "n");
  expect_not_narrower(R"({"f": {"eq": "x"}})", R"({"f": {"not_in": ["x"]}})", "f");
  // No regex engine here: a pattern is only implied by the identical pattern.
  expect_not_narrower(R"({"f": {"eq": "abc"}})", R"({"f": {"pattern": "^a"}})", "f");
  EXPECT_TRUE(narrower(R"({"f": {"eq": "abc", "pattern": "^a"}})", R"({"f": {"pattern": "^a"}})"));
}

TEST(ConstraintNarrowing, RangesAndLengths) {
  EXPECT_TRUE(narrower(R"({"n": {"min": 2, "max": 4}})", R"({"n": {"min": 1, "max": 5}})"));
  EXPECT_TRUE(narrower(R"({"n": {"min": 1.0}})", R"({"n": {"min": 1}})"));
  expect_not_narrower(R"({"n": {"min": 0}})", R"({"n": {"min": 1}})", "n");
  expect_not_narrower(R"({"n": {"max": 6}})", R"({"n": {"min": 1, "max": 5}})", "n");
  expect_not_narrower(R"({"n": {"min": 2}})", R"({"n": {"min": 1, "max": 5}})", "n");
  EXPECT_TRUE(narrower(R"({"s": {"max_length": 2}})", R"({"s": {"max_length": 3}})"));
  expect_not_narrower(R"({"s": {"max_length": 4}})", R"({"s": {"max_length": 3}})", "s");
}

TEST(ConstraintNarrowing, PrefixAndPattern) {
  EXPECT_TRUE(narrower(R"({"p": {"prefix": "/srv/a/"}})", R"({"p": {"prefix": "/srv/"}})"));
  expect_not_narrower(R"({"p": {"prefix": "/sr"}})", R"({"p": {"prefix": "/srv/"}})", "p");
  EXPECT_TRUE(
      narrower(R"({"p": {"pattern": "x", "max_length": 3}})", R"({"p": {"pattern": "x"}})"));
  expect_not_narrower(R"({"p": {"pattern": "^xy"}})", R"({"p": {"pattern": "^x"}})", "p");
}

TEST(ConstraintNarrowing, Finding12PathPrefix) {
  EXPECT_TRUE(narrower(R"({"p": {"path_prefix": "/srv/public/a"}})",
                       R"({"p": {"path_prefix": "/srv/public/"}})"));
  EXPECT_TRUE(narrower(R"({"p": {"path_prefix": "/srv/public/"}})",
                       R"({"p": {"path_prefix": "/srv/public"}})"));
  EXPECT_TRUE(narrower(R"({"p": {"path_prefix": "/srv/public/"}})",
                       R"({"p": {"path_prefix": "/srv/public/"}})"));
  EXPECT_TRUE(narrower(R"({"p": {"path_prefix": "/srv"}})", R"({"p": {"path_prefix": "/"}})"));
  // "/srv/public" admits the directory itself, which "/srv/public/" does not.
  expect_not_narrower(R"({"p": {"path_prefix": "/srv/public"}})",
                      R"({"p": {"path_prefix": "/srv/public/"}})", "p");
  expect_not_narrower(R"({"p": {"path_prefix": "/srv/publicity"}})",
                      R"({"p": {"path_prefix": "/srv/public"}})", "p");
  expect_not_narrower(R"({"p": {"path_prefix": "srv/public/a"}})",
                      R"({"p": {"path_prefix": "/srv/public"}})", "p");
  expect_not_narrower(R"({"p": {"path_prefix": "/srv/public/../x"}})",
                      R"({"p": {"path_prefix": "/srv/public"}})", "p");
  // A byte prefix never implies path_prefix: it admits "..".
  expect_not_narrower(R"({"p": {"prefix": "/srv/public/a/"}})",
                      R"({"p": {"path_prefix": "/srv/public"}})", "p");
  // path_prefix implies a byte prefix its text starts with.
  EXPECT_TRUE(
      narrower(R"({"p": {"path_prefix": "/srv/public/a"}})", R"({"p": {"prefix": "/srv/pub"}})"));
  expect_not_narrower(R"({"p": {"path_prefix": "/srv"}})", R"({"p": {"prefix": "/srv/"}})", "p");
  // Enumerated values are checked with the path rules.
  EXPECT_TRUE(
      narrower(R"({"p": {"eq": "/srv/public/a"}})", R"({"p": {"path_prefix": "/srv/public/"}})"));
  expect_not_narrower(R"({"p": {"eq": "/srv/public/../../etc/shadow"}})",
                      R"({"p": {"path_prefix": "/srv/public/"}})", "p");
}

TEST(ConstraintNarrowing, Finding12PatternAndSearch) {
  EXPECT_TRUE(narrower(R"({"p": {"pattern": "[a-z]+"}})", R"({"p": {"pattern": "[a-z]+"}})"));
  EXPECT_TRUE(narrower(R"({"p": {"search": "[a-z]+"}})", R"({"p": {"search": "[a-z]+"}})"));
  // A whole-value match is a match somewhere; the converse does not hold.
  EXPECT_TRUE(narrower(R"({"p": {"pattern": "[a-z]+"}})", R"({"p": {"search": "[a-z]+"}})"));
  expect_not_narrower(R"({"p": {"search": "[a-z]+"}})", R"({"p": {"pattern": "[a-z]+"}})", "p");
  EXPECT_TRUE(
      narrower(R"({"p": {"eq": "abc", "pattern": "[a-z]+"}})", R"({"p": {"search": "[a-z]+"}})"));
  expect_not_narrower(R"({"p": {"eq": "abc"}})", R"({"p": {"search": "b"}})", "p");
}

TEST(ConstraintNarrowing, Finding12BigIntegersNeverWiden) {
  // The parent's not_in refuses numbers beyond 2^53 as invalid; a child that admits any value
  // would allow them.
  expect_not_narrower(R"({"n": {}})", R"({"n": {"not_in": []}})", "n");
  expect_not_narrower(R"({"n": {"max_length": 5}})", R"({"n": {"not_in": [1]}})", "n");
  EXPECT_TRUE(narrower(R"({"n": {"not_in": [1]}})", R"({"n": {"not_in": []}})"));
  EXPECT_TRUE(narrower(R"({"n": {"min": 0}})", R"({"n": {"not_in": [-1]}})"));
  EXPECT_TRUE(narrower(R"({"n": {"prefix": "a"}})", R"({"n": {"not_in": [5]}})"));
  // An exactly pinned big integer satisfies an identical eq/in, but no range or not_in.
  EXPECT_TRUE(
      narrower(R"({"n": {"eq": 9007199254740993}})", R"({"n": {"in": [9007199254740993, 1]}})"));
  expect_not_narrower(R"({"n": {"eq": 9007199254740993}})",
                      R"({"n": {"in": [9007199254740993.0]}})", "n");
  expect_not_narrower(R"({"n": {"eq": 9007199254740993}})", R"({"n": {"max": 1e17}})", "n");
  expect_not_narrower(R"({"n": {"eq": 9007199254740993}})", R"({"n": {"not_in": [1]}})", "n");
}

TEST(ConstraintNarrowing, NotIn) {
  EXPECT_TRUE(narrower(R"({"f": {"not_in": ["a", "b"]}})", R"({"f": {"not_in": ["a"]}})"));
  expect_not_narrower(R"({"f": {"not_in": ["b"]}})", R"({"f": {"not_in": ["a"]}})", "f");
  // A forbidden value the child's prefix already excludes needs no explicit not_in.
  EXPECT_TRUE(narrower(R"({"f": {"prefix": "/srv/"}})", R"({"f": {"not_in": ["/etc/passwd"]}})"));
  EXPECT_TRUE(narrower(R"({"f": {"in": ["a"]}})", R"({"f": {"not_in": ["b"]}})"));
}

TEST(ConstraintNarrowing, MissingKeysAndOptional) {
  expect_not_narrower("{}", R"({"f": {"in": ["a"]}})", "f");
  expect_not_narrower("{}", R"({"f": {}})", "f");
  EXPECT_TRUE(narrower(R"({"f": {"in": ["a"]}, "g": {"eq": 1}})", R"({"f": {"in": ["a"]}})"));
  EXPECT_TRUE(narrower(R"({"f": {"eq": 1}})", R"({"f": {"eq": 1, "optional": true}})"));
  expect_not_narrower(R"({"f": {"eq": 1, "optional": true}})", R"({"f": {"eq": 1}})", "f");
}

TEST(ConstraintNarrowing, Additional) {
  const char* parent = R"({"f": {"in": ["a"]}, "additional": false})";
  expect_not_narrower(R"({"f": {"in": ["a"]}})", parent, "additional");
  expect_not_narrower(R"({"f": {"in": ["a"]}, "additional": true})", parent, "additional");
  expect_not_narrower(R"({"f": {"in": ["a"]}, "g": {}, "additional": false})", parent, "g");
  EXPECT_TRUE(
      narrower(R"({"f": {"in": ["a"]}, "additional": false})", R"({"f": {"in": ["a", "b"]}})"));
}

TEST(ConstraintNarrowing, PathsCompareBySegments) {
  EXPECT_TRUE(narrower(R"({"$.o.p": {"prefix": "/a/b"}})", R"({"o.p": {"prefix": "/a"}})"));
  EXPECT_TRUE(narrower(R"({"$.f": {"eq": 1}})", R"({"f": {"eq": 1}})"));
  expect_not_narrower(R"({"o": {"eq": {"p": "/a"}}})", R"({"o.p": {"prefix": "/a"}})", "o.p");
}

TEST(ConstraintNarrowing, MalformedIsNeverNarrower) {
  expect_not_narrower("[]", "{}", "");
  expect_not_narrower(R"({"f": {"bogus": 1}})", R"({"f": {}})", "f");
  expect_not_narrower(R"({"f": {}})", R"({"f": {"bogus": 1}})", "f");
  expect_not_narrower(R"({"a..b": {}})", "{}", "a..b");
  expect_not_narrower(R"({"additional": 1})", "{}", "additional");
}

}  // namespace
}  // namespace warden
