#include "core/core_only.hpp"

#include "core/audit_arguments.hpp"

#include <string>

#include "core/canonical_json.hpp"
#include "core/redaction.hpp"

namespace warden {

namespace {

void shorten_strings(nlohmann::json& value, size_t max_bytes, size_t depth) {
  if (depth > kRedactionMaxDepth) return;  // redaction already cut deeper containers
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s.size() > max_bytes) value = "[truncated: " + std::to_string(s.size()) + " bytes]";
  } else if (value.is_structured()) {
    for (auto& child : value) shorten_strings(child, max_bytes, depth + 1);
  }
}

}  // namespace

nlohmann::json audit_copy_of_arguments(const nlohmann::json& arguments, size_t max_string_bytes) {
  nlohmann::json copy = redact_arguments(arguments);
  shorten_strings(copy, max_string_bytes, 0);
  return copy;
}

std::string redacted_excerpt(const nlohmann::json& value, size_t max_bytes) {
  // Scalars hold no keys to redact; not copying them keeps a 16 MiB string cheap to quote.
  if (!value.is_structured()) return canonical_json_truncated(value, max_bytes);
  return canonical_json_truncated(redact_arguments(value), max_bytes);
}

}  // namespace warden
