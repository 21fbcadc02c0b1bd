#include "core/core_only.hpp"

#include "core/bounded_json.hpp"

namespace warden {
namespace {

// Exact for valid JSON: brackets outside strings are structural. Invalid text may be mis-scanned,
// but the parser rejects it anyway.
bool nesting_within(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace

std::optional<nlohmann::json> parse_json_bounded(std::string_view text, size_t max_depth,
                                                 size_t max_bytes) {
  if (text.size() > max_bytes || !nesting_within(text, max_depth)) return std::nullopt;
  try {
    auto value =
        nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false,
                              /*ignore_comments=*/false);
    if (value.is_discarded()) return std::nullopt;
    return value;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace warden
