#include "core/core_only.hpp"

#include "core/base64url.hpp"

namespace warden {
namespace {

// Branch-free character mapping (no table lookups indexed by data) so that decoding secret
// key material does not leak it through timing or cache.
[[gnu::always_inline]] inline int in_range_mask(int c, int lo, int hi) {
  return ((lo - 1 - c) & (c - hi - 1)) >> 8;
}

char encode_sextet(int v) {
  int c = v + 'A';
  c += ((25 - v) >> 8) & 6;
  c -= ((51 - v) >> 8) & 75;
  c -= ((61 - v) >> 8) & 13;
  c += ((62 - v) >> 8) & 49;
  return static_cast<char>(c);
}

// Returns the sextet value, or -1 for any character outside the URL-safe alphabet.
[[gnu::always_inline]] inline int decode_char(unsigned char uc) {
  const int c = uc;
  const int upper = in_range_mask(c, 'A', 'Z');
  const int lower = in_range_mask(c, 'a', 'z');
  const int digit = in_range_mask(c, '0', '9');
  const int dash = in_range_mask(c, '-', '-');
  const int under = in_range_mask(c, '_', '_');
  const int value = (upper & (c - 'A')) | (lower & (c - 'a' + 26)) | (digit & (c - '0' + 52)) |
                    (dash & 62) | (under & 63);
  const int valid = upper | lower | digit | dash | under;
  return (valid & value) | ~valid;
}

}  // namespace

std::string base64url_encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve(base64url_encoded_size(data.size()));
  uint32_t acc = 0;
  int acc_bits = 0;
  for (uint8_t byte : data) {
    acc = (acc << 8) | byte;
    acc_bits += 8;
    while (acc_bits >= 6) {
      acc_bits -= 6;
      out.push_back(encode_sextet(static_cast<int>((acc >> acc_bits) & 0x3f)));
    }
  }
  if (acc_bits > 0) out.push_back(encode_sextet(static_cast<int>((acc << (6 - acc_bits)) & 0x3f)));
  return out;
}

std::optional<std::vector<uint8_t>> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<uint8_t> out(text.size() / 4 * 3 + (text.size() % 4 == 0 ? 0 : text.size() % 4 - 1));
  size_t o = 0;
  size_t i = 0;
  int bad = 0;  // any -1 from decode_char sets the sign bit; valid sextets never do
  // Whole 4-character groups first: straight-line code, no per-byte bookkeeping.
  for (; i + 4 <= text.size(); i += 4) {
    const int a = decode_char(static_cast<unsigned char>(text[i]));
    const int b = decode_char(static_cast<unsigned char>(text[i + 1]));
    const int c = decode_char(static_cast<unsigned char>(text[i + 2]));
    const int d = decode_char(static_cast<unsigned char>(text[i + 3]));
    bad |= a | b | c | d;
    const uint32_t group = static_cast<uint32_t>(((a & 0x3f) << 18) | ((b & 0x3f) << 12) |
                                                 ((c & 0x3f) << 6) | (d & 0x3f));
    out[o++] = static_cast<uint8_t>(group >> 16);
    out[o++] = static_cast<uint8_t>(group >> 8);
    out[o++] = static_cast<uint8_t>(group);
  }
  uint32_t leftover = 0;
  if (i < text.size()) {
    const int a = decode_char(static_cast<unsigned char>(text[i]));
    const int b = decode_char(static_cast<unsigned char>(text[i + 1]));
    const int c = i + 2 < text.size() ? decode_char(static_cast<unsigned char>(text[i + 2])) : 0;
    bad |= a | b | c;
    const uint32_t group =
        static_cast<uint32_t>(((a & 0x3f) << 18) | ((b & 0x3f) << 12) | ((c & 0x3f) << 6));
    out[o++] = static_cast<uint8_t>(group >> 16);
    if (i + 2 < text.size()) out[o++] = static_cast<uint8_t>(group >> 8);
    // Bits below the last output byte must be zero, otherwise two different strings would
    // decode to the same bytes.
    leftover = i + 2 < text.size() ? group & 0xff : group & 0xffff;
  }
  if (bad < 0 || leftover != 0) return std::nullopt;
  return out;
}

}  // namespace warden
