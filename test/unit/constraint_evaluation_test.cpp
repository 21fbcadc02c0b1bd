#include <gtest/gtest.h>

#include "core/bounded_json.hpp"
#include "core/constraints.hpp"
#include "ecmascript_pattern_engine.hpp"
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
  EXPECT_EQ(v.kind, VerdictKind::allowed) << arguments.dump();
}

// Denied by argument/predicate as a constraint failure (not invalid arguments).
void expect_constraint_failed(const json& constraints, const json& arguments,
                              const std::string& argument, const std::string& predicate) {
  expect_denied(constraints, arguments, argument, predicate);
  EXPECT_EQ(evaluate(constraints, arguments).kind, VerdictKind::constraint_failed)
      << arguments.dump();
}

// Denied because the value cannot be judged faithfully: reason invalid_arguments.
void expect_invalid(const json& constraints, const json& arguments, const std::string& argument,
                    const std::string& predicate) {
  expect_denied(constraints, arguments, argument, predicate);
  Verdict v = evaluate(constraints, arguments);
  EXPECT_EQ(v.kind, VerdictKind::invalid_arguments) << arguments.dump() << ": " << v.message();
  EXPECT_NE(v.detail.find("2^53"), std::string::npos) << v.message();
}

json parse(const char* text) {
  return json::parse(text);
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
  json c = {{"name", {{"pattern", "tmp-1"}}}};
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
  expect_invalid(c, {{"n", INT64_MIN}}, "n", "max");  // beyond 2^53; max is checked first
  expect_denied(c, {{"n", "1"}}, "n", "max");
  expect_denied(c, {{"n", true}}, "n", "max");

  // Beyond 2^53 doubles are not exact: the uint64 2^63+1 is above the double 2^63.
  // Beyond 2^53 values are invalid arguments (Finding12BigIntegersAreInvalidArguments); bounds
  // there still compare exactly against values in range.
  expect_allowed({{"n", {{"max", 9223372036854775808.0}}}}, {{"n", 9007199254740991ull}});
  expect_denied({{"n", {{"min", 18446744073709551615ull}}}}, {{"n", 9007199254740991ull}}, "n",
                "min");
  expect_allowed({{"n", {{"min", INT64_MIN}}}}, {{"n", -9007199254740991}});
  expect_denied({{"n", {{"max", -1}}}}, {{"n", 9007199254740991ull}}, "n", "max");
  expect_allowed({{"n", {{"min", 0}, {"max", 0}}}}, {{"n", -0.0}});
  // Integers compare exactly even where doubles could not tell them apart.
  expect_denied({{"n", {{"min", int64_t{9007199254740993}}}}}, {{"n", 9007199254740992ull}}, "n",
                "min");
  expect_denied({{"n", {{"eq", int64_t{9007199254740993}}}}}, {{"n", 9007199254740992ull}}, "n",
                "eq");
  expect_allowed({{"n", {{"max", int64_t{9007199254740993}}}}}, {{"n", 1e10}});
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

TEST(ConstraintEvaluation, Finding12PathPrefixComparesSegments) {
  const json grant = {{"path", {{"path_prefix", "/srv/public/"}}}};
  expect_allowed(grant, {{"path", "/srv/public/a"}});
  expect_allowed(grant, {{"path", "/srv/public/a/b.txt"}});
  // The review's example: a byte prefix lets it through, path_prefix does not.
  const json escape = {{"path", "/srv/public/../../etc/shadow"}};
  expect_allowed({{"path", {{"prefix", "/srv/public/"}}}}, escape);
  expect_constraint_failed(grant, escape, "path", "path_prefix");
  EXPECT_NE(evaluate(grant, escape).detail.find("'..' segment"), std::string::npos);
  for (const char* refused :
       {"/srv/public/./a", "/srv/public//a", "/srv/public/a/", "/srv/public/a\\..\\..\\x",
        "/srv/public/%2e%2e/etc", "/srv/public/a\nb", "/srv/public", "/srv/publicity/a",
        "srv/public/a", "/srv/Public/a", "/srv/public/.."}) {
    expect_constraint_failed(grant, {{"path", refused}}, "path", "path_prefix");
  }
  expect_constraint_failed(grant, {{"path", std::string("/srv/public/a\0b", 15)}}, "path",
                           "path_prefix");
  expect_constraint_failed(grant, {{"path", 5}}, "path", "path_prefix");
  // Without the trailing slash the directory itself is inside too.
  const json with_directory = {{"path", {{"path_prefix", "/srv/public"}}}};
  expect_allowed(with_directory, {{"path", "/srv/public"}});
  expect_allowed(with_directory, {{"path", "/srv/public/a"}});
  expect_constraint_failed(with_directory, {{"path", "/srv/publicity"}}, "path", "path_prefix");
  // Relative prefixes admit only relative values.
  const json relative = {{"file", {{"path_prefix", "docs"}}}};
  expect_allowed(relative, {{"file", "docs/api.md"}});
  expect_constraint_failed(relative, {{"file", "/docs/api.md"}}, "file", "path_prefix");
  expect_constraint_failed(relative, {{"file", "docs/../secrets"}}, "file", "path_prefix");
  // A malformed operand (a grant made before validation knew it) fails closed.
  expect_constraint_failed({{"p", {{"path_prefix", "/srv/../etc"}}}}, {{"p", "/srv/../etc/x"}}, "p",
                           "path_prefix");
}

TEST(ConstraintEvaluation, Finding12PatternMatchesWholeValue) {
  testing::EcmaScriptPatternEngine engine;
  const json grant = {{"name", {{"pattern", "[a-z]+"}}}};
  EXPECT_TRUE(evaluate_constraints(grant, {{"name", "abc"}}, engine).allowed);
  EXPECT_EQ(engine.last_pattern, "^(?:[a-z]+)$");
  // The review's example: an unanchored search would have accepted it.
  Verdict v = evaluate_constraints(grant, {{"name", "abc; rm -rf / #"}}, engine);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.kind, VerdictKind::constraint_failed);
  EXPECT_EQ(v.predicate, "pattern");
  EXPECT_NE(v.detail.find("as a whole"), std::string::npos) << v.message();
  EXPECT_FALSE(evaluate_constraints(grant, {{"name", "abc\nrm -rf /"}}, engine).allowed);
  EXPECT_FALSE(evaluate_constraints(grant, {{"name", "; abc"}}, engine).allowed);
  // Anchoring covers every alternative, not just the first and last.
  const json alternatives = {{"mode", {{"pattern", "read|write"}}}};
  EXPECT_TRUE(evaluate_constraints(alternatives, {{"mode", "write"}}, engine).allowed);
  EXPECT_FALSE(evaluate_constraints(alternatives, {{"mode", "read; drop"}}, engine).allowed);
  EXPECT_FALSE(evaluate_constraints(alternatives, {{"mode", "overwrite"}}, engine).allowed);
  // Patterns that anchor themselves keep working.
  EXPECT_TRUE(
      evaluate_constraints({{"n", {{"pattern", "^tmp-[0-9]+$"}}}}, {{"n", "tmp-12"}}, engine)
          .allowed);
  // The seam is kept: the literal test engine sees the same anchored form.
  expect_allowed({{"n", {{"pattern", "tmp"}}}}, {{"n", "tmp"}});
  expect_constraint_failed({{"n", {{"pattern", "tmp"}}}}, {{"n", "x-tmp-1"}}, "n", "pattern");
}

TEST(ConstraintEvaluation, Finding12SearchKeepsTheUnanchoredMeaning) {
  testing::EcmaScriptPatternEngine engine;
  const json grant = {{"q", {{"search", "[a-z]+"}}}};
  EXPECT_TRUE(evaluate_constraints(grant, {{"q", "abc; rm -rf / #"}}, engine).allowed);
  EXPECT_EQ(engine.last_pattern, "[a-z]+");
  Verdict v = evaluate_constraints(grant, {{"q", "123"}}, engine);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.predicate, "search");
  expect_allowed({{"q", {{"search", "tmp"}}}}, {{"q", "x-tmp-1"}});
  expect_constraint_failed({{"q", {{"search", "^tmp"}}}}, {{"q", "x-tmp-1"}}, "q", "search");
  expect_constraint_failed({{"q", {{"search", "tmp"}}}}, {{"q", 1}}, "q", "search");
}

TEST(ConstraintEvaluation, Finding12BigIntegersAreInvalidArguments) {
  // The review's example: a JavaScript upstream reads 2^53+1 as the forbidden 2^53.
  const json forbidden = parse(R"({"n": {"not_in": [9007199254740992]}})");
  expect_invalid(forbidden, parse(R"({"n": 9007199254740993})"), "n", "not_in");
  expect_invalid(forbidden, parse(R"({"n": 9007199254740992})"), "n", "not_in");
  expect_invalid(forbidden, parse(R"({"n": -9007199254740993})"), "n", "not_in");
  expect_allowed(forbidden, parse(R"({"n": 9007199254740991})"));
  expect_allowed(forbidden, parse(R"({"n": -9007199254740991})"));
  // Nested numbers too: the upstream could read the object as a forbidden one.
  expect_invalid(parse(R"({"o": {"not_in": [{"id": 9007199254740992}]}})"),
                 parse(R"({"o": {"id": 9007199254740993}})"), "o", "not_in");
  expect_invalid(parse(R"({"o": {"not_in": []}})"), parse(R"({"o": [1, [9007199254740993]]})"), "o",
                 "not_in");
  // min and max.
  expect_invalid(parse(R"({"n": {"max": 10}})"), parse(R"({"n": 18446744073709551615})"), "n",
                 "max");
  expect_invalid(parse(R"({"n": {"min": 0}})"), parse(R"({"n": 9007199254740993})"), "n", "min");
  expect_invalid(parse(R"({"n": {"min": 0}})"), parse(R"({"n": 1e300})"), "n", "min");
  // eq and in allow the identical integer literal, and nothing else, beyond 2^53.
  const json pinned = parse(R"({"id": {"eq": 9007199254740993}})");
  expect_allowed(pinned, parse(R"({"id": 9007199254740993})"));
  expect_invalid(pinned, parse(R"({"id": 9007199254740993.0})"), "id", "eq");
  expect_invalid(pinned, parse(R"({"id": 9007199254740992})"), "id", "eq");
  expect_allowed(parse(R"({"id": {"in": [1, 9007199254740993]}})"),
                 parse(R"({"id": 9007199254740993})"));
  expect_invalid(parse(R"({"id": {"in": [1, 9007199254740993.0]}})"),
                 parse(R"({"id": 9007199254740993})"), "id", "in");
  expect_allowed(parse(R"({"o": {"eq": {"id": 9007199254740993}}})"),
                 parse(R"({"o": {"id": 9007199254740993}})"));
  // Integer text beyond 64 bits becomes a double: it never matches, even itself.
  const json huge = parse(R"({"id": {"in": [100000000000000000000]}})");
  expect_invalid(huge, parse(R"({"id": 100000000000000000000})"), "id", "in");
  // Arguments that no numeric predicate inspects are not judged.
  expect_allowed(parse(R"({"id": {}, "s": {"max_length": 2}})"),
                 parse(R"({"id": 9007199254740993, "s": [9007199254740993], "x": 1e300})"));
  // The first failure decides: a constraint failure before the number is looked at.
  expect_constraint_failed(parse(R"({"a": {"eq": 1}, "n": {"max": 5}})"),
                           parse(R"({"a": 2, "n": 9007199254740993})"), "a", "eq");
}

TEST(ConstraintEvaluation, Finding12VerdictKinds) {
  Verdict allowed = evaluate(kTriage, {{"field", "priority"}});
  EXPECT_EQ(allowed.kind, VerdictKind::allowed);
  EXPECT_EQ(evaluate(kTriage, {{"field", "status"}}).kind, VerdictKind::constraint_failed);
  EXPECT_EQ(evaluate(kTriage, json::object()).kind, VerdictKind::constraint_failed);
  EXPECT_EQ(evaluate(kTriage, {{"field", "priority"}, {"x", 1}}).kind,
            VerdictKind::constraint_failed);
  EXPECT_EQ(evaluate({{"f", {{"bogus", 1}}}}, {{"f", 1}}).kind, VerdictKind::constraint_failed);
  EXPECT_EQ(evaluate(kTriage, json::array()).kind, VerdictKind::invalid_arguments);
  for (const json& args : {parse(R"({"field": "status"})"), parse(R"({"n": 9007199254740993})")}) {
    Verdict v = evaluate(parse(R"({"field": {"in": ["priority"]}, "n": {"max": 1}})"), args);
    EXPECT_FALSE(v.allowed);
    EXPECT_NE(v.kind, VerdictKind::allowed);
  }
}

// A sensitive key nested inside a value that fails each kind of predicate: the value appears in
// the verdict only with the sensitive member redacted.
TEST(ConstraintEvaluation, Finding13NestedSensitiveValuesAreRedactedInMessages) {
  const json secret_value = parse(R"({"password": "hunter2", "note": {"api_key": ["hunter2"]}})");
  const json secret_in_array = json::array({secret_value});
  struct Case {
    const char* constraint;
    json value;
  };
  const Case cases[] = {
      {R"({"q": {"eq": "x"}})", secret_value},
      {R"({"q": {"in": ["x", 2]}})", secret_value},
      {R"({"q": {"not_in": [{"password": "hunter2", "note": {"api_key": ["hunter2"]}}]}})",
       secret_value},
      {R"({"q": {"prefix": "/srv/"}})", secret_value},
      {R"({"q": {"path_prefix": "/srv/"}})", secret_value},
      {R"({"q": {"pattern": "x"}})", secret_value},
      {R"({"q": {"search": "x"}})", secret_value},
      {R"({"q": {"min": 1}})", secret_value},
      {R"({"q": {"max": 1}})", secret_value},
      {R"({"q": {"max_length": 1}})", secret_value},
      {R"({"q": {"max_length": 0}})", secret_in_array},
      {R"({"q": {"eq": 1}})", secret_in_array},
      {R"({"q": {"min": 1}})", secret_in_array},
      {R"({"q": {"in": [1]}, "additional": false})", secret_in_array},
  };
  for (const auto& c : cases) {
    const json constraints = parse(c.constraint);
    const std::string predicate = constraints["q"].begin().key();
    Verdict v = evaluate(constraints, {{"q", c.value}});
    EXPECT_FALSE(v.allowed) << c.constraint;
    EXPECT_EQ(v.predicate, predicate) << c.constraint;
    EXPECT_EQ(v.message().find("hunter2"), std::string::npos) << v.message();
  }
  // The redacted shape is still shown, so the caller learns what was wrong.
  Verdict v = evaluate(parse(R"({"q": {"prefix": "/srv/"}})"), {{"q", secret_value}});
  EXPECT_EQ(v.message(),
            R"(q: value {"note":{"api_key":"[redacted]"},"password":"[redacted]"} is not a )"
            R"(string)");
  // Operands with sensitive members are redacted as well.
  v = evaluate(parse(R"({"q": {"eq": {"token": "s3cr3t"}}})"), {{"q", 1}});
  EXPECT_EQ(v.message().find("s3cr3t"), std::string::npos) << v.message();
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
