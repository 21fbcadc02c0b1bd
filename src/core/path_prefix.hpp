#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden {

// The path_prefix constraint predicate: a value is allowed if, as a '/'-separated path, its
// segments begin with the prefix's segments. Segments are compared byte for byte; nothing is
// resolved, decoded or case-folded, so only paths already in one plain spelling are judged:
//   - a path is absolute ("/srv/public") or relative ("docs/api"); a value must be of the same
//     kind as its prefix. "/" alone is the root: absolute with no segments.
//   - refused anywhere, in values and prefixes: "." and ".." segments, empty segments ("a//b"),
//     backslashes, '%' (percent-escapes would be decoded by some upstreams, so any '%' is
//     refused rather than guessing), control characters or malformed UTF-8
//     (control_characters.hpp), and the few characters that NFKC or Windows best-fit conversion
//     turn into '/', '\\', '.' or '%' (fullwidth and small forms, dot leaders, division slash).
//   - a value may not end with '/': the same directory has one spelling only ("/srv/public").
//   - a prefix may end with a single '/', and that means "strictly beneath": "/srv/public/"
//     allows "/srv/public/a" but not "/srv/public" itself, as a byte prefix did before;
//     "/srv/public" allows the directory itself and everything beneath it. Either way
//     "/srv/publicity" is outside, unlike with a byte prefix.
// Symbolic links, case-insensitive file systems and the upstream's working directory (for
// relative paths) are the upstream's to handle; path_prefix only rules out spellings that
// climb out of the prefix.

// Why prefix cannot be a path_prefix operand (e.g. "has a '..' segment"), or nullopt.
std::optional<std::string> path_prefix_operand_error(std::string_view prefix);

enum class PathPlacement { kWithin, kOutside, kMalformedValue, kMalformedPrefix };

struct PathJudgement {
  PathPlacement placement;
  std::string problem;  // for kMalformedValue and kMalformedPrefix; never quotes the value
};

// Where value lies relative to prefix. Linear in value's length; allocates only for the prefix.
PathJudgement judge_path(std::string_view value, std::string_view prefix);

// True if both are well-formed prefixes and every value within narrower is within wider; used to
// prove a delegated grant no wider than its parent.
bool path_prefix_within(std::string_view narrower, std::string_view wider);

}  // namespace warden
