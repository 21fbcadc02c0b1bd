#include "core/core_only.hpp"

#include "core/pattern_engine.hpp"

namespace warden {

// Defined out of line so the vtable has a single home.
PatternEngine::~PatternEngine() = default;

std::string whole_value_pattern(std::string_view pattern) {
  std::string anchored;
  anchored.reserve(pattern.size() + 6);
  anchored.append("^(?:").append(pattern).append(")$");
  return anchored;
}

}  // namespace warden
