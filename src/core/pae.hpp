#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace warden {

// PASETO Pre-Authentication Encoding: LE64(count) then LE64(len) || piece for every piece.
// Unambiguous framing, so no two piece lists MAC or sign to the same bytes.
std::vector<uint8_t> pae(std::initializer_list<std::string_view> pieces);

}  // namespace warden
