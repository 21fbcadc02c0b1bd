#include "core/core_only.hpp"

#include <set>

#include "core/argument_path.hpp"
#include "core/constraint_predicates.hpp"
#include "core/constraints.hpp"
#include "core/json_values.hpp"
#include "core/redaction.hpp"

namespace warden {
namespace {

Verdict deny(std::string argument, std::string predicate, std::string detail,
             VerdictKind kind = VerdictKind::constraint_failed) {
  return {false, kind, std::move(argument), std::move(predicate), std::move(detail)};
}

// Argument names come from the caller and may be huge; the verdict ends up in error messages.
std::string shorten(const std::string& name) {
  constexpr size_t kMaxShown = 128;
  if (name.size() <= kMaxShown) return name;
  size_t cut = kMaxShown;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  return name.substr(0, cut) + "...";
}

Verdict evaluate(const nlohmann::json& constraints, const nlohmann::json& arguments,
                 PatternEngine& patterns) {
  if (!constraints.is_object()) return deny("", "", "constraints are not an object");
  if (!arguments.is_object()) {
    return deny("", "", "arguments are not an object", VerdictKind::invalid_arguments);
  }
  bool additional = true;
  std::set<std::string, std::less<>> named;
  for (auto entry = constraints.cbegin(); entry != constraints.cend(); ++entry) {
    const std::string& key = entry.key();
    const nlohmann::json& predicates = entry.value();
    if (key == "additional") {
      if (!predicates.is_boolean()) return deny(key, "additional", "constraint is malformed");
      additional = predicates.get<bool>();
      continue;
    }
    const auto parsed = parse_argument_path(key);
    // Bounding operand depth also bounds json_values_equal's recursion on hostile arguments.
    if (!parsed.error.empty() || !predicates.is_object() ||
        json_depth_exceeds(predicates, kMaxOperandDepth + 2)) {
      return deny(shorten(key), "", "constraint is malformed");
    }
    named.insert(std::get<std::string>(parsed.path.front()));
    const nlohmann::json* value = resolve_argument_path(arguments, parsed.path);
    if (value == nullptr) {
      const auto optional = predicates.find("optional");
      if (optional != predicates.end() && optional->is_boolean() && optional->get<bool>()) continue;
      return deny(key, "required", "argument is required by the grant but absent");
    }
    const bool reveal = !is_sensitive_key(key);
    for (auto predicate = predicates.cbegin(); predicate != predicates.cend(); ++predicate) {
      auto check = check_predicate(predicate.key(), predicate.value(), *value, &patterns, reveal);
      if (check.outcome != PredicateOutcome::kPass) {
        const auto kind = check.outcome == PredicateOutcome::kInvalid
                              ? VerdictKind::invalid_arguments
                              : VerdictKind::constraint_failed;
        return deny(key, shorten(predicate.key()), std::move(check.detail), kind);
      }
    }
  }
  if (!additional) {
    for (auto argument = arguments.cbegin(); argument != arguments.cend(); ++argument) {
      if (!named.contains(argument.key())) {
        return deny(shorten(argument.key()), "additional",
                    "argument is not allowed by the grant, which permits only constrained "
                    "arguments");
      }
    }
  }
  return {};
}

}  // namespace

std::string Verdict::message() const {
  if (allowed) return "allowed";
  return argument.empty() ? detail : argument + ": " + detail;
}

Verdict evaluate_constraints(const nlohmann::json& constraints, const nlohmann::json& arguments,
                             PatternEngine& patterns) {
  try {
    return evaluate(constraints, arguments, patterns);
  } catch (...) {
    // A throwing pattern engine or allocation failure must deny, never allow or escape.
    return deny("", "", "arguments could not be checked against the grant's constraints");
  }
}

}  // namespace warden
