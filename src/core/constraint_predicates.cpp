#include "core/core_only.hpp"

#include "core/constraint_predicates.hpp"

#include <array>

#include "core/audit_arguments.hpp"
#include "core/constraints.hpp"
#include "core/json_values.hpp"
#include "core/path_prefix.hpp"

namespace warden {
namespace {

constexpr size_t kShownBytes = 80;

// How deep eq, in and not_in look for numbers beyond the safe range. Evaluation refuses
// predicate objects nesting deeper than kMaxOperandDepth + 2, so operands nest at most
// kMaxOperandDepth + 1 levels; an upstream reading a number differently cannot change a value's
// shape, so a number nested deeper than any operand cannot make the value equal one.
constexpr size_t kNumberScanDepth = kMaxOperandDepth + 2;

constexpr std::array<std::string_view, 11> kPredicates = {
    "eq",     "in",  "not_in", "path_prefix", "prefix",  "pattern",
    "search", "min", "max",    "max_length",  "optional"};

PredicateCheck pass() {
  return {PredicateOutcome::kPass, {}};
}
PredicateCheck fail(std::string detail) {
  return {PredicateOutcome::kFail, std::move(detail)};
}

// Describes the number without quoting it: the value may be an identifier someone wants kept out
// of logs, and its digits add nothing to what the caller must fix.
PredicateCheck beyond_safe_range() {
  return {PredicateOutcome::kInvalid,
          "value is or contains a number beyond +-9007199254740991 (2^53-1), which JSON readers "
          "such as JavaScript cannot represent exactly; send it as a string or within that "
          "range"};
}

std::string show(const nlohmann::json& v, bool reveal) {
  return reveal ? redacted_excerpt(v, kShownBytes) : "[redacted]";
}

bool has_unsafe_number(const nlohmann::json& value) {
  return contains_number_beyond_safe_json_integer(value, kNumberScanDepth);
}

bool list_contains_identical(const nlohmann::json& list, const nlohmann::json& value) {
  for (const auto& element : list) {
    if (json_values_identical(element, value)) return true;
  }
  return false;
}

PredicateCheck malformed(std::string_view name) {
  return fail("constraint predicate " + std::string(name) + " is malformed");
}

PredicateCheck check_path_prefix(const nlohmann::json& operand, const nlohmann::json& value,
                                 bool reveal) {
  auto judgement =
      judge_path(value.get_ref<const std::string&>(), operand.get_ref<const std::string&>());
  switch (judgement.placement) {
    case PathPlacement::kWithin:
      return pass();
    case PathPlacement::kOutside:
      return fail("value " + show(value, reveal) + " is not a path inside " +
                  show(operand, reveal));
    case PathPlacement::kMalformedValue:
      return fail("value is not a plain path: it " + judgement.problem);
    case PathPlacement::kMalformedPrefix:
      break;
  }
  return malformed("path_prefix");
}

}  // namespace

bool is_known_predicate(std::string_view name) {
  for (std::string_view known : kPredicates) {
    if (known == name) return true;
  }
  return false;
}

const char* known_predicate_list() {
  return "eq, in, not_in, path_prefix, prefix, pattern, search, min, max, max_length, optional";
}

PredicateCheck check_predicate(std::string_view name, const nlohmann::json& operand,
                               const nlohmann::json& value, PatternEngine* patterns, bool reveal) {
  // Rendered only on failure paths; values can be megabytes.
  const auto shown = [&] { return "value " + show(value, reveal); };
  if (name == "optional") {
    return operand.is_boolean() ? pass() : malformed(name);
  }
  if (name == "eq") {
    // Identical is equal (1 == 1.0) wherever no number beyond the safe range is involved.
    if (json_values_identical(value, operand)) return pass();
    if (has_unsafe_number(value)) return beyond_safe_range();
    return fail(shown() + " is not equal to " + show(operand, reveal));
  }
  if (name == "in" || name == "not_in") {
    if (!operand.is_array()) return malformed(name);
    if (name == "in") {
      if (list_contains_identical(operand, value)) return pass();
      if (has_unsafe_number(value)) return beyond_safe_range();
      return fail(shown() + " is not in " + show(operand, reveal));
    }
    // An upstream may read the value as a forbidden element even when it is none here.
    if (has_unsafe_number(value)) return beyond_safe_range();
    if (list_contains_identical(operand, value)) {
      return fail(shown() + " is in forbidden " + show(operand, reveal));
    }
    return pass();
  }
  if (name == "prefix" || name == "path_prefix" || name == "pattern" || name == "search") {
    if (!operand.is_string()) return malformed(name);
    if (!value.is_string()) return fail(shown() + " is not a string");
    const auto& op = operand.get_ref<const std::string&>();
    const auto& text = value.get_ref<const std::string&>();
    if (name == "prefix") {
      if (text.starts_with(op)) return pass();
      return fail(shown() + " does not start with " + show(operand, reveal));
    }
    if (name == "path_prefix") return check_path_prefix(operand, value, reveal);
    if (patterns == nullptr) return {PredicateOutcome::kUndecided, {}};
    if (name == "pattern") {
      if (patterns->matches(whole_value_pattern(op), text)) return pass();
      return fail(shown() + " does not match pattern " + show(operand, reveal) + " as a whole");
    }
    if (patterns->matches(op, text)) return pass();
    return fail(shown() + " does not contain a match for " + show(operand, reveal));
  }
  if (name == "min" || name == "max") {
    if (!operand.is_number()) return malformed(name);
    if (!value.is_number()) return fail(shown() + " is not a number");
    if (beyond_safe_json_integer(value)) return beyond_safe_range();
    const auto order = compare_json_numbers(value, operand);
    if (name == "min" && order >= 0) return pass();
    if (name == "max" && order <= 0) return pass();
    return fail(shown() + (name == "min" ? " is less than minimum " : " is greater than maximum ") +
                show(operand, reveal));
  }
  if (name == "max_length") {
    if (!operand.is_number_integer() ||
        (!operand.is_number_unsigned() && operand.get<int64_t>() < 0)) {
      return malformed(name);
    }
    const uint64_t limit = operand.is_number_unsigned()
                               ? operand.get<uint64_t>()
                               : static_cast<uint64_t>(operand.get<int64_t>());
    if (value.is_string()) {
      const size_t length = utf8_length(value.get_ref<const std::string&>());
      if (length <= limit) return pass();
      return fail("string has " + std::to_string(length) + " characters, more than max_length " +
                  std::to_string(limit));
    }
    if (value.is_array()) {
      if (value.size() <= limit) return pass();
      return fail("array has " + std::to_string(value.size()) + " elements, more than max_length " +
                  std::to_string(limit));
    }
    return fail(shown() + " is not a string or array");
  }
  return fail("unknown constraint predicate " + show(nlohmann::json(std::string(name)), true));
}

}  // namespace warden
