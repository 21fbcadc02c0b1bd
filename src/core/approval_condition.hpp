#pragma once

#include <nlohmann/json.hpp>

#include "core/pattern_engine.hpp"

namespace warden {

// Does a call need a person's approval under a grant's {"when": <constraints>}? The "when"
// constraints name the risky calls (e.g. {"amount": {"min": 1000}}): approval is needed when
// they hold. Read naively ("needed iff the constraints pass") it fails open: an absent
// argument, a value of another type ("amount": "50000", which a lax upstream coerces), a number
// beyond +-(2^53-1), a malformed condition or an evaluation error would all count as "does not
// hold" and skip the person. So approval is NOT needed only when the constraints fail cleanly:
// every failure is a predicate judging a present value of the type that predicate compares
// (a number for min/max and numeric eq/in/not_in, a string for prefix/pattern/search/path_prefix
// and string eq/in/not_in, a string or array for max_length). Anything else needs approval.
bool approval_condition_holds(const nlohmann::json& when, const nlohmann::json& arguments,
                              PatternEngine& patterns);

}  // namespace warden
