#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden {

// Regular expressions are evaluated by whoever embeds the core: the extension supplies one backed
// by PostgreSQL's regex engine so grants behave like `~` in SQL. The core never uses std::regex.
class PatternEngine {
 public:
  virtual ~PatternEngine();
  // nullopt if the pattern compiles, otherwise a message explaining why it does not.
  virtual std::optional<std::string> compile_error(std::string_view pattern) = 0;
  // True if value matches pattern anywhere (unanchored, like SQL `~`), unless the pattern anchors.
  virtual bool matches(std::string_view pattern, std::string_view value) = 0;
};

}  // namespace warden
