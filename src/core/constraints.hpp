#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/pattern_engine.hpp"

namespace warden {

// Argument constraints of a grant: a JSON object mapping a key to a predicate object, e.g.
//   {"field": {"in": ["priority"]}, "ticket": {"min": 1}, "additional": false}
// Keys are argument names or paths into nested arguments (syntax in argument_path.hpp:
// "field", "options.path", "$.options.path", "files[0]"). The key "additional" is reserved:
// false rejects any top-level argument not named by a key (a path names its first segment);
// nested objects are not restricted by it. Address an argument named "additional" as
// "$.additional".
//
// Predicates, all of which must hold (a conjunction):
//   eq          any JSON; value equals it (numbers by value: 1 == 1.0; object key order moot)
//   in          non-empty array; value equals one element
//   not_in      array; value equals no element
//   prefix      string; value is a string starting with it (byte-wise)
//   pattern     string; value is a string the PatternEngine matches
//   min, max    numbers (min <= max); value is a number in range, compared exactly
//   max_length  non-negative integer; value is a string of at most that many code points or an
//               array of at most that many elements
//   optional    boolean; see below
// {} as a predicate object only requires the argument to be present.
//
// Absent arguments fail closed: a constrained key whose value is missing (or whose path runs
// through a missing member, a non-object, a non-array or an index out of range) fails unless
// the predicate object has "optional": true. Otherwise omitting an argument would slip past a
// grant that meant to pin it, and the tool's own default would apply instead. An explicit null
// is present and is checked like any other value.

inline constexpr size_t kMaxConstraintKeys = 256;
inline constexpr size_t kMaxListElements = 1024;
inline constexpr size_t kMaxOperandDepth = 16;
inline constexpr size_t kMaxOperandStringBytes = 4096;

struct ConstraintError {
  std::string path;       // the constraint key at fault; empty for the document itself
  std::string predicate;  // the predicate at fault; empty when the key or its object is wrong
  std::string message;    // what is wrong, for an error message
  std::string hint;       // how to fix it
};

struct Verdict {
  bool allowed = true;
  std::string argument;  // constraint key or unexpected argument; "" when the call as a whole fails
  std::string predicate;  // failing predicate, "required" for an absent argument, "additional"
  std::string detail;     // e.g. value "status" is not in ["priority"]

  // "field: value \"status\" is not in [\"priority\"]", or just the detail without an argument.
  std::string message() const;
};

// Grant-time check: shape, predicate types, limits, and that every pattern compiles.
std::optional<ConstraintError> validate_constraints(const nlohmann::json& constraints,
                                                    PatternEngine& patterns);

// Call-time check. Keys are checked in sorted order, predicates of a key in sorted order, then
// unnamed arguments if "additional" is false; the first failure is returned. Malformed
// constraints fail closed. Values of sensitive keys (redaction.hpp) are not echoed. Never throws.
Verdict evaluate_constraints(const nlohmann::json& constraints, const nlohmann::json& arguments,
                             PatternEngine& patterns);

// Delegation check: true only if every call child allows is also allowed by parent. Conservative:
// false when it cannot prove it (e.g. differing patterns, paths constraining a parent key only
// indirectly). On false, *offending_key (if given) names the parent key, or child key, or
// "additional" that could not be shown narrower; "" if a document is not an object.
bool constraints_narrower_or_equal(const nlohmann::json& child, const nlohmann::json& parent,
                                   std::string* offending_key = nullptr);

}  // namespace warden
