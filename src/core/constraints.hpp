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
//   path_prefix string; value is a path inside it, compared by whole segments, with "..", ".",
//               empty segments, backslashes, '%' and control characters refused (path_prefix.hpp).
//               "/srv/public/" allows "/srv/public/a" only; "/srv/public" also the directory.
//   prefix      string; value is a string starting with it, byte-wise. Not for paths:
//               "/srv/public/../../etc/shadow" starts with "/srv/public/"; use path_prefix.
//   pattern     string; the PatternEngine matches the WHOLE value: the pattern is anchored as
//               ^(?:pattern)$ (pattern_engine.hpp), so "[a-z]+" refuses "abc; rm -rf / #".
//   search      string; the PatternEngine finds the pattern anywhere in the value (unanchored,
//               like SQL `~`; what pattern meant before 0.2.0)
//   min, max    numbers (min <= max); value is a number in range, compared exactly
//   max_length  non-negative integer; value is a string of at most that many code points or an
//               array of at most that many elements
//   optional    boolean; see below
// {} as a predicate object only requires the argument to be present.
//
// Numbers beyond +-(2^53-1) (json_values.hpp) are not judged: upstreams written in JavaScript and
// others read them as a different number than the one checked here, so not_in [2^53] would let
// 2^53+1 through to an upstream that reads 2^53. When eq, in, not_in, min or max inspects a value
// that is or contains such a number, the verdict is VerdictKind::invalid_arguments, unless eq or
// in lists the identical integer (json_values_identical: both integer text, so every reader sees
// the same number in both). Integer text beyond 64 bits is parsed as a double and never matches.
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

// What a verdict means for the decision; the extension reports the kind as the decision reason.
enum class VerdictKind {
  allowed,
  // The grant's constraints refuse the call: a predicate failed, a constrained argument is
  // absent, an argument is not allowed ("additional": false), or the constraints are malformed.
  constraint_failed,
  // The arguments cannot be judged faithfully: they are not an object, or a number a numeric
  // predicate inspects is beyond +-(2^53-1). The caller must change the call, not the grant.
  invalid_arguments,
};

// detail and message() never quote a value under a sensitive key, at any depth (redaction.hpp):
// values and operands are shown only through redacted_excerpt (audit_arguments.hpp), and not at
// all when the constraint key is itself sensitive. They are safe for decision details, errors and
// logs.
struct Verdict {
  bool allowed = true;  // always kind == VerdictKind::allowed; kept for callers that only ask this
  VerdictKind kind = VerdictKind::allowed;
  std::string argument;  // constraint key or unexpected argument; "" when the call as a whole fails
  std::string predicate;  // failing predicate, "required" for an absent argument, "additional"
  std::string detail;     // e.g. value "status" is not in ["priority"]

  // "field: value \"status\" is not in [\"priority\"]", or just the detail without an argument.
  std::string message() const;
};

// Grant-time check: shape, predicate types, limits, that every pattern and search compiles (a
// pattern also in its anchored form), and that every path_prefix is a well-formed path.
std::optional<ConstraintError> validate_constraints(const nlohmann::json& constraints,
                                                    PatternEngine& patterns);

// Call-time check. Keys are checked in sorted order, predicates of a key in sorted order, then
// unnamed arguments if "additional" is false; the first failure is returned. Malformed
// constraints fail closed. Relies on validate_constraints having accepted every pattern when the
// grant was made (see whole_value_pattern). Never throws.
Verdict evaluate_constraints(const nlohmann::json& constraints, const nlohmann::json& arguments,
                             PatternEngine& patterns);

// Delegation check: true only if every call child allows is also allowed by parent. Conservative:
// false when it cannot prove it (e.g. differing patterns, paths constraining a parent key only
// indirectly). A pattern implies the identical pattern or search; a path_prefix implies a wider
// path_prefix or a prefix its text starts with. On false, *offending_key (if given) names the
// parent key, or child key, or "additional" that could not be shown narrower; "" if a document is
// not an object.
bool constraints_narrower_or_equal(const nlohmann::json& child, const nlohmann::json& parent,
                                   std::string* offending_key = nullptr);

}  // namespace warden
