#pragma once

#include "core/pattern_engine.hpp"

namespace warden::pg {

// Grant constraint patterns evaluated by PostgreSQL's own regex engine (advanced regular
// expressions, as with `~`), in the C collation so results never depend on the database.
// Compilation errors are reported, not raised, so grant-time validation can explain them.
class PgPatternEngine : public PatternEngine {
 public:
  std::optional<std::string> compile_error(std::string_view pattern) override;
  bool matches(std::string_view pattern, std::string_view value) override;
};

}  // namespace warden::pg
