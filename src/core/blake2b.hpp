#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>

namespace warden {

// BLAKE2b of the concatenation of parts, optionally keyed (empty key = unkeyed), with
// out.size() bytes of output (16..64). Streaming avoids building the concatenation.
void blake2b(std::span<uint8_t> out, std::span<const uint8_t> key,
             std::initializer_list<std::span<const uint8_t>> parts);

}  // namespace warden
