#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "core/pattern_engine.hpp"

namespace warden::testing {

// A real regex engine for tests that need character classes, quantifiers and alternation, such
// as proving that pattern anchors the whole value. std::regex's ECMAScript grammar agrees with
// PostgreSQL's ARE on everything these tests use: (?:...), [a-z], +, |, and ^ and $ that match
// only at the ends of the value (no multiline flag). Tests only: the core never uses std::regex.
class EcmaScriptPatternEngine : public PatternEngine {
 public:
  std::optional<std::string> compile_error(std::string_view pattern) override {
    try {
      std::regex compiled{std::string(pattern)};
      return std::nullopt;
    } catch (const std::regex_error& e) {
      return std::string(e.what());
    }
  }

  bool matches(std::string_view pattern, std::string_view value) override {
    last_pattern = pattern;
    const std::regex compiled{std::string(pattern)};
    return std::regex_search(value.begin(), value.end(), compiled);
  }

  std::string last_pattern;  // what matches() was last asked, as passed
};

}  // namespace warden::testing
