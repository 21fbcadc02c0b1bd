#include "core/core_only.hpp"

#include "core/path_prefix.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include "core/control_characters.hpp"

namespace warden {
namespace {

// Characters that Unicode compatibility normalisation (NFKC) or Windows "best fit" code-page
// conversion turn into '/', '\\', '.' or '%': an upstream doing either would see separators
// or dots that were not there when the segments were compared.
constexpr std::array<char32_t, 11> kSeparatorLookalikes = {
    U'\uFF0F', U'\uFF3C', U'\uFE68', U'\u2215', U'\u29F5',  // slashes and backslashes
    U'\uFF0E', U'\uFE52', U'\u2024', U'\u2025',             // dots and dot leaders
    U'\uFF05', U'\uFE6A'};                                  // percent sign

// text is well-formed UTF-8 (checked before): decodes each code point and looks it up.
bool has_separator_lookalike(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    const auto lead = static_cast<uint8_t>(text[at]);
    if (lead < 0x80) {
      ++at;
      continue;
    }
    const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    char32_t code = lead & (0xFF >> (length + 1));
    for (size_t i = 1; i < length && at + i < text.size(); ++i) {
      code = (code << 6) | (static_cast<uint8_t>(text[at + i]) & 0x3F);
    }
    for (char32_t lookalike : kSeparatorLookalikes) {
      if (code == lookalike) return true;
    }
    at += length;
  }
  return false;
}

struct PathShape {
  bool absolute = false;
  bool beneath_only = false;  // prefix ended with '/'
  size_t segment_count = 0;
};

// Checks text against the rules in the header and calls visit(segment) for each segment in
// order. Returns the problem, or nullopt with *shape filled in.
template <typename Visit>
std::optional<std::string> walk_path(std::string_view text, bool is_prefix, PathShape* shape,
                                     Visit&& visit) {
  if (text.empty()) return "is empty";
  if (has_control_characters(text)) return "contains a control character or malformed UTF-8";
  if (text.find('\\') != std::string_view::npos) return "contains a backslash";
  if (text.find('%') != std::string_view::npos) {
    return "contains '%' (percent-escapes are not decoded, so '%' is refused)";
  }
  if (has_separator_lookalike(text)) {
    return "contains a character that normalises to '/', '\\', '.' or '%' (e.g. U+FF0F)";
  }
  *shape = PathShape{};
  shape->absolute = text.front() == '/';
  std::string_view rest = shape->absolute ? text.substr(1) : text;
  if (rest.empty()) return std::nullopt;  // the root
  if (rest.back() == '/') {
    if (!is_prefix) return "ends with '/' (name a directory without the trailing slash)";
    rest.remove_suffix(1);
    shape->beneath_only = true;
  }
  for (size_t start = 0;;) {
    const size_t end = rest.find('/', start);
    const std::string_view segment =
        rest.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment.empty()) return "has an empty segment ('//')";
    if (segment == ".") return "has a '.' segment";
    if (segment == "..") return "has a '..' segment";
    visit(segment);
    ++shape->segment_count;
    if (end == std::string_view::npos) return std::nullopt;
    start = end + 1;
  }
}

std::optional<std::string> split_prefix(std::string_view prefix, PathShape* shape,
                                        std::vector<std::string_view>* segments) {
  return walk_path(prefix, true, shape,
                   [&](std::string_view segment) { segments->push_back(segment); });
}

}  // namespace

std::optional<std::string> path_prefix_operand_error(std::string_view prefix) {
  PathShape shape;
  return walk_path(prefix, true, &shape, [](std::string_view) {});
}

PathJudgement judge_path(std::string_view value, std::string_view prefix) {
  PathShape prefix_shape;
  std::vector<std::string_view> prefix_segments;
  if (auto problem = split_prefix(prefix, &prefix_shape, &prefix_segments)) {
    return {PathPlacement::kMalformedPrefix, std::move(*problem)};
  }
  PathShape value_shape;
  bool diverged = false;
  size_t index = 0;
  auto problem = walk_path(value, false, &value_shape, [&](std::string_view segment) {
    if (index < prefix_segments.size() && segment != prefix_segments[index]) diverged = true;
    ++index;
  });
  // A malformed value is reported even when it is also outside: the caller learns what to fix.
  if (problem) return {PathPlacement::kMalformedValue, std::move(*problem)};
  const size_t needed = prefix_segments.size() + (prefix_shape.beneath_only ? 1 : 0);
  const bool within = !diverged && value_shape.absolute == prefix_shape.absolute &&
                      value_shape.segment_count >= needed;
  return {within ? PathPlacement::kWithin : PathPlacement::kOutside, {}};
}

bool path_prefix_within(std::string_view narrower, std::string_view wider) {
  PathShape narrow_shape, wide_shape;
  std::vector<std::string_view> narrow_segments, wide_segments;
  if (split_prefix(narrower, &narrow_shape, &narrow_segments) ||
      split_prefix(wider, &wide_shape, &wide_segments)) {
    return false;
  }
  if (narrow_shape.absolute != wide_shape.absolute) return false;
  if (narrow_segments.size() < wide_segments.size()) return false;
  for (size_t i = 0; i < wide_segments.size(); ++i) {
    if (narrow_segments[i] != wide_segments[i]) return false;
  }
  if (!wide_shape.beneath_only) return true;
  // wider admits only paths strictly beneath it: narrower must too.
  return narrow_segments.size() > wide_segments.size() || narrow_shape.beneath_only;
}

}  // namespace warden
