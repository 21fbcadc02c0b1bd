#include "core/core_only.hpp"

#include "core/redaction.hpp"

#include <array>

namespace warden {
namespace {

constexpr std::array<std::string_view, 9> kSensitiveWords = {
    "password",      "passwd",     "secret", "token",  "key",
    "authorization", "credential", "cookie", "private"};

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool contains_ignoring_case(std::string_view haystack, std::string_view lower_needle) {
  if (lower_needle.size() > haystack.size()) return false;
  for (size_t start = 0; start + lower_needle.size() <= haystack.size(); ++start) {
    size_t i = 0;
    while (i < lower_needle.size() && ascii_lower(haystack[start + i]) == lower_needle[i]) ++i;
    if (i == lower_needle.size()) return true;
  }
  return false;
}

nlohmann::json redact(const nlohmann::json& value, size_t depth) {
  if (!value.is_structured()) return value;
  if (depth >= kRedactionMaxDepth) return "[truncated]";
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& element : value) out.push_back(redact(element, depth + 1));
    return out;
  }
  nlohmann::json out = nlohmann::json::object();
  for (auto it = value.cbegin(); it != value.cend(); ++it) {
    out[it.key()] =
        is_sensitive_key(it.key()) ? nlohmann::json("[redacted]") : redact(it.value(), depth + 1);
  }
  return out;
}

}  // namespace

bool is_sensitive_key(std::string_view key) {
  for (std::string_view word : kSensitiveWords) {
    if (contains_ignoring_case(key, word)) return true;
  }
  return false;
}

nlohmann::json redact_arguments(const nlohmann::json& args) {
  return redact(args, 0);
}

}  // namespace warden
