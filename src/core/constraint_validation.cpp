#include "core/core_only.hpp"

#include "core/argument_path.hpp"
#include "core/canonical_json.hpp"
#include "core/constraint_predicates.hpp"
#include "core/constraints.hpp"
#include "core/json_values.hpp"
#include "core/path_prefix.hpp"

namespace warden {
namespace {

constexpr const char* kPathHint =
    "use an argument name (\"field\") or a path (\"options.path\", \"$.options.path\", "
    "\"files[0]\")";

ConstraintError error(std::string path, std::string predicate, std::string message,
                      std::string hint) {
  return {std::move(path), std::move(predicate), std::move(message), std::move(hint)};
}

std::optional<ConstraintError> check_operand(const std::string& key, const std::string& name,
                                             const nlohmann::json& operand,
                                             PatternEngine& patterns) {
  auto wrong = [&](const std::string& message, std::string hint) {
    return error(key, name, key + ": \"" + name + "\" " + message, std::move(hint));
  };
  if (name == "optional") {
    if (!operand.is_boolean()) return wrong("must be true or false", "write \"optional\": true");
  } else if (name == "eq") {
    if (json_depth_exceeds(operand, kMaxOperandDepth)) {
      return wrong("nests deeper than " + std::to_string(kMaxOperandDepth) + " levels",
                   "constrain nested values with a path key instead");
    }
  } else if (name == "in" || name == "not_in") {
    if (!operand.is_array()) {
      return wrong("must be an array of allowed values", "write \"" + name + "\": [\"a\", \"b\"]");
    }
    if (name == "in" && operand.empty()) {
      return wrong("is empty, so nothing would be allowed", "list at least one allowed value");
    }
    if (operand.size() > kMaxListElements) {
      return wrong("has more than " + std::to_string(kMaxListElements) + " elements",
                   "use prefix or pattern for large value sets");
    }
    if (json_depth_exceeds(operand, kMaxOperandDepth + 1)) {
      return wrong(
          "has elements nesting deeper than " + std::to_string(kMaxOperandDepth) + " levels",
          "constrain nested values with a path key instead");
    }
  } else if (name == "prefix" || name == "path_prefix" || name == "pattern" || name == "search") {
    if (!operand.is_string()) {
      return wrong("must be a string", "write \"" + name + "\": \"...\"");
    }
    const auto& text = operand.get_ref<const std::string&>();
    if (text.size() > kMaxOperandStringBytes) {
      return wrong("is longer than " + std::to_string(kMaxOperandStringBytes) + " bytes",
                   "shorten it");
    }
    if (name == "path_prefix") {
      if (auto problem = path_prefix_operand_error(text)) {
        return wrong("is not a plain path: it " + *problem,
                     "write a path such as \"/srv/public\" (the directory and what is beneath "
                     "it) or \"/srv/public/\" (only what is beneath it): no \".\", \"..\" or "
                     "empty segments, backslashes, '%' or control characters");
      }
    }
    if (name == "pattern" || name == "search") {
      if (auto compile_error = patterns.compile_error(text)) {
        return wrong("is not a valid regular expression: " + *compile_error,
                     "patterns use PostgreSQL regular expression syntax");
      }
    }
    // Compiling the pattern alone first guarantees it cannot escape the anchoring group.
    if (name == "pattern") {
      if (auto compile_error = patterns.compile_error(whole_value_pattern(text))) {
        return wrong(
            "cannot be anchored to match the whole value as ^(?:pattern)$: " + *compile_error,
            "embedded options such as (?i) and directors such as ***= cannot be "
            "anchored; spell the pattern without them, or use \"search\" for an "
            "unanchored match");
      }
    }
  } else if (name == "min" || name == "max") {
    if (!operand.is_number() || compare_json_numbers(operand, operand) != 0) {
      return wrong("must be a number", "write \"" + name + "\": 1");
    }
  } else if (name == "max_length") {
    if (!operand.is_number_integer() ||
        (!operand.is_number_unsigned() && operand.get<int64_t>() < 0)) {
      return wrong("must be a non-negative integer", "write \"max_length\": 100");
    }
  } else {
    return error(key, name, key + ": unknown predicate " + canonical_json_truncated(name, 64),
                 std::string("known predicates are ") + known_predicate_list());
  }
  return std::nullopt;
}

std::optional<ConstraintError> check_entry(const std::string& key, const nlohmann::json& predicates,
                                           PatternEngine& patterns) {
  if (key == "additional") {
    if (predicates.is_boolean()) return std::nullopt;
    return error(key, "", "\"additional\" must be true or false",
                 "write \"additional\": false to reject arguments that are not constrained");
  }
  auto parsed = parse_argument_path(key);
  if (!parsed.error.empty()) {
    return error(
        key, "",
        "invalid argument name or path " + canonical_json_truncated(key, 64) + ": " + parsed.error,
        kPathHint);
  }
  if (!predicates.is_object()) {
    return error(key, "", key + ": constraint must be an object of predicates",
                 "write \"" + key + "\": {\"in\": [\"a\", \"b\"]}");
  }
  for (auto it = predicates.cbegin(); it != predicates.cend(); ++it) {
    if (auto problem = check_operand(key, it.key(), it.value(), patterns)) return problem;
  }
  const auto min = predicates.find("min");
  const auto max = predicates.find("max");
  if (min != predicates.end() && max != predicates.end() && compare_json_numbers(*min, *max) > 0) {
    return error(key, "min", key + ": \"min\" is greater than \"max\"",
                 "swap them or fix the range");
  }
  return std::nullopt;
}

}  // namespace

std::optional<ConstraintError> validate_constraints(const nlohmann::json& constraints,
                                                    PatternEngine& patterns) {
  try {
    if (!constraints.is_object()) {
      return error("", "", "constraints must be a JSON object",
                   "write {\"argument\": {\"in\": [\"a\"]}} or {} for no constraints");
    }
    if (constraints.size() > kMaxConstraintKeys) {
      return error("", "",
                   "constraints have more than " + std::to_string(kMaxConstraintKeys) + " keys",
                   "constrain fewer arguments or split the grant");
    }
    for (auto it = constraints.cbegin(); it != constraints.cend(); ++it) {
      if (auto problem = check_entry(it.key(), it.value(), patterns)) return problem;
    }
    return std::nullopt;
  } catch (...) {
    // Most likely the pattern engine threw; refuse the grant rather than propagate.
    return error("", "", "constraints could not be validated", "check the patterns");
  }
}

}  // namespace warden
