#include <gtest/gtest.h>

#include "core/bounded_json.hpp"
#include "core/constraints.hpp"
#include "test_pattern_engine.hpp"

namespace warden {
namespace {

using nlohmann::json;

Verdict evaluate(const json& constraints, const json& arguments) {
  testing::LiteralPatternEngine engine;
  return evaluate_constraints(constraints, arguments, engine);
}

void expect_denied(const json& constraints, const json& arguments, const std::string& argument,
                   const std::string& predicate) {
  Verdict v = evaluate(constraints, arguments);
  EXPECT_FALSE(v.allowed) << arguments.dump();
  EXPECT_EQ(v.argument, argument) << v.message();
  EXPECT_EQ(v.predicate, predicate) << v.message();
}

void expect_allowed(const json& constraints, const json& arguments) {
  Verdict v = evaluate(constraints, arguments);
  EXPECT_TRUE(v.allowed) << arguments.dump() << ": " << v.message();
}

const json kTriage = json::parse(R"({"field": {"in": ["priority"]}, "additional": false})");

TEST(ConstraintEvaluation, TriageExample) {
  expect_allowed(kTriage, {{"field", "priority"}});
  Verdict v = evaluate(kTriage, {{"field", "status"}});
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.message(), R"(field: value "status" is not in ["priority"])");
  // additional:false rejects the unconstrained ticket argument...
  expect_denied(kTriage, {{"field", "priority"}, {"ticket", 1}}, "ticket", "additional");
  // ...until the grant names it.
  json with_ticket = kTriage;
  with_ticket["ticket"] = {{"min", 1}};
  expect_allowed(with_ticket, {{"field", "priority"}, {"ticket", 1}});
  expect_denied(with_ticket, {{"field", "priority"}, {"ticket", 0}}, "ticket", "min");
  expect_denied(with_ticket, {{"field", "priority"}}, "ticket", "required");
}

TEST(ConstraintEvaluation, AdditionalDefaultsToAllowed) {
  expect_allowed({{"field", {{"in", {"priority"}}}}}, {{"field", "priority"}, {"other", 1}});
  expect_allowed({{"field", {{"in", {"priority"}}}}, {"additional", true}},
                 {{"field", "priority"}, {"other", 1}});
}

TEST(ConstraintEvaluation, Eq) {
  json c = {{"mode", {{"eq", {{"a", json::array({1, "x"})}}}}}};
  expect_allowed(c, {{"mode", {{"a", json::array({1.0, "x"})}}}});
  expect_denied(c, {{"mode", {{"a", json::array({1, "y"})}}}}, "mode", "eq");
  expect_denied(c, {{"mode", {{"a", json::array({"x", 1})}}}}, "mode", "eq");
  expect_allowed({{"flag", {{"eq", nullptr}}}}, {{"flag", nullptr}});
  expect_denied({{"flag", {{"eq", false}}}}, {{"flag", 0}}, "flag", "eq");
}

TEST(ConstraintEvaluation, InAndNotIn) {
  json c = {{"f", {{"in", {"a", 2, nullptr}}}}};
  expect_allowed(c, {{"f", "a"}});
  expect_allowed(c, {{"f", 2.0}});
  expect_allowed(c, {{"f", nullptr}});
  expect_denied(c, {{"f", "b"}}, "f", "in");
  expect_denied(c, {{"f", json::array({"a"})}}, "f", "in");
  json n = {{"f", {{"not_in", {"root", 0}}}}};
  expect_allowed(n, {{"f", "user"}});
  expect_denied(n, {{"f", "root"}}, "f", "not_in");
  expect_denied(n, {{"f", -0.0}}, "f", "not_in");
}

TEST(ConstraintEvaluation, Prefix) {
  json c = {{"path", {{"prefix", "/srv/data/"}}}};
  expect_allowed(c, {{"path", "/srv/data/x"}});
  expect_allowed(c, {{"path", "/srv/data/"}});
  expect_denied(c, {{"path", "/srv/dat"}}, "path", "prefix");
  expect_denied(c, {{"path", "/etc/passwd"}}, "path", "prefix");
  Verdict v = evaluate(c, {{"path", 5}});
  EXPECT_EQ(v.predicate, "prefix");
  EXPECT_NE(v.detail.find("not a string"), std::string::npos);
}

TEST(ConstraintEvaluation, PatternUsesSuppliedEngine) {
  testing::LiteralPatternEngine engine;
  json c = {{"name", {{"pattern", "^tmp-"}}}};
  EXPECT_TRUE(evaluate_constraints(c, {{"name", "tmp-1"}}, engine).allowed);
  Verdict v = evaluate_constraints(c, {{"name", "x-tmp-1"}}, engine);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.predicate, "pattern");
  EXPECT_EQ(engine.matches_calls, 2);
  expect_denied(c, {{"name", json::array({"tmp-1"})}}, "name", "pattern");
}

TEST(ConstraintEvaluation, PatternEngineThatThrowsDenies) {
  struct Throwing : testing::LiteralPatternEngine {
    bool matches(std::string_view, std::string_view) override { throw std::runtime_error("x"); }
  } engine;
  Verdict v = evaluate_constraints({{"n", {{"pattern", "a"}}}}, {{"n", "a"}}, engine);
  EXPECT_FALSE(v.allowed);
}

TEST(ConstraintEvaluation, MinMaxAcrossNumberRepresentations) {
  json c = {{"n", {{"min", -1}, {"max", 2.5}}}};
  expect_allowed(c, {{"n", -1}});
  expect_allowed(c, {{"n", -1.0}});
  expect_allowed(c, {{"n", 2u}});
  expect_allowed(c, {{"n", 2.5}});
  expect_denied(c, {{"n", 2.5000000001}}, "n", "max");
  expect_denied(c, {{"n", 3u}}, "n", "max");
  expect_denied(c, {{"n", -1.0000001}}, "n", "min");
  expect_denied(c, {{"n", INT64_MIN}}, "n", "min");
  expect_denied(c, {{"n", "1"}}, "n", "max");
  expect_denied(c, {{"n", true}}, "n", "max");

  // Beyond 2^53 doubles are not exact: the uint64 2^63+1 is above the double 2^63.
  json big = {{"n", {{"max", 9223372036854775808.0}}}};
  expect_allowed(big, {{"n", 9223372036854775808ull}});
  expect_denied(big, {{"n", 9223372036854775809ull}}, "n", "max");
  expect_denied({{"n", {{"min", 18446744073709551615ull}}}}, {{"n", 1.8446744073709550e19}}, "n",
                "min");
  expect_allowed({{"n", {{"min", INT64_MIN}}}}, {{"n", -9223372036854775808.0}});
  expect_denied({{"n", {{"max", -1}}}}, {{"n", 18446744073709551615ull}}, "n", "max");
  expect_allowed({{"n", {{"min", 0}, {"max", 0}}}}, {{"n", -0.0}});
  // Integers compare exactly even where doubles could not tell them apart.
  expect_denied({{"n", {{"min", int64_t{9007199254740993}}}}}, {{"n", 9007199254740992ull}}, "n",
                "min");
  expect_denied({{"n", {{"eq", int64_t{9007199254740993}}}}}, {{"n", 9007199254740992ull}}, "n",
                "eq");
}

TEST(ConstraintEvaluation, MaxLengthCountsCodePointsAndElements) {
  json c = {{"s", {{"max_length", 3}}}};
  expect_allowed(c, {{"s", "abc"}});
  expect_allowed(c, {{"s", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"}});  // é € 😀: 9 bytes, 3 chars
  expect_denied(c, {{"s", "abcd"}}, "s", "max_length");
  expect_allowed(c, {{"s", json::array({1, 2, 3})}});
  expect_denied(c, {{"s", json::array({1, 2, 3, 4})}}, "s", "max_length");
  expect_denied(c, {{"s", 5}}, "s", "max_length");
  expect_denied(c, {{"s", json::object()}}, "s", "max_length");
  expect_allowed({{"s", {{"max_length", 0}}}}, {{"s", ""}});
}

TEST(ConstraintEvaluation, HugeStringWithMaxLengthAndPrefix) {
  const std::string huge = "/srv/" + std::string(10 * 1024 * 1024, 'x');
  json args = {{"body", huge}};
  Verdict v = evaluate({{"body", {{"max_length", 1000}}}}, args);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.predicate, "max_length");
  EXPECT_LT(v.message().size(), 200u);
  expect_allowed({{"body", {{"prefix", "/srv/"}, {"max_length", 11 * 1024 * 1024}}}}, args);
  v = evaluate({{"body", {{"prefix", "/etc/"}}}}, args);
  EXPECT_FALSE(v.allowed);
  EXPECT_LT(v.message().size(), 300u) << "huge values must be truncated in messages";
}

TEST(ConstraintEvaluation, AbsentArgumentFailsUnlessOptional) {
  expect_denied({{"f", {{"in", {"a"}}}}}, json::object(), "f", "required");
  expect_denied({{"f", json::object()}}, json::object(), "f", "required");
  expect_allowed({{"f", json::object()}}, {{"f", nullptr}});
  expect_allowed({{"f", {{"in", {"a"}}, {"optional", true}}}}, json::object());
  expect_denied({{"f", {{"in", {"a"}}, {"optional", true}}}}, {{"f", "b"}}, "f", "in");
  expect_denied({{"f", {{"in", {"a"}}, {"optional", false}}}}, json::object(), "f", "required");
}

TEST(ConstraintEvaluation, NestedPaths) {
  json c = {{"$.options.path", {{"prefix", "/tmp/"}}}, {"files[1].name", {{"eq", "b"}}}};
  json ok =
      json::parse(R"({"options": {"path": "/tmp/x"}, "files": [{"name": "a"}, {"name": "b"}]})");
  expect_allowed(c, ok);
  json bad = ok;
  bad["options"]["path"] = "/etc";
  expect_denied(c, bad, "$.options.path", "prefix");
  json missing = ok;
  missing["files"].erase(1);
  expect_denied(c, missing, "files[1].name", "required");
  json wrong_shape = ok;
  wrong_shape["options"] = "/tmp/x";
  expect_denied(c, wrong_shape, "$.options.path", "required");
  json c2 = {{"options.path", {{"prefix", "/tmp/"}, {"optional", true}}}, {"additional", false}};
  expect_allowed(c2, {{"options", {{"path", "/tmp/a"}, {"mode", 1}}}});
  expect_allowed(c2, json::object());
  expect_denied(c2, {{"options", json::object()}, {"x", 1}}, "x", "additional");
}

TEST(ConstraintEvaluation, ReservedAdditionalKeyAddressableAsPath) {
  json c = {{"$.additional", {{"eq", 1}}}, {"additional", false}};
  expect_allowed(c, {{"additional", 1}});
  expect_denied(c, {{"additional", 2}}, "$.additional", "eq");
}

TEST(ConstraintEvaluation, NonObjectArguments) {
  for (const json& args : {json::array(), json(nullptr), json("x"), json(1)}) {
    Verdict v = evaluate(kTriage, args);
    EXPECT_FALSE(v.allowed);
    EXPECT_EQ(v.argument, "");
    EXPECT_EQ(v.message(), "arguments are not an object");
  }
}

TEST(ConstraintEvaluation, MalformedConstraintsFailClosed) {
  expect_denied({{"f", {{"bogus", 1}}}}, {{"f", 1}}, "f", "bogus");
  expect_denied({{"f", {{"in", "a"}}}}, {{"f", "a"}}, "f", "in");
  expect_denied({{"f", "a"}}, {{"f", "a"}}, "f", "");
  expect_denied({{"a..b", json::object()}}, {{"a", 1}}, "a..b", "");
  expect_denied({{"additional", 0}}, json::object(), "additional", "additional");
  EXPECT_FALSE(evaluate(json::array(), json::object()).allowed);
}

TEST(ConstraintEvaluation, SensitiveValuesAreNotEchoed) {
  Verdict v = evaluate({{"api_token", {{"eq", "s3cr3t-expected"}}}}, {{"api_token", "hunter2"}});
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.message().find("hunter2"), std::string::npos) << v.message();
  EXPECT_EQ(v.message().find("s3cr3t"), std::string::npos) << v.message();
}

TEST(ConstraintEvaluation, DeepArgumentsViaBoundedParser) {
  std::string deep = R"({"f": )" + std::string(10000, '[') + std::string(10000, ']') + "}";
  EXPECT_FALSE(parse_json_bounded(deep, 64, 1 << 20).has_value());
  // Within the limit, deep arguments are evaluated without trouble.
  std::string ok = R"({"f": )" + std::string(60, '[') + std::string(60, ']') + "}";
  auto args = parse_json_bounded(ok, 64, 1 << 20);
  ASSERT_TRUE(args.has_value());
  expect_denied({{"f", {{"eq", json::array({json::array()})}}}}, *args, "f", "eq");
  expect_allowed({{"f", {{"max_length", 1}}}}, *args);
}

}  // namespace
}  // namespace warden
