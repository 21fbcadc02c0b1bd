#pragma once

#include <string>
#include <string_view>

#include "core/pattern_engine.hpp"

namespace warden::testing {

// Minimal regex stand-in: a literal with optional ^ and $ anchors, optionally wrapped as
// whole_value_pattern writes it ("^(?:" body ")$", a whole-value match of body). Any other
// metacharacter is a compile error, which gives the validation tests a way to see a pattern
// rejected.
class LiteralPatternEngine : public PatternEngine {
 public:
  std::optional<std::string> compile_error(std::string_view pattern) override {
    ++compiles;
    unwrap_whole_value(pattern);
    std::string_view body = strip(pattern);
    if (body.find_first_of("()[]{}*+?|\\.^$") != std::string_view::npos) {
      return "unsupported metacharacter";
    }
    return std::nullopt;
  }

  bool matches(std::string_view pattern, std::string_view value) override {
    ++matches_calls;
    if (unwrap_whole_value(pattern)) return value == strip(pattern);
    const bool head = pattern.starts_with('^');
    const bool tail = pattern.size() > (head ? 1u : 0u) && pattern.ends_with('$');
    const std::string_view body = strip(pattern);
    if (head && tail) return value == body;
    if (head) return value.starts_with(body);
    if (tail) return value.ends_with(body);
    return value.find(body) != std::string_view::npos;
  }

  int compiles = 0;
  int matches_calls = 0;

 private:
  static bool unwrap_whole_value(std::string_view& p) {
    if (!p.starts_with("^(?:") || !p.ends_with(")$") || p.size() < 6) return false;
    p = p.substr(4, p.size() - 6);
    return true;
  }
  static std::string_view strip(std::string_view p) {
    if (p.starts_with('^')) p.remove_prefix(1);
    if (p.ends_with('$')) p.remove_suffix(1);
    return p;
  }
};

}  // namespace warden::testing
