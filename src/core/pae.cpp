#include "core/core_only.hpp"

#include "core/pae.hpp"

namespace warden {
namespace {

void append_le64(std::vector<uint8_t>& out, uint64_t n) {
  // The spec clears the top bit so the encoding also works in languages without unsigned ints.
  n &= 0x7fffffffffffffffULL;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
}

}  // namespace

std::vector<uint8_t> pae(std::initializer_list<std::string_view> pieces) {
  size_t total = 8;
  for (auto piece : pieces) total += 8 + piece.size();
  std::vector<uint8_t> out;
  out.reserve(total);
  append_le64(out, pieces.size());
  for (auto piece : pieces) {
    append_le64(out, piece.size());
    out.insert(out.end(), piece.begin(), piece.end());
  }
  return out;
}

}  // namespace warden
