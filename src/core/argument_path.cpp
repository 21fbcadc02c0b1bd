#include "core/core_only.hpp"

#include "core/argument_path.hpp"

namespace warden {
namespace {

bool is_name_char(char c) {
  return c != '.' && c != '[' && c != ']';
}

PathParseResult fail(std::string message) {
  return {{}, std::move(message)};
}

// Parses ".name" / "[n]" segments from rest onto path.
std::string parse_segments(std::string_view rest, ArgumentPath& path) {
  size_t i = 0;
  while (i < rest.size()) {
    if (path.size() >= kMaxPathSegments) {
      return "path has more than " + std::to_string(kMaxPathSegments) + " segments";
    }
    if (rest[i] == '.') {
      size_t end = ++i;
      while (end < rest.size() && is_name_char(rest[end])) ++end;
      if (end == i) return "empty name segment at offset " + std::to_string(i);
      path.emplace_back(std::string(rest.substr(i, end - i)));
      i = end;
    } else if (rest[i] == '[') {
      size_t end = ++i;
      while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') ++end;
      const size_t digits = end - i;
      if (digits == 0 || end >= rest.size() || rest[end] != ']') {
        return "array index at offset " + std::to_string(i) + " must be [digits]";
      }
      if (digits > 9 || (digits > 1 && rest[i] == '0')) {
        return "array index at offset " + std::to_string(i) +
               " must have at most 9 digits and no leading zeros";
      }
      path.emplace_back(static_cast<size_t>(std::stoul(std::string(rest.substr(i, digits)))));
      i = end + 1;
    } else {
      return "unexpected character '" + std::string(1, rest[i]) + "' at offset " +
             std::to_string(i) + "; expected '.' or '['";
    }
  }
  return {};
}

}  // namespace

PathParseResult parse_argument_path(std::string_view key) {
  if (key.empty()) return fail("argument name is empty");
  if (key.size() > kMaxPathKeyBytes) {
    return fail("argument name or path is longer than " + std::to_string(kMaxPathKeyBytes) +
                " bytes");
  }
  PathParseResult result;
  std::string_view rest;
  if (key.size() >= 2 && key[0] == '$' && (key[1] == '.' || key[1] == '[')) {
    rest = key.substr(1);
  } else if (key.find_first_of(".[") == std::string_view::npos) {
    result.path.emplace_back(std::string(key));
    return result;
  } else {
    // Dotted path: the leading name has no '.' in front of it.
    const size_t end = key.find_first_of(".[]");
    if (end == 0) return fail("path must start with an argument name");
    result.path.emplace_back(std::string(key.substr(0, end)));
    rest = key.substr(end);
  }
  result.error = parse_segments(rest, result.path);
  if (result.error.empty() && !std::holds_alternative<std::string>(result.path.front())) {
    result.error = "path must start with an argument name, not an array index";
  }
  if (!result.error.empty()) result.path.clear();
  return result;
}

const nlohmann::json* resolve_argument_path(const nlohmann::json& arguments,
                                            const ArgumentPath& path) {
  const nlohmann::json* current = &arguments;
  for (const auto& segment : path) {
    if (const auto* name = std::get_if<std::string>(&segment)) {
      if (!current->is_object()) return nullptr;
      auto it = current->find(*name);
      if (it == current->end()) return nullptr;
      current = &*it;
    } else {
      const size_t index = std::get<size_t>(segment);
      if (!current->is_array() || index >= current->size()) return nullptr;
      current = &(*current)[index];
    }
  }
  return current;
}

}  // namespace warden
