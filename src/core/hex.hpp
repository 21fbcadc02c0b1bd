#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace warden {

// Lowercase hexadecimal, two digits a byte (digests, random ids).
std::string to_hex(std::span<const uint8_t> bytes);
std::string to_hex(const uint8_t* bytes, size_t n);

}  // namespace warden
