#include "core/core_only.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "core/argument_path.hpp"
#include "core/constraint_predicates.hpp"
#include "core/constraints.hpp"
#include "core/json_values.hpp"
#include "core/path_prefix.hpp"

namespace warden {
namespace {

struct Entry {
  std::string key;
  const nlohmann::json* predicates;
};

using EntriesByPath = std::multimap<ArgumentPath, Entry>;

// Absent and true both mean "allow unnamed arguments"; anything else is malformed.
std::optional<bool> additional_flag(const nlohmann::json& constraints) {
  const auto it = constraints.find("additional");
  if (it == constraints.end()) return true;
  if (!it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

bool is_optional(const nlohmann::json& predicates) {
  const auto it = predicates.find("optional");
  return it != predicates.end() && it->is_boolean() && it->get<bool>();
}

const nlohmann::json* find(const nlohmann::json& predicates, const char* name) {
  const auto it = predicates.find(name);
  return it == predicates.end() ? nullptr : &*it;
}

// True if a child predicate other than pattern and search provably rejects value.
bool child_rejects(const nlohmann::json& child, const nlohmann::json& value) {
  for (auto it = child.cbegin(); it != child.cend(); ++it) {
    const auto outcome = check_predicate(it.key(), it.value(), value, nullptr, true).outcome;
    if (outcome == PredicateOutcome::kFail || outcome == PredicateOutcome::kInvalid) return true;
  }
  return false;
}

// True if the child, having no eq or in, denies every value that is or contains a number beyond
// the safe range: not_in, min and max refuse such values, and the string predicates refuse
// anything but a string. A parent's not_in refuses them, so a child must too.
bool child_refuses_unsafe_numbers(const nlohmann::json& child) {
  for (const char* name : {"not_in", "min", "max", "prefix", "path_prefix", "pattern", "search"}) {
    if (find(child, name) != nullptr) return true;
  }
  return false;
}

bool same_string(const nlohmann::json* a, const nlohmann::json& b) {
  return a != nullptr && a->is_string() && b.is_string() && *a == b;
}

// True if the child's own regular expressions imply parent predicate (name, operand), which is
// pattern or search: only identical text can be compared without an engine. A whole-value match
// is also a match somewhere, so pattern P implies search P.
bool child_patterns_imply(const nlohmann::json& child, const std::string& name,
                          const nlohmann::json& operand) {
  if (same_string(find(child, "pattern"), operand)) return true;
  return name == "search" && same_string(find(child, "search"), operand);
}

// Every value child's eq/in can produce satisfies parent predicate (name, operand).
bool candidates_satisfy(const std::vector<const nlohmann::json*>& candidates,
                        const nlohmann::json& child, const std::string& name,
                        const nlohmann::json& operand) {
  if ((name == "pattern" || name == "search") && child_patterns_imply(child, name, operand)) {
    return true;
  }
  for (const auto* candidate : candidates) {
    if (check_predicate(name, operand, *candidate, nullptr, true).outcome !=
        PredicateOutcome::kPass) {
      return false;
    }
  }
  return true;
}

// Child's own bound on the predicate is at least as tight as operand.
bool bound_implies(const nlohmann::json& child, const std::string& name,
                   const nlohmann::json& operand) {
  const nlohmann::json* own = find(child, name.c_str());
  if (name == "not_in") {
    if (!operand.is_array() || !child_refuses_unsafe_numbers(child)) return false;
    for (const auto& forbidden : operand) {
      const bool listed = own != nullptr && own->is_array() &&
                          std::any_of(own->begin(), own->end(), [&](const nlohmann::json& v) {
                            return json_values_equal(v, forbidden);
                          });
      if (!listed && !child_rejects(child, forbidden)) return false;
    }
    return true;
  }
  if (name == "pattern" || name == "search") return child_patterns_imply(child, name, operand);
  if (name == "prefix") {
    if (!operand.is_string()) return false;
    const auto& wanted = operand.get_ref<const std::string&>();
    if (own != nullptr && own->is_string() &&
        own->get_ref<const std::string&>().starts_with(wanted)) {
      return true;
    }
    // Every path inside a well-formed path_prefix starts with its text, byte for byte.
    const nlohmann::json* path = find(child, "path_prefix");
    return path != nullptr && path->is_string() &&
           !path_prefix_operand_error(path->get_ref<const std::string&>()) &&
           path->get_ref<const std::string&>().starts_with(wanted);
  }
  if (own == nullptr) return false;
  if (name == "path_prefix") {
    return own->is_string() && operand.is_string() &&
           path_prefix_within(own->get_ref<const std::string&>(),
                              operand.get_ref<const std::string&>());
  }
  if (name == "min") return compare_json_numbers(*own, operand) >= 0;
  if (name == "max") return compare_json_numbers(*own, operand) <= 0;
  if (name == "max_length") {
    return own->is_number_integer() && operand.is_number_integer() &&
           compare_json_numbers(*own, operand) <= 0 && compare_json_numbers(*own, 0) >= 0;
  }
  return false;  // eq and in need the child to enumerate its values; unknown names never pass
}

bool predicates_narrower(const nlohmann::json& child, const nlohmann::json& parent) {
  if (!child.is_object() || !parent.is_object()) return false;
  for (auto it = child.cbegin(); it != child.cend(); ++it) {
    if (!is_known_predicate(it.key())) return false;
  }
  if (is_optional(child) && !is_optional(parent)) return false;

  // With eq or in, the child allows only listed values, so checking them suffices.
  std::vector<const nlohmann::json*> candidates;
  bool enumerated = false;
  if (const auto* eq = find(child, "eq")) {
    candidates.push_back(eq);
    enumerated = true;
  } else if (const auto* in = find(child, "in"); in != nullptr && in->is_array()) {
    for (const auto& v : *in) candidates.push_back(&v);
    enumerated = true;
  }
  for (auto it = parent.cbegin(); it != parent.cend(); ++it) {
    const std::string& name = it.key();
    if (name == "optional") {
      if (!it->is_boolean()) return false;
      continue;
    }
    const bool implied = enumerated ? candidates_satisfy(candidates, child, name, it.value())
                                    : bound_implies(child, name, it.value());
    if (!implied) return false;
  }
  return true;
}

std::optional<EntriesByPath> index_entries(const nlohmann::json& constraints,
                                           std::string* bad_key) {
  EntriesByPath entries;
  for (auto it = constraints.cbegin(); it != constraints.cend(); ++it) {
    if (it.key() == "additional") continue;
    auto parsed = parse_argument_path(it.key());
    if (!parsed.error.empty()) {
      *bad_key = it.key();
      return std::nullopt;
    }
    entries.emplace(std::move(parsed.path), Entry{it.key(), &it.value()});
  }
  return entries;
}

bool narrower(const nlohmann::json& child, const nlohmann::json& parent, std::string& offending) {
  if (!child.is_object() || !parent.is_object()) return false;
  // Validated constraints are this shallow; the bound keeps json_values_equal's recursion short.
  if (json_depth_exceeds(child, kMaxOperandDepth + 3) ||
      json_depth_exceeds(parent, kMaxOperandDepth + 3)) {
    return false;
  }
  const auto child_additional = additional_flag(child);
  const auto parent_additional = additional_flag(parent);
  if (!child_additional || !parent_additional) {
    offending = "additional";
    return false;
  }
  std::string bad_key;
  const auto child_entries = index_entries(child, &bad_key);
  const auto parent_entries = index_entries(parent, &bad_key);
  if (!child_entries || !parent_entries) {
    offending = bad_key;
    return false;
  }
  if (!*parent_additional) {
    // Every argument the child admits must be one the parent names.
    if (*child_additional) {
      offending = "additional";
      return false;
    }
    std::set<std::string> parent_names;
    for (const auto& [path, entry] : *parent_entries) {
      parent_names.insert(std::get<std::string>(path.front()));
    }
    for (const auto& [path, entry] : *child_entries) {
      if (!parent_names.contains(std::get<std::string>(path.front()))) {
        offending = entry.key;
        return false;
      }
    }
  }
  for (const auto& [path, parent_entry] : *parent_entries) {
    const auto [begin, end] = child_entries->equal_range(path);
    bool implied = false;
    for (auto child_entry = begin; child_entry != end && !implied; ++child_entry) {
      implied = predicates_narrower(*child_entry->second.predicates, *parent_entry.predicates);
    }
    if (!implied) {
      offending = parent_entry.key;
      return false;
    }
  }
  return true;
}

}  // namespace

bool constraints_narrower_or_equal(const nlohmann::json& child, const nlohmann::json& parent,
                                   std::string* offending_key) {
  std::string offending;
  bool result = false;
  try {
    result = narrower(child, parent, offending);
  } catch (...) {
    result = false;
  }
  if (!result && offending_key != nullptr) *offending_key = offending;
  return result;
}

}  // namespace warden
