#include "core/pattern_engine.hpp"

namespace warden {

// Defined out of line so the vtable has a single home.
PatternEngine::~PatternEngine() = default;

}  // namespace warden
