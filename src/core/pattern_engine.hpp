#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden {

// Regular expressions are evaluated by whoever embeds the core: the extension supplies one backed
// by PostgreSQL's regex engine (advanced syntax, ARE) so grants behave like `~` in SQL. The core
// never uses std::regex.
class PatternEngine {
 public:
  virtual ~PatternEngine();
  // nullopt if the pattern compiles, otherwise a message explaining why it does not.
  virtual std::optional<std::string> compile_error(std::string_view pattern) = 0;
  // True if value matches pattern anywhere (unanchored, like SQL `~`), unless the pattern anchors.
  virtual bool matches(std::string_view pattern, std::string_view value) = 0;
};

// The pattern that matches exactly the values pattern matches as a whole: "^(?:" pattern ")$".
// The non-capturing group keeps alternatives inside the anchors ("a|b" must not become "^a|b$")
// and leaves back-reference numbers alone. In an ARE without embedded options, ^ and $ match
// only at the start and end of the value, never at a newline. Only sound for a pattern that
// compiles on its own: an unbalanced one such as "a)|(b" could escape the group, so grant-time
// validation compiles both the pattern and its anchored form. Embedded options ("(?i)") and
// directors ("***=") must start an ARE, so their anchored form does not compile and they are
// refused rather than allowed to turn on newline-sensitive anchors.
std::string whole_value_pattern(std::string_view pattern);

}  // namespace warden
