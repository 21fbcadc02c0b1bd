#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/pattern_engine.hpp"

namespace warden {

// Internal to the constraint code: one predicate applied to one present value.
//   kInvalid: the value cannot be judged faithfully (a number beyond +-(2^53-1)); a denial that
//   maps to VerdictKind::invalid_arguments.
enum class PredicateOutcome { kPass, kFail, kInvalid, kUndecided };

struct PredicateCheck {
  PredicateOutcome outcome;
  std::string detail;  // why it failed; empty on pass
};

// A malformed operand or unknown predicate fails (closed). With patterns == nullptr, pattern and
// search are kUndecided, which lets delegation checks reason without a regex engine.
// reveal=false keeps the value and operands out of the detail (sensitive constraint keys);
// otherwise they are quoted only through redacted_excerpt (audit_arguments.hpp).
PredicateCheck check_predicate(std::string_view name, const nlohmann::json& operand,
                               const nlohmann::json& value, PatternEngine* patterns, bool reveal);

bool is_known_predicate(std::string_view name);

// Comma-separated list of predicate names, for hints.
const char* known_predicate_list();

}  // namespace warden
