#include "core/core_only.hpp"

#include "core/control_characters.hpp"

#include <cstdint>

namespace warden {
namespace {

// Length of the well-formed UTF-8 sequence starting at text[at] (1..4), or 0 if malformed.
// Follows the table of Unicode 15 section 3.9 (D92), which excludes overlong forms and
// surrogates.
size_t utf8_sequence_length(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(at);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint8_t low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong below U+0800
    if (lead == 0xED) high = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong below U+10000
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 overlong lead, or F5..FF
  }
  if (at + length > text.size()) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

bool has_control_characters(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    const auto lead = static_cast<uint8_t>(text[at]);
    if (lead < 0x20 || lead == 0x7F) return true;
    const size_t length = utf8_sequence_length(text, at);
    if (length == 0) return true;
    // C1 controls are the two-byte sequences C2 80..C2 9F.
    if (lead == 0xC2 && static_cast<uint8_t>(text[at + 1]) <= 0x9F) return true;
    at += length;
  }
  return false;
}

}  // namespace warden
