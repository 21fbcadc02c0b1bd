#include "core/constraint_predicates.hpp"

#include <array>

#include "core/canonical_json.hpp"
#include "core/json_values.hpp"

namespace warden {
namespace {

constexpr size_t kShownBytes = 80;

constexpr std::array<std::string_view, 9> kPredicates = {
    "eq", "in", "not_in", "prefix", "pattern", "min", "max", "max_length", "optional"};

PredicateCheck pass() {
  return {PredicateOutcome::kPass, {}};
}
PredicateCheck fail(std::string detail) {
  return {PredicateOutcome::kFail, std::move(detail)};
}

std::string show(const nlohmann::json& v, bool reveal) {
  return reveal ? canonical_json_truncated(v, kShownBytes) : "[redacted]";
}

bool list_contains(const nlohmann::json& list, const nlohmann::json& value) {
  for (const auto& element : list) {
    if (json_values_equal(element, value)) return true;
  }
  return false;
}

PredicateCheck malformed(std::string_view name) {
  return fail("constraint predicate " + std::string(name) + " is malformed");
}

}  // namespace

bool is_known_predicate(std::string_view name) {
  for (std::string_view known : kPredicates) {
    if (known == name) return true;
  }
  return false;
}

const char* known_predicate_list() {
  return "eq, in, not_in, prefix, pattern, min, max, max_length, optional";
}

PredicateCheck check_predicate(std::string_view name, const nlohmann::json& operand,
                               const nlohmann::json& value, PatternEngine* patterns, bool reveal) {
  // Rendered only on failure paths; values can be megabytes.
  const auto shown = [&] { return "value " + show(value, reveal); };
  if (name == "optional") {
    return operand.is_boolean() ? pass() : malformed(name);
  }
  if (name == "eq") {
    if (json_values_equal(value, operand)) return pass();
    return fail(shown() + " is not equal to " + show(operand, reveal));
  }
  if (name == "in" || name == "not_in") {
    if (!operand.is_array()) return malformed(name);
    const bool found = list_contains(operand, value);
    if (name == "in" && !found) return fail(shown() + " is not in " + show(operand, reveal));
    if (name == "not_in" && found)
      return fail(shown() + " is in forbidden " + show(operand, reveal));
    return pass();
  }
  if (name == "prefix" || name == "pattern") {
    if (!operand.is_string()) return malformed(name);
    if (!value.is_string()) return fail(shown() + " is not a string");
    const auto& op = operand.get_ref<const std::string&>();
    const auto& text = value.get_ref<const std::string&>();
    if (name == "prefix") {
      if (text.starts_with(op)) return pass();
      return fail(shown() + " does not start with " + show(operand, reveal));
    }
    if (patterns == nullptr) return {PredicateOutcome::kUndecided, {}};
    if (patterns->matches(op, text)) return pass();
    return fail(shown() + " does not match pattern " + show(operand, reveal));
  }
  if (name == "min" || name == "max") {
    if (!operand.is_number()) return malformed(name);
    if (!value.is_number()) return fail(shown() + " is not a number");
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
