#include "core/core_only.hpp"

#include "core/approval_condition.hpp"

#include <string>

#include "core/argument_path.hpp"
#include "core/constraints.hpp"

namespace warden {

namespace {

enum class Compared { number, string, string_or_array, any };

// What type of value a predicate compares, given its operand.
Compared compared_type(const std::string& predicate, const nlohmann::json& operand) {
  if (predicate == "min" || predicate == "max") return Compared::number;
  if (predicate == "prefix" || predicate == "path_prefix" || predicate == "pattern" ||
      predicate == "search") {
    return Compared::string;
  }
  if (predicate == "max_length") return Compared::string_or_array;
  if (predicate == "eq" || predicate == "in" || predicate == "not_in") {
    // The operand's own type (or, for a list, the one type all its elements share).
    auto type_of = [](const nlohmann::json& v) {
      if (v.is_number()) return Compared::number;
      if (v.is_string()) return Compared::string;
      return Compared::any;
    };
    if (predicate == "eq") return type_of(operand);
    if (!operand.is_array() || operand.empty()) return Compared::any;
    const Compared first = type_of(operand.front());
    for (const auto& element : operand) {
      if (type_of(element) != first) return Compared::any;
    }
    return first;
  }
  return Compared::any;
}

bool has_type(const nlohmann::json& value, Compared type) {
  switch (type) {
    case Compared::number:
      return value.is_number();
    case Compared::string:
      return value.is_string();
    case Compared::string_or_array:
      return value.is_string() || value.is_array();
    case Compared::any:
      return true;
  }
  return false;
}

// One key of the condition, evaluated alone: true when it fails cleanly (see the header).
bool key_fails_cleanly(const std::string& key, const nlohmann::json& predicates,
                       const nlohmann::json& arguments, PatternEngine& patterns) {
  const auto parsed = parse_argument_path(key);
  if (!parsed.error.empty() || !predicates.is_object()) return false;
  const nlohmann::json* value = resolve_argument_path(arguments, parsed.path);
  if (value == nullptr) return false;  // absent: the person decides
  nlohmann::json one = nlohmann::json::object();
  one[key] = predicates;
  const Verdict verdict = evaluate_constraints(one, arguments, patterns);
  if (verdict.allowed || verdict.kind != VerdictKind::constraint_failed) return false;
  const auto predicate = predicates.find(verdict.predicate);
  if (predicate == predicates.end()) return false;  // malformed, unknown, or an engine error
  return has_type(*value, compared_type(verdict.predicate, *predicate));
}

}  // namespace

bool approval_condition_holds(const nlohmann::json& when, const nlohmann::json& arguments,
                              PatternEngine& patterns) {
  if (!when.is_object() || !arguments.is_object()) return true;
  // The condition is a conjunction: one key failing cleanly is enough to need no approval.
  // "additional" says nothing about risk; it is ignored here.
  for (auto entry = when.cbegin(); entry != when.cend(); ++entry) {
    if (entry.key() == "additional") continue;
    if (key_fails_cleanly(entry.key(), entry.value(), arguments, patterns)) return false;
  }
  return true;
}

}  // namespace warden
