#pragma once

#include <cstddef>
#include <string>

namespace warden::mcp {

// Lowercase hex of `bytes` bytes from the kernel's CSPRNG (session ids, span ids).
std::string random_hex(std::size_t bytes);

}  // namespace warden::mcp
